//! Best-epoch and early-stopping bookkeeping: after each epoch, whether its validation value of the
//! selection metric is the best so far, and whether training stops because it has not improved for
//! `patience` epochs.

use super::checkpoint::Progress;
use pipe_stages::train::params::TrainParams;

/// Records epoch `epoch`'s validation `value` of the selection metric in `progress`: the best epoch and
/// the epochs since it. Returns whether `epoch` is the new best.
pub(super) fn record_epoch(
    progress: &mut Progress,
    epoch: usize,
    value: f64,
    lower_better: bool,
) -> bool {
    let improved = improves(progress.best, value, lower_better);
    if improved {
        progress.best = Some((epoch, value));
        progress.since_best = 0;
    } else {
        progress.since_best += 1;
    }
    improved
}

/// Whether `value` beats the best epoch so far: the first epoch always does, a number beats NaN, and
/// nothing beats a number unless strictly better.
fn improves(best: Option<(usize, f64)>, value: f64, lower_better: bool) -> bool {
    match best {
        None => true,
        Some((_, best)) if best.is_nan() => !value.is_nan(),
        Some((_, best)) if lower_better => value < best,
        Some((_, best)) => value > best,
    }
}

/// Stops training (sets `progress.stopped_early`, and says why) when early stopping is on, the metric
/// has not improved for `patience` epochs and epochs are left. Call it once `progress.epochs_done`
/// counts the epoch just recorded.
pub(super) fn stop_if_patience_ran_out(progress: &mut Progress, p: &TrainParams) {
    let Some(es) = &p.early_stopping else {
        return;
    };
    if progress.since_best >= es.patience && progress.epochs_done < p.epochs {
        eprintln!(
            "train: early stopping after epoch {}: validation {} has not improved for {} epochs",
            progress.epochs_done, es.metric, es.patience
        );
        progress.stopped_early = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Progress {
        Progress {
            epochs_done: 0,
            optimizer_steps: 0,
            best: None,
            since_best: 0,
            stopped_early: false,
        }
    }

    #[test]
    fn the_first_epoch_is_the_best_and_only_a_strictly_better_one_replaces_it() {
        let mut p = fresh();
        assert!(record_epoch(&mut p, 0, 0.5, false));
        assert_eq!((p.best, p.since_best), (Some((0, 0.5)), 0));
        assert!(!record_epoch(&mut p, 1, 0.5, false));
        assert!(!record_epoch(&mut p, 2, 0.4, false));
        assert_eq!((p.best, p.since_best), (Some((0, 0.5)), 2));
        assert!(record_epoch(&mut p, 3, 0.6, false));
        assert_eq!((p.best, p.since_best), (Some((3, 0.6)), 0));
        // A loss is minimized.
        assert!(improves(Some((0, 0.5)), 0.4, true));
        assert!(!improves(Some((0, 0.5)), 0.6, true));
    }

    #[test]
    fn a_number_beats_a_nan_best_and_a_nan_beats_nothing() {
        assert!(improves(None, f64::NAN, false));
        assert!(improves(Some((0, f64::NAN)), 0.1, false));
        assert!(improves(Some((0, f64::NAN)), 0.9, true));
        assert!(!improves(Some((0, f64::NAN)), f64::NAN, false));
        assert!(!improves(Some((0, 0.5)), f64::NAN, false));
        assert!(!improves(Some((0, 0.5)), f64::NAN, true));
    }

    fn params(early_stopping: serde_json::Value) -> TrainParams {
        let p = serde_json::json!({
            "arch": "tiny", "fold": 0, "epochs": 5, "early_stopping": early_stopping
        });
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn training_stops_once_patience_runs_out_unless_no_epoch_is_left() {
        let p = params(serde_json::json!({"metric": "f1", "patience": 2}));
        let mut progress = fresh();
        (progress.epochs_done, progress.since_best) = (2, 1);
        stop_if_patience_ran_out(&mut progress, &p);
        assert!(!progress.stopped_early);
        progress.since_best = 2;
        stop_if_patience_ran_out(&mut progress, &p);
        assert!(progress.stopped_early);

        let mut last = fresh();
        (last.epochs_done, last.since_best) = (5, 4);
        stop_if_patience_ran_out(&mut last, &p);
        assert!(
            !last.stopped_early,
            "after the last epoch there is nothing to stop"
        );
        let mut off = fresh();
        (off.epochs_done, off.since_best) = (2, 2);
        stop_if_patience_ran_out(&mut off, &params(serde_json::Value::Null));
        assert!(!off.stopped_early, "early stopping is off");
    }
}
