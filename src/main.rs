fn main() {
    std::process::exit(pipe::cli::main());
}
