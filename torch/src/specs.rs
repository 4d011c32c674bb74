//! The computation of the `model_specs` stage (declared in `pipe_stages::train::model_specs`): each model is
//! built at the examples' channel count and the training input size to count parameters and FLOPs.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use pipe_kind::StageParams;
use pipe_kind::TaskContext;
use pipe_stages::data::examples::ExamplesFile;
use pipe_stages::train::model_specs::Params;

/// Writes `specs.csv`: arch, family, params, input, gflops.
pub fn run(ctx: &TaskContext) -> Result<()> {
    let p: Params = ctx.params()?;
    p.validate()?;
    let shape = ExamplesFile::open(ctx.input("examples")?)?.shape;
    let channels = shape.channels.len() as i64;
    let mut csv = String::from("arch,family,params,input,gflops\n");
    for (i, arch) in p.archs.iter().enumerate() {
        ctx.progress
            .update(i as u64, p.archs.len() as u64, arch.clone());
        let [height, width] = p.input_size(arch, shape.height as i64, shape.width as i64);
        let s = crate::models::summarize(arch, channels, p.num_classes, height, width)
            .with_context(|| format!("{}: model_specs of {arch}", ctx.task))?;
        writeln!(
            csv,
            "{},{},{},{channels}x{height}x{width},{:.4}",
            s.arch, s.family, s.params, s.gflops
        )?;
    }
    let out = ctx.output("specs")?;
    std::fs::write(out, csv).with_context(|| format!("cannot write {}", out.display()))
}
