//! `pipe`: runs declarative, content-hashed ML study pipelines.
//!
//! The engine, one module per concern: [`spec`] reads the pipeline file, [`plan`] expands it into a
//! task graph with content keys ([`key`]), [`cache`] stores outputs by key, [`exec`] schedules tasks
//! onto worker processes, [`record`] writes run records, [`explain`] says why tasks run, and
//! [`reporter`] shows a run. [`cli`] ties them into the `pipe` command. The engine knows stage kinds only
//! through the contract of the `pipe-kind` crate: the binaries hand it a registry of kinds at start
//! ([`kinds`]); the built-in kinds live in the `pipe-stages` crate.

pub mod cache;
pub mod cli;
pub mod disk;
pub mod error;
pub mod exec;
pub mod explain;
pub mod key;
pub mod kinds;
pub mod plan;
pub mod record;
pub mod reporter;
pub mod spec;

/// This machine's host name (`unknown` when it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
