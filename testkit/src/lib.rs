//! Test-only helpers of the pipe workspace (a dev-dependency of each crate; never linked into a binary).
//!
//! A test that needs something the machine may lack (`../shared/data`, a Python in `PIPE_PYTHON` with
//! the reference libraries, samtools, a Slurm cluster, root) calls [`skip`] with the reason and returns
//! when it is missing. Locally that prints one visible line; with `PIPE_REQUIRE_ALL=1` (what CI sets) the
//! test fails instead, so nothing is skipped unnoticed there.

use std::io::Write;

/// The environment variable that turns every [`skip`] into a failure when it is `1`.
pub const REQUIRE_ALL: &str = "PIPE_REQUIRE_ALL";

/// Reports that the calling test cannot check what it is about because a prerequisite is missing;
/// `reason` says which and how to get it. The test is named after the current thread (libtest names
/// each test's thread after the test's path).
///
/// With `PIPE_REQUIRE_ALL=1` this panics with `<test>: required prerequisite missing: <reason>`, so the
/// test fails. Otherwise it writes `skipped <test>: <reason>` straight to the process's stderr (past
/// libtest's output capture, which swallows `eprintln!`), and the caller returns (or leaves out the
/// part that needs the prerequisite). A failure points at the caller.
#[track_caller]
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed thread>");
    let require_all = std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1");
    report(test, reason, require_all, &mut std::io::stderr());
}

/// [`skip`] for `test`, writing the line to `out`.
#[track_caller]
fn report(test: &str, reason: &str, require_all: bool, out: &mut impl Write) {
    if require_all {
        panic!("{test}: required prerequisite missing: {reason}");
    }
    // Nothing better to tell when stderr itself cannot be written.
    let _ = writeln!(out, "skipped {test}: {reason}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_writes_one_line_naming_the_test_and_the_reason() {
        let mut out = Vec::new();
        report("engine::pyarrow", "PIPE_PYTHON is not set", false, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "skipped engine::pyarrow: PIPE_PYTHON is not set\n"
        );
    }

    #[test]
    #[should_panic(
        expected = "engine::pyarrow: required prerequisite missing: PIPE_PYTHON is not set"
    )]
    fn a_skip_fails_the_test_when_every_prerequisite_is_required() {
        report(
            "engine::pyarrow",
            "PIPE_PYTHON is not set",
            true,
            &mut Vec::new(),
        );
    }

    #[test]
    fn the_test_is_named_after_its_thread() {
        assert_eq!(
            std::thread::current().name(),
            Some("tests::the_test_is_named_after_its_thread")
        );
    }
}
