//! What a task may leave in its output folder: regular files, folders, and symbolic links that stay
//! inside it (kept as links). A link that leaves it, an absolute link, a dangling one, a link to a
//! folder above itself, a device, a FIFO or a socket is refused before anything is digested, so a key
//! always describes content that lives in its entry.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// Checks every entry under `out_dir`; `outputs` (output name to path relative to `out_dir`) names
/// the output a refused entry belongs to.
pub fn check_outputs(out_dir: &Path, outputs: &BTreeMap<String, String>) -> Result<()> {
    let root = std::fs::canonicalize(out_dir)
        .with_context(|| format!("cannot read {}", out_dir.display()))?;
    walk(&root, &root).map_err(|(path, problem)| {
        let rel = path.strip_prefix(&root).unwrap_or(&path);
        let owner = outputs
            .iter()
            .find(|(_, p)| rel.starts_with(p))
            .map(|(name, p)| format!("output '{name}' ({p})"))
            .unwrap_or_else(|| "the output folder".to_string());
        anyhow!(
            "{owner}: {} {problem}; outputs must be regular files and folders inside the task's \
             output folder (symbolic links that stay inside are kept as links), so nothing was published",
            rel.display()
        )
    })
}

/// Walks `dir` without following links; the first refused entry with why.
fn walk(root: &Path, dir: &Path) -> Result<(), (PathBuf, String)> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| (dir.to_path_buf(), format!("cannot be listed ({e})")))?;
    for entry in entries {
        let entry = entry.map_err(|e| (dir.to_path_buf(), format!("cannot be listed ({e})")))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| (path.clone(), format!("cannot be read ({e})")))?;
        if kind.is_dir() {
            walk(root, &path)?;
        } else if kind.is_symlink() {
            check_link(root, &path).map_err(|e| (path.clone(), e.to_string()))?;
        } else if !kind.is_file() {
            return Err((path, format!("is {}", special_name(kind))));
        }
    }
    Ok(())
}

/// A link must be relative, resolve, land inside `root`, and not name a folder that holds it.
fn check_link(root: &Path, link: &Path) -> Result<()> {
    let target = std::fs::read_link(link)?;
    if target.is_absolute() {
        bail!(
            "is a symbolic link to the absolute path {}, which leaves the output folder",
            target.display()
        );
    }
    let Ok(resolved) = std::fs::canonicalize(link) else {
        bail!(
            "is a symbolic link to {}, which does not exist",
            target.display()
        );
    };
    if !resolved.starts_with(root) {
        bail!(
            "is a symbolic link to {} ({}), outside the output folder",
            target.display(),
            resolved.display()
        );
    }
    if link.starts_with(&resolved) {
        bail!(
            "is a symbolic link to {}, a folder that contains it (a loop)",
            target.display()
        );
    }
    let kind = std::fs::metadata(&resolved)?.file_type();
    if !kind.is_file() && !kind.is_dir() {
        bail!("is a symbolic link to {}", special_name(kind));
    }
    Ok(())
}

/// Words for a file that is neither a regular file, a folder nor a link.
fn special_name(kind: FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn check(setup: impl FnOnce(&Path)) -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("d")).unwrap();
        std::fs::write(out.join("d/a.txt"), "a").unwrap();
        setup(&out);
        let outputs = BTreeMap::from([
            ("o".to_string(), "o.txt".to_string()),
            ("d".to_string(), "d".to_string()),
        ]);
        check_outputs(&out, &outputs)
    }

    #[test]
    fn regular_files_and_inside_links_pass() {
        check(|out| {
            std::fs::write(out.join("o.txt"), "x").unwrap();
            symlink("a.txt", out.join("d/b.txt")).unwrap();
            symlink("../o.txt", out.join("d/c.txt")).unwrap();
        })
        .unwrap();
    }

    #[test]
    fn absolute_escaping_dangling_and_looping_links_are_refused() {
        let e = check(|out| symlink("/etc/passwd", out.join("o.txt")).unwrap()).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "output 'o' (o.txt): o.txt is a symbolic link to the absolute path /etc/passwd"
            ),
            "{e}"
        );
        let e = check(|out| symlink("../../x", out.join("d/e")).unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .contains("output 'd' (d): d/e is a symbolic link to ../../x"),
            "{e}"
        );
        let e = check(|out| {
            std::fs::write(out.join("../outside"), "x").unwrap();
            symlink("../../outside", out.join("d/e")).unwrap()
        })
        .unwrap_err();
        assert!(e.to_string().contains("outside the output folder"), "{e}");
        let e = check(|out| symlink("..", out.join("d/up")).unwrap()).unwrap_err();
        assert!(e.to_string().contains("(a loop)"), "{e}");
    }

    #[test]
    fn fifos_are_refused() {
        let e = check(|out| {
            let path =
                std::ffi::CString::new(out.join("o.txt").as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: mkfifo reads a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        })
        .unwrap_err();
        assert!(e.to_string().contains("o.txt is a FIFO"), "{e}");
    }
}
