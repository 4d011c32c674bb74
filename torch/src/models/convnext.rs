//! ConvNeXt (timm's `convnext.py`): `convnext_atto`, `convnext_tiny`, `convnext_small`, `convnext_base`,
//! `convnext_large`.

use super::layers::{global_avg_pool, Conv, ConvSpec, LayerNorm, Linear};
use pipe_stages::train::architectures::convnext::ConvNextConfig;
use tch::nn::{self, Init, Module, ModuleT};
use tch::Tensor;

const EPS: f64 = 1e-6;

/// The two layers of a block's MLP.
#[derive(Debug)]
enum Mlp {
    Conv(Conv, Conv),
    Linear(Linear, Linear),
}

#[derive(Debug)]
struct Block {
    conv_dw: Conv,
    norm: LayerNorm,
    mlp: Mlp,
    gamma: Tensor,
}

impl Block {
    fn new(p: &nn::Path, c: i64, conv_mlp: bool) -> Self {
        let m = p / "mlp";
        let mlp = if conv_mlp {
            let spec = ConvSpec::new(1, 1).bias();
            Mlp::Conv(
                Conv::new(&(&m / "fc1"), c, 4 * c, spec),
                Conv::new(&(&m / "fc2"), 4 * c, c, spec),
            )
        } else {
            Mlp::Linear(
                Linear::new(&(&m / "fc1"), c, 4 * c),
                Linear::new(&(&m / "fc2"), 4 * c, c),
            )
        };
        Block {
            conv_dw: Conv::new(&(p / "conv_dw"), c, c, ConvSpec::new(7, 1).groups(c).bias()),
            norm: LayerNorm::new(&(p / "norm"), c, EPS, conv_mlp),
            mlp,
            gamma: p.var("gamma", &[c], Init::Const(1e-6)),
        }
    }
}

impl Module for Block {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let x = xs.apply(&self.conv_dw);
        let x = match &self.mlp {
            Mlp::Conv(fc1, fc2) => x.apply(&self.norm).apply(fc1).gelu("none").apply(fc2),
            Mlp::Linear(fc1, fc2) => x
                .permute([0, 2, 3, 1])
                .apply(&self.norm)
                .apply(fc1)
                .gelu("none")
                .apply(fc2)
                .permute([0, 3, 1, 2]),
        };
        x * self.gamma.reshape([1, -1, 1, 1]) + xs
    }
}

/// A stage: an optional `downsample` (norm, strided convolution), then its `blocks`.
#[derive(Debug)]
struct Stage {
    downsample: Option<(LayerNorm, Conv)>,
    blocks: Vec<Block>,
}

/// A ConvNeXt: patchify `stem`, four `stages` (each but the first opening with a norm and a strided
/// convolution), average pool, `head.norm`, `head.fc`.
#[derive(Debug)]
pub struct ConvNext {
    stem: (Conv, LayerNorm),
    stages: Vec<Stage>,
    head_norm: LayerNorm,
    head_fc: Linear,
}

impl ConvNext {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, cfg: &ConvNextConfig, in_channels: i64, num_classes: i64) -> Self {
        let stem = (
            Conv::new(
                &(p / "stem" / "0"),
                in_channels,
                cfg.dims[0],
                ConvSpec::new(4, 4).pad(0, 0).bias(),
            ),
            LayerNorm::new(&(p / "stem" / "1"), cfg.dims[0], EPS, true),
        );
        let mut stages = Vec::new();
        let mut c_in = cfg.dims[0];
        for (i, (&depth, &c)) in cfg.depths.iter().zip(&cfg.dims).enumerate() {
            let s = p / "stages" / i;
            let downsample = (i > 0).then(|| {
                let d = &s / "downsample";
                (
                    LayerNorm::new(&(&d / "0"), c_in, EPS, true),
                    Conv::new(&(&d / "1"), c_in, c, ConvSpec::new(2, 2).pad(0, 0).bias()),
                )
            });
            let blocks = (0..depth)
                .map(|b| Block::new(&(&s / "blocks" / b), c, cfg.conv_mlp))
                .collect();
            stages.push(Stage { downsample, blocks });
            c_in = c;
        }
        let head_norm = LayerNorm::new(&(p / "head" / "norm"), c_in, EPS, false);
        let head_fc = Linear::new(&(p / "head" / "fc"), c_in, num_classes);
        ConvNext {
            stem,
            stages,
            head_norm,
            head_fc,
        }
    }
}

impl ModuleT for ConvNext {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem.0).apply(&self.stem.1);
        for stage in &self.stages {
            if let Some((norm, conv)) = &stage.downsample {
                x = x.apply(norm).apply(conv);
            }
            for b in &stage.blocks {
                x = x.apply(b);
            }
        }
        global_avg_pool(&x)
            .apply(&self.head_norm)
            .apply(&self.head_fc)
    }
}
