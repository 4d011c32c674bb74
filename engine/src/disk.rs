//! A full disk, said in words: which filesystem is full and what was being written.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Below this many free bytes a filesystem counts as full when a task fails on it (a writer that
/// got "no space left" leaves at most a few blocks unused).
const NEARLY_FULL: u64 = 1 << 20;

/// Whether `e` is "no space left on device" (ENOSPC) or "disk quota exceeded" (EDQUOT).
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// Whether an error chain holds a [`is_no_space`] I/O error.
pub fn chain_has_no_space(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(is_no_space)
}

/// Free bytes (for an unprivileged writer) on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs reads a NUL-terminated path and writes into the struct it is given.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Whether the filesystem holding `path` has (almost) no space left.
pub fn nearly_full(path: &Path) -> bool {
    free_bytes(path).is_some_and(|free| free < NEARLY_FULL)
}

/// The mount point of the filesystem holding `path`: its highest ancestor on the same device.
pub fn mount_point(path: &Path) -> PathBuf {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(dev) = std::fs::metadata(&path).map(|m| m.dev()) else {
        return path;
    };
    let mut top = path.clone();
    for a in path.ancestors().skip(1) {
        match std::fs::metadata(a) {
            Ok(m) if m.dev() == dev => top = a.to_path_buf(),
            _ => break,
        }
    }
    top
}

/// "no space left on the filesystem at M (F bytes free) while writing W", with what to do.
pub fn no_space_message(written: &Path) -> String {
    let existing = written
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    let free = free_bytes(existing)
        .map(|f| format!(" ({f} bytes free)"))
        .unwrap_or_default();
    format!(
        "no space left on the filesystem at {}{free} while writing {}: free some space (or choose \
         another cache with --cache DIR) and run again; nothing was published",
        mount_point(existing).display(),
        written.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_recognized_through_a_chain() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_no_space(&io));
        let e = anyhow::Error::new(io).context("writing x");
        assert!(chain_has_no_space(&e));
        assert!(!chain_has_no_space(&anyhow::anyhow!("other")));
    }

    #[test]
    fn the_message_names_the_filesystem_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = no_space_message(&dir.path().join("out/x.bin"));
        assert!(m.starts_with("no space left on the filesystem at /"), "{m}");
        assert!(
            m.contains(&format!("while writing {}/out/x.bin", dir.path().display())),
            "{m}"
        );
        assert!(free_bytes(dir.path()).is_some());
    }
}
