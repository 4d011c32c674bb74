//! The `train` stage kind.

use anyhow::Result;

use super::params::TrainParams;
use pipe_kind::{parse_params, InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Trains one architecture on one cross-validation fold.
#[derive(Debug, Clone, Copy)]
pub struct Train;

static INPUTS: [InputPort; 2] = [
    InputPort {
        name: "examples",
        required: true,
        many: false,
        doc: "examples table (Parquet): labeled pileup images",
    },
    InputPort {
        name: "folds",
        required: true,
        many: false,
        doc: "folds table (Parquet: id, fold) from the split stage",
    },
];

static OUTPUTS: [OutputPort; 4] = [
    OutputPort {
        name: "epochs",
        path: "epochs.parquet",
        doc: "metrics of both splits for every epoch",
    },
    OutputPort {
        name: "predictions",
        path: "predictions.parquet",
        doc: "validation class probabilities of the last and the best epoch",
    },
    OutputPort {
        name: "model",
        path: "model",
        doc: "model.safetensors (last epoch) and config.json (arch, channels, normalization, padding)",
    },
    OutputPort {
        name: "tensorboard",
        path: "tensorboard",
        doc: "TensorBoard event file with the study's scalar tags",
    },
];

impl StageKind for Train {
    type Params = TrainParams;

    /// The parameters' own checks, and an architecture of the zoo (the training loop itself takes any
    /// model builder, so the name is checked here).
    fn check_params(&self, params: &serde_json::Value) -> Result<TrainParams> {
        let p: TrainParams = parse_params(params)?;
        p.validate()?;
        let names = crate::train::architectures::names();
        if !names.contains(&p.arch.as_str()) {
            anyhow::bail!(
                "params.arch: unknown architecture '{}'; known: {}",
                p.arch,
                names.join(", ")
            );
        }
        Ok(p)
    }

    fn name(&self) -> &'static str {
        "train"
    }

    fn version(&self) -> u32 {
        1
    }

    fn about(&self) -> &'static str {
        "train one architecture on one cross-validation fold (the study's training loop)"
    }

    fn inputs(&self) -> &'static [InputPort] {
        &INPUTS
    }

    fn outputs(&self) -> &'static [OutputPort] {
        &OUTPUTS
    }

    fn needs_torch(&self) -> bool {
        true
    }

    fn compute(&self, _params: TrainParams, ctx: &TaskContext) -> Result<()> {
        pipe_kind::torch_hook::run(self.name(), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipe_kind::Kind as _;

    #[test]
    fn check_names_the_known_architectures() {
        let err = Train
            .check(&serde_json::json!({"arch": "resnet9", "fold": 0}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("params.arch") && err.contains("regnety_002"),
            "{err}"
        );
        Train
            .check(&serde_json::json!({"arch": "regnety_002", "fold": 0, "pad": [1, 62, 2, 62]}))
            .unwrap();
        assert!(crate::registry().find("train").is_some());
    }
}
