//! The table of built-in stage kinds.

use crate::kind::StageKind;

/// Every built-in stage kind, in the order `pipe kinds` lists them.
pub fn all() -> &'static [&'static dyn StageKind] {
    KINDS
}

/// The built-in kind called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static dyn StageKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

static KINDS: &[&dyn StageKind] = &[
    &crate::simulate::Simulate,
    &crate::fetch::Fetch,
    &crate::split::Split,
    &crate::tensorize::Tensorize,
    &crate::summarize::Summarize,
    &crate::sources::FromTfrecord,
    &crate::sources::FromPngs,
    &crate::import_results::ImportResults,
    &crate::aggregate::Aggregate,
    &crate::significance::Significance,
    &crate::report::Report,
    &crate::train::Train,
    &crate::model_specs::ModelSpecs,
];
