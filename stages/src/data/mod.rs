//! Where examples come from, and the examples table they all write.

pub mod examples;
pub mod fetch;
pub mod inspect;
pub mod simulate;
pub mod sources;
pub mod split;
pub mod summarize;
pub mod tensorize;
