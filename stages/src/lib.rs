//! The built-in stage kinds of `pipe`, grouped by what they do, and the [`registry`] that offers them.
//!
//! - [`data`]: where examples come from: `simulate`, `fetch`, the external sources (`from_tfrecord`,
//!   `from_pngs`), `tensorize` (candidates, pileups, labels), `split`, `summarize`, the examples table
//!   and `pipe inspect`.
//! - [`train`]: what training needs without libtorch: `train`'s declaration and parameters, metrics,
//!   the model zoo's architectures, `model_specs` and `pipe models` (the loop itself is in pipe-torch).
//! - [`calling`]: from classifier to caller: the `call` kind's declaration and its postprocessing
//!   (genotype likelihoods per site, the VCF); its batched inference is in pipe-torch.
//! - [`analysis`]: results into conclusions: `import_results`, `aggregate`, `significance`, `report`,
//!   `evaluate` (a query VCF against a truth VCF, as hap.py does), `compare_evaluations` (several
//!   evaluations side by side), and the result tables they share.
//!
//! Every kind implements [`pipe_kind::StageKind`].

pub mod analysis;
pub mod calling;
pub mod data;
pub mod train;

use pipe_kind::Registry;

/// Every built-in stage kind, in the order `pipe kinds` lists them, and the domain commands.
pub fn registry() -> Registry {
    Registry::new()
        .with_kinds(&[
            &data::simulate::Simulate,
            &data::fetch::Fetch,
            &data::split::Split,
            &data::tensorize::Tensorize,
            &data::summarize::Summarize,
            &data::sources::FromTfrecord,
            &data::sources::FromPngs,
            &analysis::import_results::ImportResults,
            &analysis::aggregate::Aggregate,
            &analysis::aggregate_calls::AggregateCalls,
            &analysis::significance::Significance,
            &analysis::report::Report,
            &analysis::evaluate::Evaluate,
            &analysis::compare_evaluations::CompareEvaluations,
            &train::Train,
            &train::model_specs::ModelSpecs,
            &calling::Call,
        ])
        .with_commands(&[&train::models::Models, &data::inspect::Inspect])
}
