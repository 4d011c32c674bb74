//! The `model_specs` stage kind: parameter count and forward GFLOPs of each architecture at the input the
//! study trains on (the examples' channels and image size, after padding), as a CSV the `report` stage's
//! specifications table reads. Building the models needs libtorch: the computation is in `pipe-torch`.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::train::architectures;
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

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
    /// The training input size `[height, width]` when the train stage pads (`pad_to`), for every
    /// architecture or per architecture (`{inception_v3: [75, 75], regnety_002: null}`); default the
    /// examples' own size.
    #[serde(default)]
    pub pad_to: Option<PadTo>,
}

/// The `pad_to` of the train tasks: one size for all, or one per architecture (`null` or absent: the
/// examples' own size).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PadTo {
    /// Every architecture is padded to this `[height, width]`.
    All([i64; 2]),
    /// Per architecture.
    PerArch(BTreeMap<String, Option<[i64; 2]>>),
}

fn default_classes() -> i64 {
    3
}

impl StageParams for Params {
    /// Checks the architecture names and the class count; errors name the field.
    fn validate(&self) -> Result<()> {
        if self.archs.is_empty() {
            bail!("params.archs: name at least one architecture");
        }
        let known = architectures::names();
        if let Some(a) = self.archs.iter().find(|a| !known.contains(&a.as_str())) {
            bail!(
                "params.archs: unknown architecture {a:?}; known architectures: {}",
                known.join(", ")
            );
        }
        if self.num_classes < 2 {
            bail!("params.num_classes: must be at least 2");
        }
        if let Some(PadTo::PerArch(sizes)) = &self.pad_to {
            if let Some(a) = sizes.keys().find(|a| !known.contains(&a.as_str())) {
                bail!(
                    "params.pad_to: unknown architecture {a:?}; known architectures: {}",
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

impl Params {
    /// The input `[height, width]` of `arch` for examples of `height` x `width`.
    pub fn input_size(&self, arch: &str, height: i64, width: i64) -> [i64; 2] {
        let padded = match &self.pad_to {
            Some(PadTo::All(size)) => Some(*size),
            Some(PadTo::PerArch(sizes)) => sizes.get(arch).copied().flatten(),
            None => None,
        };
        padded.unwrap_or([height, width])
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
    type Params = Params;

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
    fn needs_torch(&self) -> bool {
        true
    }
    fn compute(&self, _params: Params, ctx: &TaskContext) -> Result<()> {
        pipe_kind::torch_hook::run(self.name(), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipe_kind::Kind as _;

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
        let err =
            check(serde_json::json!({"archs": ["regnety_002"], "pad_to": {"inception": null}}))
                .unwrap_err();
        assert!(
            err.contains("params.pad_to") && err.contains("inception_v3"),
            "{err}"
        );
    }

    #[test]
    fn pad_to_is_one_size_or_one_per_architecture() {
        let parse = |v: serde_json::Value| pipe_kind::parse_params::<Params>(&v).unwrap();
        let none = parse(serde_json::json!({"archs": ["regnety_002"]}));
        assert_eq!(none.input_size("regnety_002", 48, 61), [48, 61]);
        let all = parse(serde_json::json!({"archs": ["regnety_002"], "pad_to": [224, 224]}));
        assert_eq!(all.input_size("regnety_002", 48, 61), [224, 224]);
        let per = parse(serde_json::json!({
            "archs": ["regnety_002", "inception_v3"],
            "pad_to": {"inception_v3": [75, 75], "regnety_002": null}
        }));
        assert_eq!(per.input_size("inception_v3", 48, 61), [75, 75]);
        assert_eq!(per.input_size("regnety_002", 48, 61), [48, 61]);
        assert_eq!(per.input_size("convnext_atto", 48, 61), [48, 61]);
    }
}
