//! The `model_specs` stage kind: parameter count and forward GFLOPs of each architecture at the input the
//! study trains on (the examples' channels and image size, after padding), as a CSV the `report` stage's
//! specifications table reads.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::examples::ExamplesFile;
use crate::kind::{parse_params, InputPort, OutputPort, StageKind, TaskContext};
use crate::models;

/// The `model_specs` stage kind.
pub struct ModelSpecs;

/// Parameters of `model_specs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Architectures, as in `pipe models`.
    archs: Vec<String>,
    /// Classes of the head.
    #[serde(default = "default_classes")]
    num_classes: i64,
    /// The training input size `[height, width]` when the train stage pads (`pad_to`); default the
    /// examples' own size.
    #[serde(default)]
    pad_to: Option<[i64; 2]>,
}

fn default_classes() -> i64 {
    3
}

impl Params {
    fn validate(&self) -> Result<()> {
        if self.archs.is_empty() {
            bail!("params.archs: name at least one architecture");
        }
        let known = models::names();
        if let Some(a) = self.archs.iter().find(|a| !known.contains(&a.as_str())) {
            bail!(
                "params.archs: unknown architecture {a:?}; known architectures: {}",
                known.join(", ")
            );
        }
        if self.num_classes < 2 {
            bail!("params.num_classes: must be at least 2");
        }
        Ok(())
    }
}

static INPUTS: &[InputPort] = &[InputPort {
    name: "examples",
    required: true,
    many: false,
    doc: "examples table (its channels and image size are the model input)",
}];

static OUTPUTS: &[OutputPort] = &[OutputPort {
    name: "specs",
    path: "specs.csv",
    doc: "arch, family, params, input, gflops (one row per architecture)",
}];

impl StageKind for ModelSpecs {
    fn name(&self) -> &'static str {
        "model_specs"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "parameter count and forward GFLOPs of each architecture at the training input"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn check(&self, params: &serde_json::Value) -> Result<()> {
        parse_params::<Params>(params)?.validate()
    }
    fn run(&self, ctx: &TaskContext) -> Result<()> {
        let p: Params = ctx.params()?;
        p.validate()?;
        let examples = ctx.input("examples")?;
        let shape = ExamplesFile::open(examples)?.shape;
        let channels = shape.channels.len() as i64;
        let [height, width] = p
            .pad_to
            .unwrap_or([shape.height as i64, shape.width as i64]);
        let mut csv = String::from("arch,family,params,input,gflops\n");
        for (i, arch) in p.archs.iter().enumerate() {
            ctx.progress
                .update(i as u64, p.archs.len() as u64, arch.clone());
            let s = models::summarize(arch, channels, p.num_classes, height, width)
                .with_context(|| format!("{}: model_specs of {arch}", ctx.task))?;
            writeln!(
                csv,
                "{},{},{},{channels}x{height}x{width},{:.4}",
                s.arch, s.family, s.params, s.gflops
            )?;
        }
        let out = ctx.output("specs")?;
        std::fs::write(out, csv).with_context(|| format!("cannot write {}", out.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_architectures_and_empty_lists_are_rejected() {
        let check = |v: serde_json::Value| ModelSpecs.check(&v).map_err(|e| e.to_string());
        assert!(check(serde_json::json!({"archs": ["regnety_002"]})).is_ok());
        let err = check(serde_json::json!({"archs": ["resnet9000"]})).unwrap_err();
        assert!(
            err.contains("resnet9000") && err.contains("convnext_atto"),
            "{err}"
        );
        assert!(check(serde_json::json!({"archs": []})).is_err());
        assert!(check(serde_json::json!({"archs": ["x"], "bogus": 1})).is_err());
    }
}
