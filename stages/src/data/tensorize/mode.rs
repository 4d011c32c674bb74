//! Training or calling mode: which candidates get examples and whether they are labelled.
//!
//! Training (DeepVariant's `make_examples --mode training`) reads the truth VCF and, when given, the
//! confident regions: only candidates inside them get examples, each labelled. Calling (`--mode
//! calling`) reads neither: every candidate of the regions gets its examples, unlabelled, inside and
//! outside confident regions, and the regions default to every BAM contig with mapped reads. Both
//! modes make one example per alt-allele subset of a site and record the site's alleles and read
//! counts (see `data::examples::Site`).

use anyhow::{bail, Result};
use serde::Deserialize;

use super::Inputs;

/// What a tensorize run makes examples for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Labelled examples of candidates inside the confident regions (needs the truth input).
    Training,
    /// Unlabelled examples of every candidate, for the `call` stage.
    Calling,
}

impl Mode {
    /// The mode of a run: `asked` (`params.mode`) when given, else training with a truth VCF and
    /// calling without one. Training without a truth VCF is an error.
    pub fn resolve(asked: Option<Mode>, inputs: &Inputs) -> Result<Mode> {
        match (asked, inputs.truth.is_some()) {
            (Some(Mode::Training), false) => bail!(
                "params.mode: training needs the truth input (a truth VCF); connect one or use mode: calling"
            ),
            (Some(mode), _) => Ok(mode),
            (None, true) => Ok(Mode::Training),
            (None, false) => Ok(Mode::Calling),
        }
    }

    /// The inputs this mode reads: calling reads neither the truth nor the confident regions (a
    /// note says so when they were given).
    pub fn inputs(self, inputs: &Inputs) -> Inputs {
        match self {
            Mode::Training => inputs.clone(),
            Mode::Calling => {
                if inputs.truth.is_some() || inputs.confident.is_some() {
                    eprintln!(
                        "tensorize: calling mode: the truth and confident inputs are not read; every \
                         candidate of the regions gets unlabelled examples"
                    );
                }
                Inputs {
                    truth: None,
                    confident: None,
                    ..inputs.clone()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn inputs(truth: bool) -> Inputs {
        Inputs {
            reads: PathBuf::from("r.bam"),
            reference: PathBuf::from("ref.fa"),
            truth: truth.then(|| PathBuf::from("t.vcf.gz")),
            confident: truth.then(|| PathBuf::from("c.bed")),
        }
    }

    #[test]
    fn the_truth_input_decides_unless_the_mode_is_given() {
        assert_eq!(Mode::resolve(None, &inputs(true)).unwrap(), Mode::Training);
        assert_eq!(Mode::resolve(None, &inputs(false)).unwrap(), Mode::Calling);
        let calling = Mode::resolve(Some(Mode::Calling), &inputs(true)).unwrap();
        let read = calling.inputs(&inputs(true));
        assert!(read.truth.is_none() && read.confident.is_none());
        let err = Mode::resolve(Some(Mode::Training), &inputs(false)).unwrap_err();
        assert!(err.to_string().contains("params.mode"), "{err}");
    }
}
