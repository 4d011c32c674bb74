//! Parameters of the `call` stage kind: inference settings and DeepVariant's postprocessing
//! thresholds (`postprocess_variants`' defaults).

use anyhow::{bail, Result};
use pipe_kind::StageParams;
use serde::{Deserialize, Serialize};

use super::genotype::Thresholds;

/// Parameters of one `call` task.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallParams {
    /// Examples per inference batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// CPU threads for libtorch (default: the task's share).
    #[serde(default)]
    pub threads: Option<usize>,
    /// bf16 autocast on CUDA.
    #[serde(default)]
    pub bf16: bool,
    /// Variant calls with QUAL below this are filtered LowQual (`--qual_filter`).
    #[serde(default = "default_qual_filter")]
    pub qual_filter: f64,
    /// An alt of a multi-allelic site whose example alone gives it a QUAL below this is dropped
    /// (`--multi_allelic_qual_filter`).
    #[serde(default = "default_qual_filter")]
    pub multi_allelic_qual_filter: f64,
    /// RefCalls with GQ below this get genotype `./.` (`--cnn_homref_call_min_gq`).
    #[serde(default = "default_min_homref_gq")]
    pub cnn_homref_call_min_gq: f64,
}

fn default_batch_size() -> usize {
    64
}
fn default_qual_filter() -> f64 {
    Thresholds::default().qual_filter
}
fn default_min_homref_gq() -> f64 {
    Thresholds::default().min_homref_gq
}

impl StageParams for CallParams {
    fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            bail!("params.batch_size: must be at least 1");
        }
        for (name, v) in [
            ("qual_filter", self.qual_filter),
            ("multi_allelic_qual_filter", self.multi_allelic_qual_filter),
            ("cnn_homref_call_min_gq", self.cnn_homref_call_min_gq),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("params.{name}: must be a number >= 0, got {v}");
            }
        }
        Ok(())
    }
}

impl CallParams {
    /// The thresholds of the genotype call.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            qual_filter: self.qual_filter,
            min_homref_gq: self.cnn_homref_call_min_gq,
        }
    }
}
