//! The validation predictions the report uses: for every (arch, fold), those of its final epoch (the
//! final table's epoch, else the last epoch the predictions have).

use std::collections::BTreeMap;

use super::Study;
use crate::analysis::tables::PredictionRow;

/// Class names of the label column, in class order.
pub const CLASSES: [&str; 3] = ["hom-ref", "het", "hom-alt"];

/// Predictions of the study's archs at their final epochs, grouped by arch (study order).
pub fn final_predictions<'a>(
    study: &Study,
    rows: &'a [PredictionRow],
) -> Vec<(String, Vec<&'a PredictionRow>)> {
    let final_epoch: BTreeMap<(&str, i32), i32> = study
        .finals
        .iter()
        .map(|r| ((r.arch.as_str(), r.fold), r.epoch))
        .collect();
    let mut last: BTreeMap<(&str, i32), i32> = BTreeMap::new();
    let mut has_final: BTreeMap<(&str, i32), bool> = BTreeMap::new();
    for r in rows {
        let key = (r.arch.as_str(), r.fold);
        let e = last.entry(key).or_insert(r.epoch);
        *e = (*e).max(r.epoch);
        if final_epoch.get(&key) == Some(&r.epoch) {
            has_final.insert(key, true);
        }
    }
    study
        .archs
        .iter()
        .map(|arch| {
            let chosen = rows
                .iter()
                .filter(|r| &r.arch == arch)
                .filter(|r| {
                    let key = (r.arch.as_str(), r.fold);
                    let epoch = if has_final.contains_key(&key) {
                        final_epoch.get(&key)
                    } else {
                        last.get(&key)
                    };
                    epoch == Some(&r.epoch)
                })
                .collect();
            (arch.clone(), chosen)
        })
        .collect()
}

/// The predicted class: the first class with the highest probability.
pub fn predicted(row: &PredictionRow) -> usize {
    let mut best = 0;
    for k in 1..3 {
        if row.p[k] > row.p[best] {
            best = k;
        }
    }
    best
}
