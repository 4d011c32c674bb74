//! The `summarize` stage kind: what an examples table holds, for people: class counts, one row per
//! example (without its image) and a PNG of chosen examples drawn by [`crate::data::inspect`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::data::examples::ExamplesFile;
use crate::data::inspect::render_example_png;
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// The `summarize` stage kind.
pub struct Summarize;

/// Parameters of `summarize`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Draw at most this many examples (labeled ones first, in table order).
    #[serde(default = "default_limit")]
    limit: usize,
    /// Draw these ids (in addition to the first `limit`).
    #[serde(default)]
    ids: Vec<String>,
}

impl StageParams for Params {}

fn default_limit() -> usize {
    12
}

const LABELS: [&str; 3] = ["hom-ref", "het", "hom-alt"];

impl StageKind for Summarize {
    type Params = Params;

    fn name(&self) -> &'static str {
        "summarize"
    }

    fn version(&self) -> u32 {
        1
    }

    fn about(&self) -> &'static str {
        "class counts, an index of the examples and PNGs of some of them"
    }

    fn inputs(&self) -> &'static [InputPort] {
        &[InputPort {
            name: "examples",
            required: true,
            many: false,
            doc: "examples table",
        }]
    }

    fn outputs(&self) -> &'static [OutputPort] {
        &[
            OutputPort {
                name: "summary",
                path: "summary.md",
                doc: "counts by label and variant type (Markdown)",
            },
            OutputPort {
                name: "index",
                path: "examples.csv",
                doc: "one row per example: id, chrom, pos (1-based), ref, alt, label",
            },
            OutputPort {
                name: "pngs",
                path: "pngs",
                doc: "one PNG per drawn example (a panel per channel)",
            },
        ]
    }

    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let path = ctx.input("examples")?;
        let examples = ExamplesFile::open(path)?.read_all()?;
        let shape = ExamplesFile::open(path)?.shape;

        let mut index = csv::Writer::from_path(ctx.output("index")?)?;
        index.write_record(["id", "chrom", "pos", "ref", "alt", "label"])?;
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &examples {
            let label = e.label.map(|l| l.to_string()).unwrap_or_default();
            index.write_record([
                e.id.as_str(),
                &e.chrom,
                &(e.pos + 1).to_string(),
                &e.ref_allele,
                &e.alt,
                &label,
            ])?;
            let kind = if e.ref_allele.len() == 1 && e.alt.split(',').all(|a| a.len() == 1) {
                "SNP"
            } else {
                "indel"
            };
            let name = e
                .label
                .and_then(|l| LABELS.get(l as usize).copied())
                .unwrap_or("unlabeled");
            *counts
                .entry((name.to_string(), kind.to_string()))
                .or_default() += 1;
        }
        index.flush()?;

        let mut md = String::new();
        let _ = writeln!(
            md,
            "# {}\n\n{} examples, images {}x{}x{} ({})\n\n| label | variant | examples |\n|---|---|---:|",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("examples"),
            examples.len(),
            shape.height,
            shape.width,
            shape.channels.len(),
            shape.channels.join(", ")
        );
        for ((label, kind), n) in &counts {
            let _ = writeln!(md, "| {label} | {kind} | {n} |");
        }
        std::fs::write(ctx.output("summary")?, md)?;

        let pngs = ctx.output("pngs")?;
        std::fs::create_dir_all(pngs)?;
        let mut chosen: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].label.is_some_and(|l| l > 0))
            .chain((0..examples.len()).filter(|&i| examples[i].label.is_none_or(|l| l <= 0)))
            .take(params.limit)
            .collect();
        for id in &params.ids {
            let i = examples
                .iter()
                .position(|e| &e.id == id)
                .with_context(|| format!("params.ids: no example '{id}' in {}", path.display()))?;
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        for (n, &i) in chosen.iter().enumerate() {
            let e = &examples[i];
            let name: String =
                e.id.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
            render_example_png(e, &shape, &pngs.join(format!("{n:03}_{name}.png")))?;
            ctx.progress
                .update(n as u64 + 1, chosen.len() as u64, format!("drew {}", e.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::examples::{Example, ExamplesWriter, ImageShape};
    use pipe_kind::Kind as _;
    use pipe_kind::ProgressSink;

    #[test]
    fn counts_index_and_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("ex.parquet");
        let shape = ImageShape {
            height: 10,
            width: 11,
            channels: vec!["read_base".into(), "strand".into()],
        };
        let mut w = ExamplesWriter::create(&input, shape, "test").unwrap();
        for (i, (alt, label)) in [("C", 1), ("T", 0), ("CA", 2)].iter().enumerate() {
            w.push(Example {
                id: format!("chr1:{i}:A>{alt}"),
                sample: "s".into(),
                chrom: "chr1".into(),
                pos: i as i64,
                ref_allele: "A".into(),
                alt: alt.to_string(),
                label: Some(*label),
                image: vec![100; 10 * 11 * 2],
                site: None,
            })
            .unwrap();
        }
        w.finish().unwrap();
        let out = dir.path().join("out");
        let outputs: BTreeMap<String, std::path::PathBuf> = StageKind::outputs(&Summarize)
            .iter()
            .map(|p| (p.name.to_string(), out.join(p.path)))
            .collect();
        std::fs::create_dir_all(&out).unwrap();
        let ctx = TaskContext {
            task: "s".into(),
            params: serde_json::json!({"limit": 2}),
            inputs: [("examples".to_string(), vec![input])].into(),
            outputs,
            state_dir: dir.path().join("state"),
            devices: vec![],
            threads: 1,
            seed: 0,
            progress: ProgressSink::discard(),
        };
        Summarize.run(&ctx).unwrap();
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(md.contains("3 examples"), "{md}");
        assert!(md.contains("| het | SNP | 1 |"), "{md}");
        assert!(md.contains("| hom-alt | indel | 1 |"), "{md}");
        let csv = std::fs::read_to_string(out.join("examples.csv")).unwrap();
        assert!(csv.contains("chr1:2:A>CA,chr1,3,A,CA,2"), "{csv}");
        let pngs: Vec<_> = std::fs::read_dir(out.join("pngs")).unwrap().collect();
        assert_eq!(pngs.len(), 2, "labeled variants first, limit 2");
        let err = Summarize
            .check(&serde_json::json!({"limt": 2}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `limt`"), "{err}");
    }
}
