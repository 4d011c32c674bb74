//! The examples as the caller reads them (everything but the image) and their grouping into sites:
//! the examples of one site share contig, position, reference allele and [`Site`], and each names its
//! alt subset in `alt`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{Int64Array, StringArray};

use crate::data::examples::{column, ExamplesFile, Site, SiteColumns, SITE_COLUMNS};

use super::genotype::SubsetCall;

/// One example without its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingExample {
    /// Example id.
    pub id: String,
    /// Contig.
    pub chrom: String,
    /// 0-based position.
    pub pos: i64,
    /// Reference allele.
    pub ref_allele: String,
    /// The example's alt subset, comma-joined.
    pub alt: String,
    /// Its site.
    pub site: Site,
}

/// The examples of one file, for calling.
#[derive(Debug, Clone)]
pub struct CallingExamples {
    /// The sample every example belongs to.
    pub sample: String,
    /// The examples, in file order.
    pub rows: Vec<CallingExample>,
}

/// Reads `path`'s examples without images. Examples without the site columns (`site_alts`, `dp`,
/// `ad`), with a null site, or of more than one sample are an error naming the file and the example.
pub fn read(path: &Path) -> Result<CallingExamples> {
    let file = ExamplesFile::open(path)?;
    let mut columns = vec!["id", "sample", "chrom", "pos", "ref", "alt"];
    columns.extend(SITE_COLUMNS);
    let batches = file.batches(8192, &columns).with_context(|| {
        format!(
            "{}: these examples lack the columns a caller needs ({}); make them with tensorize \
             (version 2 or later, e.g. mode: calling)",
            path.display(),
            SITE_COLUMNS.join(", ")
        )
    })?;
    let mut sample: Option<String> = None;
    let mut rows = Vec::new();
    for batch in batches {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        let s = |name: &str| -> Result<&StringArray> { column(&batch, name) };
        let (id, samples, chrom, ref_allele, alt) =
            (s("id")?, s("sample")?, s("chrom")?, s("ref")?, s("alt")?);
        let pos: &Int64Array = column(&batch, "pos")?;
        let sites = SiteColumns::of(&batch)?
            .ok_or_else(|| anyhow!("{}: the site columns are missing", path.display()))?;
        for i in 0..batch.num_rows() {
            let site = sites.site(i).ok_or_else(|| {
                anyhow!(
                    "{}: example {} has no site (site_alts, dp, ad are null); make the examples with tensorize",
                    path.display(),
                    id.value(i)
                )
            })?;
            match &sample {
                None => sample = Some(samples.value(i).to_string()),
                Some(s) if s != samples.value(i) => bail!(
                    "{}: examples of samples '{s}' and '{}'; call one sample at a time",
                    path.display(),
                    samples.value(i)
                ),
                Some(_) => {}
            }
            rows.push(CallingExample {
                id: id.value(i).to_string(),
                chrom: chrom.value(i).to_string(),
                pos: pos.value(i),
                ref_allele: ref_allele.value(i).to_string(),
                alt: alt.value(i).to_string(),
                site,
            });
        }
    }
    Ok(CallingExamples {
        sample: sample.unwrap_or_else(|| "sample".to_string()),
        rows,
    })
}

/// One candidate site with its examples' outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOutputs<'a> {
    /// Contig.
    pub chrom: &'a str,
    /// 0-based position.
    pub pos: i64,
    /// Reference allele.
    pub ref_allele: &'a str,
    /// The site's alleles and read counts.
    pub site: &'a Site,
    /// One output per example of the site.
    pub outputs: Vec<SubsetCall>,
}

/// Groups `examples` by site, each with the probabilities `probabilities` gives its id; the error names
/// an example without probabilities, an alt outside its site, or examples of one position that
/// disagree about the site.
pub fn group<'a>(
    examples: &'a [CallingExample],
    probabilities: &HashMap<&str, [f64; 3]>,
) -> Result<Vec<SiteOutputs<'a>>> {
    let mut index: HashMap<(&str, i64), usize> = HashMap::new();
    let mut sites: Vec<SiteOutputs<'a>> = Vec::new();
    for e in examples {
        let p = *probabilities
            .get(e.id.as_str())
            .ok_or_else(|| anyhow!("example {} has no probabilities", e.id))?;
        let alts = e
            .alt
            .split(',')
            .map(|a| {
                e.site.alts.iter().position(|s| s == a).ok_or_else(|| {
                    anyhow!(
                        "example {}: alt {a} is not among its site's alts {}",
                        e.id,
                        e.site.alts.join(",")
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let key = (e.chrom.as_str(), e.pos);
        let i = *index.entry(key).or_insert_with(|| {
            sites.push(SiteOutputs {
                chrom: &e.chrom,
                pos: e.pos,
                ref_allele: &e.ref_allele,
                site: &e.site,
                outputs: Vec::new(),
            });
            sites.len() - 1
        });
        let s = &mut sites[i];
        if s.ref_allele != e.ref_allele || s.site != &e.site {
            bail!(
                "example {}: its site ({} > {}) differs from that of another example at {}:{} ({} > {})",
                e.id,
                e.ref_allele,
                e.site.alts.join(","),
                e.chrom,
                e.pos + 1,
                s.ref_allele,
                s.site.alts.join(",")
            );
        }
        s.outputs.push(SubsetCall { alts, p });
    }
    Ok(sites)
}
