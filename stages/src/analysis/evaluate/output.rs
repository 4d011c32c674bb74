//! The output tables: `summary` (hap.py's summary.csv), `extended` (per subtype and stratum) and the
//! precision/recall curve, as [`Frame`]s.

use super::counts::{curve, Counts, Outcomes, Tally, FILTERS, SUBTYPES, TYPES};
use crate::analysis::frame::{Frame, Values};

/// Reads one count of a row.
type Count = fn(&Counts) -> u64;

/// Computes one metric of a row.
type Metric = fn(&Counts) -> f64;

/// The count columns, in hap.py's order (QUERY.TP added after QUERY.TOTAL).
const COUNT_COLUMNS: [&str; 8] = [
    "TRUTH.TOTAL",
    "TRUTH.TP",
    "TRUTH.FN",
    "QUERY.TOTAL",
    "QUERY.TP",
    "QUERY.FP",
    "QUERY.UNK",
    "FP.gt",
];

/// The metric columns.
const METRIC_COLUMNS: [&str; 4] = [
    "METRIC.Recall",
    "METRIC.Precision",
    "METRIC.Frac_NA",
    "METRIC.F1_Score",
];

/// Builds a frame of `labels` columns then the counts and metrics of each row.
fn table(label_names: &[&str], rows: &[(Vec<String>, Counts)]) -> Frame {
    let mut f = Frame::default();
    for (i, name) in label_names.iter().enumerate() {
        f.push(
            name,
            Values::Str(rows.iter().map(|r| r.0[i].clone()).collect()),
        );
    }
    let counts: [Count; 8] = [
        |c| c.truth_total,
        |c| c.truth_tp,
        |c| c.truth_fn,
        |c| c.query_total,
        |c| c.query_tp,
        |c| c.query_fp,
        |c| c.query_unk,
        |c| c.fp_gt,
    ];
    for (name, get) in COUNT_COLUMNS.iter().zip(counts) {
        f.push(
            name,
            Values::Int(rows.iter().map(|r| get(&r.1) as i64).collect()),
        );
    }
    let metrics: [Metric; 4] = [
        Counts::recall,
        Counts::precision,
        Counts::frac_na,
        Counts::f1,
    ];
    for (name, get) in METRIC_COLUMNS.iter().zip(metrics) {
        f.push(
            name,
            Values::Float(rows.iter().map(|r| get(&r.1)).collect()),
        );
    }
    f
}

/// hap.py's summary: INDEL, SNP and ALL, each with filter ALL and PASS.
pub fn summary(tally: &Tally) -> Frame {
    let rows: Vec<(Vec<String>, Counts)> = [2, 1, 0]
        .into_iter()
        .flat_map(|t| {
            (0..FILTERS.len()).map(move |f| {
                (
                    vec![TYPES[t].to_string(), FILTERS[f].to_string()],
                    tally.get(f, t, 0, 0),
                )
            })
        })
        .collect();
    table(&["Type", "Filter"], &rows)
}

/// The extended table: every type, its subtypes and every subset (`*` or a stratum name) for both
/// filters.
pub fn extended(tally: &Tally, strata: &[String]) -> Frame {
    let mut rows = Vec::new();
    for t in [2, 1, 0] {
        for (s, subtype) in SUBTYPES.iter().enumerate() {
            if !super::counts::Class::reported(t, s) {
                continue;
            }
            for subset in 0..tally.subsets() {
                let name = if subset == 0 {
                    "*"
                } else {
                    &strata[subset - 1]
                };
                for (f, filter) in FILTERS.iter().enumerate() {
                    rows.push((
                        vec![
                            TYPES[t].to_string(),
                            subtype.to_string(),
                            name.to_string(),
                            filter.to_string(),
                        ],
                        tally.get(f, t, s, subset),
                    ));
                }
            }
        }
    }
    table(&["Type", "Subtype", "Subset", "Filter"], &rows)
}

