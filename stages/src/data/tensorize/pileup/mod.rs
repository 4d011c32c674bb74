//! DeepVariant-compatible pileup images (see `docs/deepvariant-pileup.md` of the shared docs).
//!
//! One module per concern: [`read`] decodes alignment records, [`geometry`] places the window and the
//! rows, [`channels`] gives every channel's pixel values, [`shuffle`] reproduces DeepVariant's read
//! downsampling order and [`draw`] puts reads into an image, its rows sorted by alignment start. Reads
//! are drawn as given: realigned by [`super::realigner`] when the stage's `realign` param is on.

pub mod channels;
pub mod draw;
pub mod geometry;
pub mod read;
pub mod reference;
pub mod shuffle;

#[cfg(test)]
mod tests;
