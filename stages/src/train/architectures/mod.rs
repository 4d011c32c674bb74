//! The model zoo's architectures: each family's table of variants with their configurations, as timm
//! names and defines them. Pure data, so pipelines are checked (unknown architecture names) without
//! libtorch; pipe-torch builds each network from its configuration (`pipe_torch::models`).

pub mod convnext;
pub mod efficientnet;
pub mod inception;
pub mod regnet;
pub mod resnext;

use anyhow::{bail, Result};

/// One architecture's configuration, by family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Config {
    /// Inception v3 (one variant, no configuration).
    Inception,
    /// A RegNetY.
    RegNet(regnet::RegNetConfig),
    /// A ResNeXt.
    ResNext(resnext::ResNextConfig),
    /// An EfficientNet.
    EfficientNet(efficientnet::EfficientNetConfig),
    /// A ConvNeXt.
    ConvNext(convnext::ConvNextConfig),
}

/// One architecture of the zoo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Architecture {
    /// timm's name, e.g. `regnety_032`.
    pub name: &'static str,
    /// Its family, e.g. `regnet`.
    pub family: &'static str,
    /// How to build it.
    pub config: Config,
}

/// Every architecture in a stable order: families as listed here, each from small to large as its own
/// table lists them.
pub fn all() -> Vec<Architecture> {
    fn family<C: Copy>(
        family: &'static str,
        table: &'static [(&'static str, C)],
        config: fn(C) -> Config,
    ) -> impl Iterator<Item = Architecture> {
        table.iter().map(move |&(name, c)| Architecture {
            name,
            family,
            config: config(c),
        })
    }
    family("inception", inception::VARIANTS, |()| Config::Inception)
        .chain(family("regnet", regnet::VARIANTS, Config::RegNet))
        .chain(family("resnext", resnext::VARIANTS, Config::ResNext))
        .chain(family(
            "efficientnet",
            efficientnet::VARIANTS,
            Config::EfficientNet,
        ))
        .chain(family("convnext", convnext::VARIANTS, Config::ConvNext))
        .collect()
}

/// Every known architecture name, in the order of [`all`].
pub fn names() -> Vec<&'static str> {
    all().into_iter().map(|a| a.name).collect()
}

/// The architecture called `arch`; the error lists the known architectures.
pub fn find(arch: &str) -> Result<Architecture> {
    match all().into_iter().find(|a| a.name == arch) {
        Some(a) => Ok(a),
        None => bail!(
            "unknown architecture {arch:?}; known architectures: {}",
            names().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_grouped_by_family() {
        let all = all();
        let unique: std::collections::HashSet<_> = all.iter().map(|a| a.name).collect();
        assert_eq!(unique.len(), all.len());
        assert_eq!(all.len(), 29);
        assert_eq!(all[0].name, "inception_v3");
        let families: Vec<&str> = all.iter().map(|a| a.family).collect();
        let mut runs = families.clone();
        runs.dedup();
        assert_eq!(
            runs,
            ["inception", "regnet", "resnext", "efficientnet", "convnext"],
            "each family's variants are contiguous"
        );
    }

    #[test]
    fn unknown_architecture_lists_known_names() {
        let err = find("resnet9000").unwrap_err().to_string();
        assert!(err.contains("resnet9000"), "{err}");
        for name in names() {
            assert!(err.contains(name), "{name} missing from {err}");
        }
        assert_eq!(find("regnety_320").unwrap().family, "regnet");
    }
}
