//! The `model_specs` stage kind: parameter count and forward GFLOPs of each architecture at the input the
//! study trains on (the examples' channels and image size, after padding), as a CSV the `report` stage's
//! specifications table reads. Building the models needs libtorch: the computation is in `pipe-torch`.

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::catalog;
use crate::kind::{parse_params, InputPort, OutputPort, StageKind, TaskContext};

/// The `model_specs` stage kind.
pub struct ModelSpecs;

/// Parameters of `model_specs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Architectures, as in `pipe models`.
    pub archs: Vec<String>,
    /// Classes of the head.
    #[serde(default = "default_classes")]
    pub num_classes: i64,
    /// The training input size `[height, width]` when the train stage pads (`pad_to`); default the
    /// examples' own size.
    #[serde(default)]
    pub pad_to: Option<[i64; 2]>,
}

fn default_classes() -> i64 {
    3
}

impl Params {
    /// Checks the architecture names and the class count; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.archs.is_empty() {
            bail!("params.archs: name at least one architecture");
        }
        let known = catalog::names();
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
    fn needs_torch(&self) -> bool {
        true
    }
    fn run(&self, ctx: &TaskContext) -> Result<()> {
        crate::torch_hook::run(self.name(), ctx)
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
