//! From classifier to caller: the `call` stage kind, whose batched inference runs in `pipe-torch`,
//! and its postprocessing, which needs no libtorch: the examples of each candidate site ([`sites`])
//! and the model's probabilities ([`probabilities`]) merged into diploid genotype calls as
//! DeepVariant's `postprocess_variants` does ([`genotype`]) and written as a bgzipped, indexed VCF
//! ([`vcf`]).

pub mod genotype;
pub mod params;
pub mod probabilities;
pub mod sites;
pub mod vcf;

mod stage;
pub use stage::Call;

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use genotype::Filter;
use params::CallParams;
use probabilities::ProbabilityRow;
use sites::CallingExamples;
use vcf::{CallRecord, Contig};

/// What a `call` run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallSummary {
    /// Records (candidate sites).
    pub sites: usize,
    /// Records with FILTER PASS.
    pub pass: usize,
    /// Records with FILTER RefCall.
    pub ref_call: usize,
    /// Records with FILTER LowQual.
    pub low_qual: usize,
}

/// Merges the `probabilities` of `examples` site by site into genotype calls and writes them to
/// `vcf_path` (bgzipped, indexed), sorted in the order of `contigs` (the reference's).
pub fn write_calls(
    examples: &CallingExamples,
    probabilities: &[ProbabilityRow],
    contigs: &[Contig],
    vcf_path: &Path,
    p: &CallParams,
) -> Result<CallSummary> {
    let mut by_id: HashMap<&str, [f64; 3]> = HashMap::with_capacity(probabilities.len());
    for r in probabilities {
        if by_id.insert(r.id.as_str(), r.p).is_some() {
            bail!("example id {} occurs twice; ids must be unique", r.id);
        }
    }
    let order: HashMap<&str, usize> = contigs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut records = Vec::new();
    for s in sites::group(&examples.rows, &by_id)? {
        let name = || format!("site {}:{} {}", s.chrom, s.pos + 1, s.ref_allele);
        let merged = genotype::merge(s.site.alts.len(), &s.outputs, p.multi_allelic_qual_filter)
            .with_context(name)?;
        let contig = *order.get(s.chrom).ok_or_else(|| {
            anyhow!(
                "{}: contig '{}' is not in the reference; call with the reference the examples were made from",
                name(),
                s.chrom
            )
        })?;
        let alts: Vec<&str> = merged
            .kept
            .iter()
            .map(|&k| s.site.alts[k].as_str())
            .collect();
        let (ref_allele, alts) = simplify(s.ref_allele, &alts);
        let mut allele_depths = vec![s.site.allele_depths.first().copied().unwrap_or(0)];
        allele_depths.extend(
            merged
                .kept
                .iter()
                .map(|&k| s.site.allele_depths.get(k + 1).copied().unwrap_or(0)),
        );
        let record = CallRecord {
            chrom: s.chrom.to_string(),
            pos: s.pos,
            ref_allele,
            alts,
            call: genotype::call(&merged.probabilities, p.thresholds()),
            depth: s.site.depth,
            allele_depths,
        };
        records.push((contig, record));
    }
    records.sort_by_key(|(contig, r)| (*contig, r.pos));
    let records: Vec<CallRecord> = records.into_iter().map(|(_, r)| r).collect();
    vcf::write(vcf_path, &examples.sample, contigs, &records)?;
    let count = |f: Filter| records.iter().filter(|r| r.call.filter == f).count();
    Ok(CallSummary {
        sites: records.len(),
        pass: count(Filter::Pass),
        ref_call: count(Filter::RefCall),
        low_qual: count(Filter::LowQual),
    })
}

/// The alleles without the trailing bases they all share, each keeping at least one base (alts
/// dropped by the merge can leave such a suffix).
fn simplify(ref_allele: &str, alts: &[&str]) -> (String, Vec<String>) {
    let mut keep = ref_allele.len();
    let ends_alike = |k: usize| {
        let last = ref_allele.as_bytes()[k - 1];
        alts.iter().all(|a| {
            let cut = a.len() - (ref_allele.len() - k);
            cut >= 2 && a.as_bytes()[cut - 1] == last
        })
    };
    while keep >= 2 && ends_alike(keep) {
        keep -= 1;
    }
    let trim = ref_allele.len() - keep;
    (
        ref_allele[..keep].to_string(),
        alts.iter()
            .map(|a| a[..a.len() - trim].to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests;
