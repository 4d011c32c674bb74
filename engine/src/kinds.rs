//! The stage kinds and domain commands this process offers: the [`Registry`] the binary assembled and
//! handed to [`crate::cli::main`]. The engine knows kinds only through it.

use std::sync::OnceLock;

use pipe_kind::Registry;

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Installs the registry (once per process; a second call is ignored).
pub fn install(registry: Registry) {
    let _ = REGISTRY.set(registry);
}

/// The installed registry; an empty one when none was installed (the engine's own tests, which use
/// only `cmd` stages).
pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::new)
}
