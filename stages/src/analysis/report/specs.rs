//! Panel (d): the model specifications table: one row per specification (from an optional CSV or
//! Parquet file with an `arch` column and one column per specification, e.g. params, gflops), and the
//! inference time (mean ± sd of the final epochs' validation `seconds`, the study's `inference_time`)
//! measured in the study itself, with ↑ on the highest as in the study's specifications table.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::metrics_table::Table;
use super::Study;
use crate::analysis::aggregate::mean_sd;
use crate::analysis::frame::{Frame, Values};

/// Specification name -> arch -> text, in file column order.
pub type Specs = Vec<(String, BTreeMap<String, String>)>;

/// Reads a specifications file (`.parquet`, otherwise CSV) with an `arch` column.
pub fn read_specs(path: &Path) -> Result<Specs> {
    let file = path.display();
    let mut specs: Specs = Vec::new();
    if path.extension().is_some_and(|e| e == "parquet") {
        let frame = Frame::read_parquet(path)?;
        let archs = frame
            .strings("arch")
            .with_context(|| format!("{file}: needs a string column 'arch'"))?;
        for (name, values) in &frame.columns {
            if name == "arch" {
                continue;
            }
            let cells = (0..archs.len()).map(|i| match values {
                Values::Str(v) => v[i].clone(),
                Values::Int(v) => v[i].to_string(),
                Values::Float(v) => format!("{}", v[i]),
            });
            specs.push((name.clone(), archs.iter().cloned().zip(cells).collect()));
        }
        return Ok(specs);
    }
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot open {file}"))?;
    let headers = reader.headers()?.clone();
    let Some(arch_col) = headers.iter().position(|h| h.trim() == "arch") else {
        bail!("{file}: column 'arch' is missing (one row per arch, one column per specification)");
    };
    for (i, h) in headers.iter().enumerate() {
        if i != arch_col {
            specs.push((h.trim().to_string(), BTreeMap::new()));
        }
    }
    for record in reader.records() {
        let record = record.with_context(|| format!("{file}: malformed CSV"))?;
        let arch = record.get(arch_col).unwrap_or("").trim().to_string();
        let mut k = 0;
        for (i, cell) in record.iter().enumerate() {
            if i != arch_col {
                if let Some((_, map)) = specs.get_mut(k) {
                    map.insert(arch.clone(), cell.trim().to_string());
                }
                k += 1;
            }
        }
    }
    Ok(specs)
}

/// The specifications table of the study's archs.
pub fn specs_table(study: &Study, specs: &Specs) -> Table {
    let mut header = vec!["Specification".to_string()];
    header.extend(study.archs.iter().map(|a| study.label(a)));
    let mut rows = vec![header];
    for (name, map) in specs {
        let mut row = vec![name.clone()];
        row.extend(
            study
                .archs
                .iter()
                .map(|a| map.get(a).cloned().unwrap_or_default()),
        );
        rows.push(row);
    }
    let times: Vec<(f64, f64)> = study
        .archs
        .iter()
        .map(|a| {
            let v: Vec<f64> = study
                .finals
                .iter()
                .filter(|r| &r.arch == a && r.seconds.is_finite())
                .map(|r| r.seconds)
                .collect();
            mean_sd(&v, study.ddof)
        })
        .collect();
    if times.iter().all(|(m, _)| m.is_finite()) {
        // As the study's table: ↑ marks the highest mean time.
        let highest = times.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
        let mut row = vec!["Inference time".to_string()];
        row.extend(times.iter().map(|(m, s)| {
            let arrow = if *m == highest && times.len() > 1 {
                " ↑"
            } else {
                ""
            };
            format!("{m:.4} ± {s:.4}{arrow}")
        }));
        rows.push(row);
    }
    Table {
        name: "specifications".into(),
        title: "Model specifications".into(),
        rows,
    }
}
