//! `pipe-torch`: `pipe` with libtorch in process. `pipe` starts it as the worker of the stage kinds that
//! need libtorch (`train`, `model_specs`) and for `pipe models`; it takes the same command line as `pipe`.

fn main() {
    pipe_torch::malloc::keep_freed_memory();
    pipe_kind::torch_hook::install(pipe_torch::hooks());
    std::process::exit(pipe::cli::main(pipe_stages::registry()));
}
