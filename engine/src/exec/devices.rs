//! Which GPUs this machine has.

/// The GPU ids visible to this process: `CUDA_VISIBLE_DEVICES` when set (its entries are the ids
/// handed out), else what `nvidia-smi` lists, else none.
pub fn visible_gpus() -> Vec<usize> {
    if let Ok(v) = std::env::var("CUDA_VISIBLE_DEVICES") {
        return v.split(',').filter_map(|d| d.trim().parse().ok()).collect();
    }
    let Ok(out) = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=index", "--format=csv,noheader"])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}
