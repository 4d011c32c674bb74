mod build_libtorch;

fn main() {
    build_libtorch::link_libtorch();
}
