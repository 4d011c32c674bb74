//! Links pipe-torch against the libtorch of the Python virtual environment (see `build_libtorch.rs`).

mod build_libtorch;

fn main() {
    build_libtorch::link_libtorch();
}
