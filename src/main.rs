//! `pipe`: the engine with the built-in stage kinds. Kinds that need libtorch run in the sibling
//! binary `pipe-torch`, which `pipe` starts for them.

fn main() {
    std::process::exit(pipe::cli::main(pipe_stages::registry()));
}
