//! Makes `pipe-torch` and the tests of this crate find libtorch at run time (an rpath to the libtorch that tch links, so nobody exports LD_LIBRARY_PATH) and keeps
//! `libtorch_cuda` linked (`--as-needed` would drop it, and CUDA would then be unavailable).

use std::path::PathBuf;
use std::process::Command;

/// The `lib` folder of the libtorch that torch-sys links against, found the way torch-sys finds it:
/// `LIBTORCH`, or the Python torch package when `LIBTORCH_USE_PYTORCH` is set.
fn libtorch_lib_dir() -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        return Some(PathBuf::from(dir).join("lib"));
    }
    std::env::var_os("LIBTORCH_USE_PYTORCH")?;
    let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Emits the rpath to libtorch and keeps `libtorch_cuda` linked.
pub fn link_libtorch() {
    let Some(lib) = libtorch_lib_dir() else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!(
            "cargo:rustc-link-arg=-Wl,-L{},--push-state,--no-as-needed,-ltorch_cuda,--pop-state",
            lib.display()
        );
    }
}
