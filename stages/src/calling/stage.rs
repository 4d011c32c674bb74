//! The `call` stage kind: its ports and parameters. The computation (batched inference, then
//! [`super::write_calls`]) runs in `pipe-torch` (see [`pipe_kind::torch_hook`]).

use anyhow::Result;

use super::params::CallParams;
use pipe_kind::{InputPort, OutputPort, StageKind, TaskContext};

/// Calls the variants of one sample's examples with a trained model.
#[derive(Debug, Clone, Copy)]
pub struct Call;

static INPUTS: [InputPort; 3] = [
    InputPort {
        name: "model",
        required: true,
        many: false,
        doc: "a trained model: the train stage's `model` folder (model.safetensors, config.json)",
    },
    InputPort {
        name: "examples",
        required: true,
        many: false,
        doc: "examples table with the site columns (tensorize, e.g. mode: calling)",
    },
    InputPort {
        name: "reference",
        required: true,
        many: false,
        doc: "the FASTA the examples were made from, with .fai: the VCF's contigs and their order",
    },
];

static OUTPUTS: [OutputPort; 2] = [
    OutputPort {
        name: "probabilities",
        path: "probabilities.parquet",
        doc: "class probabilities of every example (id, chrom, pos, alts, p0..p2)",
    },
    OutputPort {
        name: "vcf",
        path: "calls.vcf.gz",
        doc: "genotype calls of the sample (bgzipped VCF, with .tbi beside it): GT GQ DP AD VAF PL",
    },
];

impl StageKind for Call {
    type Params = CallParams;

    fn name(&self) -> &'static str {
        "call"
    }

    fn version(&self) -> u32 {
        1
    }

    fn about(&self) -> &'static str {
        "call variants with a trained model: genotype likelihoods per site into a VCF (DeepVariant's postprocess)"
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

    fn compute(&self, _params: CallParams, ctx: &TaskContext) -> Result<()> {
        pipe_kind::torch_hook::run(self.name(), ctx)
    }
}
