fn main() {
    println!("pipe {}", env!("CARGO_PKG_VERSION"));
}
