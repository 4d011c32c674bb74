//! The `config.json` of a trained model (the `train` stage's `model` output, beside
//! `model.safetensors`): what the weights were trained on and how their inputs were made. `train`
//! writes it; `call` reads it to build the model and to check that examples fit it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::examples::ImageShape;
use crate::train::params::Sides;

/// The file name of the configuration inside a model folder.
pub const CONFIG_FILE: &str = "config.json";
/// The file name of the weights inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// A trained model's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Architecture (timm name).
    pub arch: String,
    /// Channel names of the training images, in order.
    pub channels: Vec<String>,
    /// Classes the model predicts.
    pub classes: usize,
    /// Image rows before padding.
    pub height: usize,
    /// Image columns before padding.
    pub width: usize,
    /// Zero padding added around each image.
    pub padding: Sides,
    /// Per-channel normalization of the padded images, when training normalized.
    pub normalization: Option<Normalization>,
    /// Epochs trained.
    pub epoch: usize,
}

/// Per-channel normalization statistics of the training fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean per channel.
    pub mean: Vec<f64>,
    /// Standard deviation per channel.
    pub std: Vec<f64>,
}

impl ModelConfig {
    /// Reads `dir/config.json`; the error names the file and says what a model folder holds.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; a model folder is the train stage's `model` output ({CONFIG_FILE} and {WEIGHTS_FILE})",
                path.display()
            )
        })?;
        let config: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a model configuration", path.display()))?;
        let c = config.channels.len();
        if let Some(n) = &config.normalization {
            if n.mean.len() != c || n.std.len() != c {
                bail!(
                    "{}: normalization has {} means and {} standard deviations for {c} channels",
                    path.display(),
                    n.mean.len(),
                    n.std.len()
                );
            }
        }
        Ok(config)
    }

    /// Fails unless images of `shape` (from `examples`) are what the model was trained on: the same
    /// channels in the same order and the same height and width; the error names both.
    pub fn check_examples(&self, shape: &ImageShape, examples: &Path, model: &Path) -> Result<()> {
        if shape.channels != self.channels {
            bail!(
                "examples {} have channels [{}] but the model {} was trained on [{}]; tensorize with the model's channels",
                examples.display(),
                shape.channels.join(", "),
                model.display(),
                self.channels.join(", ")
            );
        }
        if (shape.height, shape.width) != (self.height, self.width) {
            bail!(
                "examples {} are {}x{} images but the model {} was trained on {}x{}; tensorize with the model's height and width",
                examples.display(),
                shape.height,
                shape.width,
                model.display(),
                self.height,
                self.width
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ModelConfig {
        ModelConfig {
            arch: "regnety_002".into(),
            channels: vec!["read_base".into(), "strand".into()],
            classes: 3,
            height: 10,
            width: 11,
            padding: Sides::default(),
            normalization: Some(Normalization {
                mean: vec![1.0, 2.0],
                std: vec![3.0, 4.0],
            }),
            epoch: 1,
        }
    }

    #[test]
    fn reads_what_train_writes_and_checks_examples_against_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            serde_json::to_vec_pretty(&config()).unwrap(),
        )
        .unwrap();
        let c = ModelConfig::read(dir.path()).unwrap();
        assert_eq!(c, config());
        let mut shape = ImageShape {
            height: 10,
            width: 11,
            channels: c.channels.clone(),
        };
        let ex = Path::new("ex.parquet");
        c.check_examples(&shape, ex, dir.path()).unwrap();
        shape.channels.pop();
        let err = c.check_examples(&shape, ex, dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("channels [read_base]")
                && err.to_string().contains("trained on [read_base, strand]"),
            "{err}"
        );
        let err = ModelConfig::read(&dir.path().join("nope")).unwrap_err();
        assert!(format!("{err:#}").contains("nope/config.json"), "{err:#}");
    }
}
