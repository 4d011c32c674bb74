//! Stage parameters: deserialized with the offending field named, then checked for what serde cannot.

use anyhow::{anyhow, Result};
use serde::de::DeserializeOwned;

/// The parameters of a stage kind, as the `params:` of a pipeline stage deserialize into them.
///
/// Parameter structs should use `#[serde(deny_unknown_fields)]` so typos are caught at plan time.
pub trait StageParams: DeserializeOwned {
    /// Checks what deserializing cannot (ranges, names that must exist); errors name the field
    /// (`params.epochs: must be at least 1`). The default accepts every value serde accepts.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Deserializes stage parameters, naming the offending field in errors (`params.lr: invalid type ...`).
pub fn parse_params<T: DeserializeOwned>(params: &serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            anyhow!("params: {}", e.inner())
        } else {
            anyhow!("params.{path}: {}", e.inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        lr: f64,
    }

    #[test]
    fn parse_params_names_the_field() {
        let err = parse_params::<P>(&serde_json::json!({"lr": "x"})).unwrap_err();
        assert!(err.to_string().starts_with("params.lr:"), "{err}");
        let err = parse_params::<P>(&serde_json::json!({"lr": 1.0, "lrr": 2})).unwrap_err();
        assert!(err.to_string().contains("unknown field `lrr`"), "{err}");
    }
}
