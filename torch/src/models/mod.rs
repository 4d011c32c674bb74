//! The model zoo: the study's CNN architectures in tch, with timm's names and state-dict variable names.
//!
//! As in the original study, the first convolution takes the image's channel count and the classifier
//! is a Linear layer with `num_classes` outputs; everything else follows timm's definitions, so a timm
//! `state_dict` (without batch norms' `num_batches_tracked`) loads by name.

pub mod convnext;
pub mod efficientnet;
pub mod inception;
mod layers;
pub mod regnet;
pub mod resnext;

use anyhow::{bail, Result};

use pipe_kind::torch_hook::ModelSummary;
pub use pipe_stages::train::architectures::names;
use pipe_stages::train::architectures::{self, Config};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// A boxed model that runs in train or eval mode.
pub type Model = Box<dyn ModuleT + Send>;

/// Builds `arch` under `path`; the error lists the known architectures when `arch` is unknown.
pub fn build(path: &nn::Path, arch: &str, in_channels: i64, num_classes: i64) -> Result<Model> {
    let architecture = architectures::find(arch)?;
    if in_channels < 1 || num_classes < 1 {
        bail!("model {arch}: in_channels ({in_channels}) and num_classes ({num_classes}) must be at least 1");
    }
    Ok(match &architecture.config {
        Config::Inception => Box::new(inception::InceptionV3::new(path, in_channels, num_classes)),
        Config::RegNet(cfg) => Box::new(regnet::RegNet::new(path, cfg, in_channels, num_classes)),
        Config::ResNext(cfg) => {
            Box::new(resnext::ResNext::new(path, cfg, in_channels, num_classes))
        }
        Config::EfficientNet(cfg) => Box::new(efficientnet::EfficientNet::new(
            path,
            cfg,
            in_channels,
            num_classes,
        )),
        Config::ConvNext(cfg) => {
            Box::new(convnext::ConvNext::new(path, cfg, in_channels, num_classes))
        }
    })
}

/// Parameter count and forward GFLOPs (2 per multiply-add, convolutions and linear layers, as
/// torch.utils.flop_counter counts) for one image of in_channels x height x width.
pub fn summarize(
    arch: &str,
    in_channels: i64,
    num_classes: i64,
    height: i64,
    width: i64,
) -> Result<ModelSummary> {
    let architecture = architectures::find(arch)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(&vs.root(), arch, in_channels, num_classes)?;
    let params = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    let input = Tensor::zeros([1, in_channels, height, width], (Kind::Float, Device::Cpu));
    let counted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tch::no_grad(|| {
            let mut shape = Vec::new();
            let macs = layers::count_macs(|| shape = model.forward_t(&input, false).size());
            (macs, shape)
        })
    }));
    let macs = match counted {
        Ok((macs, shape)) if shape == [1, num_classes] => macs,
        Ok((_, shape)) => bail!("model {arch} gave output shape {shape:?} for an input of {in_channels}x{height}x{width}"),
        Err(_) => bail!("model {arch} cannot run on an input of {in_channels}x{height}x{width} (too small?)"),
    };
    Ok(ModelSummary {
        arch: architecture.name,
        family: architecture.family,
        params,
        gflops: 2.0 * macs as f64 / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_architecture_lists_known_names() {
        let vs = nn::VarStore::new(Device::Cpu);
        let err = build(&vs.root(), "resnet9000", 7, 3)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("resnet9000"), "{err}");
        for name in architectures::names() {
            assert!(err.contains(name), "{name} missing from {err}");
        }
        assert!(summarize("nope", 7, 3, 224, 224).is_err());
    }

    #[test]
    fn smallest_of_each_family_forwards_a_batch() {
        for arch in [
            "inception_v3",
            "regnety_002",
            "resnext50_32x4d",
            "efficientnet_b0",
            "convnext_atto",
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let model = build(&vs.root(), arch, 7, 3).unwrap_or_else(|e| panic!("{e}"));
            let xs = Tensor::randn([2, 7, 100, 221], (Kind::Float, Device::Cpu));
            for train in [true, false] {
                let ys = tch::no_grad(|| model.forward_t(&xs, train));
                assert_eq!(ys.size(), [2, 3], "{arch} train={train}");
                assert!(
                    ys.isfinite().all().int64_value(&[]) == 1,
                    "{arch} gave non-finite logits"
                );
            }
        }
    }

    #[test]
    fn summary_counts_conv_and_linear_flops() {
        // ResNeXt-50 stem at 7 channels: a 7x7/2 conv to 64 channels over a 112x112 output is
        // 7*49*64*112*112 multiply-adds; the whole network must count more than that.
        let s = summarize("resnext50_32x4d", 7, 3, 224, 224).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.family, "resnext");
        assert!(s.gflops > 2.0 * (7 * 49 * 64 * 112 * 112) as f64 / 1e9);
        // Inception v3 needs at least 75x75 pixels: a smaller image is an error, not a panic.
        assert!(summarize("inception_v3", 7, 3, 32, 32).is_err());
    }

    #[test]
    fn batch_norms_start_at_one_and_last_residual_norm_at_zero() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = build(&vs.root(), "regnety_002", 7, 3).unwrap_or_else(|e| panic!("{e}"));
        let vars = vs.variables();
        let value = |name: &str| {
            let t = vars.get(name).unwrap_or_else(|| panic!("{name} missing"));
            (t.min().double_value(&[]), t.max().double_value(&[]))
        };
        assert_eq!(value("stem.bn.weight"), (1.0, 1.0));
        assert_eq!(value("s1.b1.conv1.bn.weight"), (1.0, 1.0));
        assert_eq!(value("s1.b1.conv3.bn.weight"), (0.0, 0.0));
    }
}