/// The precision/recall curve: for each type and filter, the counts of the calls with QUAL at least
/// each threshold.
pub fn pr_curve(per_filter: &[Outcomes; 2], thresholds: &[f64]) -> Frame {
    let mut labels: [Vec<String>; 2] = Default::default();
    let mut qual = Vec::new();
    let mut counts = Vec::new();
    for t in [2, 1, 0] {
        for (f, outcomes) in per_filter.iter().enumerate() {
            for p in curve(outcomes, t, thresholds) {
                labels[0].push(TYPES[t].to_string());
                labels[1].push(FILTERS[f].to_string());
                qual.push(p.threshold);
                counts.push(p.counts);
            }
        }
    }
    let mut f = Frame::default();
    f.push("Type", Values::Str(std::mem::take(&mut labels[0])));
    f.push("Filter", Values::Str(std::mem::take(&mut labels[1])));
    f.push("QUAL", Values::Float(qual));
    let ints: [(&str, Count); 5] = [
        ("TRUTH.TOTAL", |c| c.truth_total),
        ("TRUTH.TP", |c| c.truth_tp),
        ("TRUTH.FN", |c| c.truth_fn),
        ("QUERY.TP", |c| c.query_tp),
        ("QUERY.FP", |c| c.query_fp),
    ];
    for (name, get) in ints {
        f.push(
            name,
            Values::Int(counts.iter().map(|c| get(c) as i64).collect()),
        );
    }
    let floats: [(&str, Metric); 3] = [
        ("METRIC.Precision", Counts::precision),
        ("METRIC.Recall", Counts::recall),
        ("METRIC.F1_Score", Counts::f1),
    ];
    for (name, get) in floats {
        f.push(name, Values::Float(counts.iter().map(get).collect()));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::evaluate::counts::{Class, QueryOutcome, Status, TruthOutcome};

    fn outcomes() -> Outcomes {
        let truth = |tp, vtype, subtype, strata: &[u16]| TruthOutcome {
            class: Class { vtype, subtype },
            strata: strata.into(),
            tp,
            score: 30.0,
        };
        Outcomes {
            truth: vec![truth(true, 1, 1, &[0]), truth(false, 2, 3, &[])],
            query: vec![QueryOutcome {
                class: Class {
                    vtype: 1,
                    subtype: 1,
                },
                strata: Box::new([0]),
                status: Status::Tp,
                fp_gt: false,
                qual: 30.0,
            }],
        }
    }

    #[test]
    fn summary_and_extended_rows_follow_hap_py() {
        let o = outcomes();
        let tally = Tally::new(&[o.clone(), o], 1);
        let s = summary(&tally);
        assert_eq!(
            s.strings("Type").unwrap(),
            ["INDEL", "INDEL", "SNP", "SNP", "ALL", "ALL"]
        );
        assert_eq!(s.ints("TRUTH.FN").unwrap(), [1, 1, 0, 0, 1, 1]);
        assert_eq!(s.floats("METRIC.Recall").unwrap()[4], 0.5);
        let e = extended(&tally, &["hp".to_string()]);
        // INDEL: * and 9 length bins; SNP: *, ti, tv; ALL: *; each for 2 subsets and 2 filters.
        assert_eq!(e.rows(), (10 + 3 + 1) * 2 * 2);
        let row = (0..e.rows())
            .find(|&i| {
                e.strings("Type").unwrap()[i] == "SNP"
                    && e.strings("Subtype").unwrap()[i] == "ti"
                    && e.strings("Subset").unwrap()[i] == "hp"
            })
            .unwrap();
        assert_eq!(e.ints("TRUTH.TP").unwrap()[row], 1);
        assert_eq!(e.ints("QUERY.TP").unwrap()[row], 1);
    }

    #[test]
    fn the_curve_has_a_row_per_type_filter_and_threshold() {
        let o = outcomes();
        let c = pr_curve(&[o.clone(), o], &[10.0, 40.0]);
        assert_eq!(c.rows(), 3 * 2 * 2);
        let recall = c.floats("METRIC.Recall").unwrap();
        // ALL type, filter ALL: the matched SNP is found at QUAL 10, not at 40.
        assert_eq!((recall[8], recall[9]), (0.5, 0.0));
    }
}
