//! Which rows of a manifest `fetch` downloads: all of them, or `n` units drawn with a seed, each
//! stratum of a column keeping its share. A unit is one row, or with `group_by` every row sharing that
//! column's value (the per-channel PNGs of one example are downloaded together or not at all).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Manifest;

/// How to subset a manifest (`fetch`'s params `n`, `stratify_by`, `group_by`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Subset<'a> {
    /// Units to keep; all when `None` or at least their count.
    pub n: Option<usize>,
    /// Column whose values keep their proportions.
    pub stratify_by: Option<&'a str>,
    /// Column whose equal values make one unit.
    pub group_by: Option<&'a str>,
}

/// The index of column `name`, or an error naming the param it came from.
fn column(manifest: &Manifest, name: &str, param: &str) -> Result<usize> {
    manifest
        .header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| {
            anyhow!(
                "params.{param}: the manifest has no column '{name}' (columns: {})",
                manifest.header.join(", ")
            )
        })
}

/// The rows of each unit, in manifest order (of their first rows, and within a unit).
fn units(manifest: &Manifest, group_by: Option<&str>) -> Result<Vec<Vec<usize>>> {
    let Some(name) = group_by else {
        return Ok((0..manifest.entries.len()).map(|i| vec![i]).collect());
    };
    let c = column(manifest, name, "group_by")?;
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, e) in manifest.entries.iter().enumerate() {
        let value = e.fields.get(c).map_or("", String::as_str);
        let unit = *index.entry(value).or_insert_with(|| {
            units.push(Vec::new());
            units.len() - 1
        });
        units[unit].push(i);
    }
    Ok(units)
}

/// Indices (ascending) of the rows to download.
pub fn choose(manifest: &Manifest, subset: Subset<'_>, seed: u64) -> Result<Vec<usize>> {
    let units = units(manifest, subset.group_by)?;
    let total = units.len();
    let n = match subset.n {
        Some(n) if n < total => n,
        _ => return Ok((0..manifest.entries.len()).collect()),
    };
    let mut strata: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    match subset.stratify_by {
        Some(name) => {
            let c = column(manifest, name, "stratify_by")?;
            let value = |row: usize| {
                manifest.entries[row]
                    .fields
                    .get(c)
                    .cloned()
                    .unwrap_or_default()
            };
            for (u, rows) in units.iter().enumerate() {
                let v = value(rows[0]);
                if let Some(&other) = rows.iter().find(|&&r| value(r) != v) {
                    bail!(
                        "lines {} and {} are one unit (params.group_by) but differ in column '{name}' \
                         (params.stratify_by): '{v}' and '{}'",
                        manifest.entries[rows[0]].line,
                        manifest.entries[other].line,
                        value(other)
                    );
                }
                strata.entry(v).or_default().push(u);
            }
        }
        None => {
            strata.insert(String::new(), (0..total).collect());
        }
    }
    // Largest-remainder allocation of n over the strata.
    let quotas: Vec<(usize, f64)> = strata
        .values()
        .map(|members| {
            let exact = n as f64 * members.len() as f64 / total as f64;
            (exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let mut take: Vec<usize> = quotas.iter().map(|q| q.0).collect();
    let mut order: Vec<usize> = (0..quotas.len()).collect();
    order.sort_by(|&a, &b| quotas[b].1.total_cmp(&quotas[a].1).then(a.cmp(&b)));
    let short = n - take.iter().sum::<usize>();
    for &s in order.iter().take(short) {
        take[s] += 1;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = Vec::new();
    for (mut members, k) in strata.into_values().zip(take) {
        members.shuffle(&mut rng);
        for &u in members.iter().take(k) {
            chosen.extend_from_slice(&units[u]);
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}
