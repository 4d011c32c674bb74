//! EfficientNet (timm's `efficientnet.py`, not the `tf_` variants): `efficientnet_b0` .. `efficientnet_b7`.

use super::layers::{
    batch_norm, global_avg_pool, make_divisible, Act, Conv, ConvSpec, Linear, SqueezeExcite,
};
use pipe_stages::train::architectures::efficientnet::EfficientNetConfig;
use tch::nn::{self, ModuleT};
use tch::Tensor;

const EPS: f64 = 1e-5;
const SE_RATIO: f64 = 0.25;

/// Stages of EfficientNet-B0: (expansion ratio, kernel, stride, output channels, repeats); expansion 1
/// is a depthwise-separable block, the others inverted residuals.
const B0_STAGES: [(i64, i64, i64, i64, usize); 7] = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
];

/// `c` channels of B0 scaled by the variant's width multiplier, as timm rounds them.
fn channels(cfg: &EfficientNetConfig, c: i64) -> i64 {
    make_divisible(c as f64 * cfg.width, 8, 0.9)
}

/// A batch norm followed by an activation (timm's `BatchNormAct2d`).
#[derive(Debug)]
struct BnAct(nn::BatchNorm, Act);

impl BnAct {
    fn new(p: &nn::Path, c: i64, act: Act) -> Self {
        BnAct(batch_norm(p, c, EPS), act)
    }
}

impl ModuleT for BnAct {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.1.apply(xs.apply_t(&self.0, train))
    }
}

/// A depthwise-separable block (`conv_pw` absent) or an inverted residual (with `conv_pw`).
#[derive(Debug)]
struct Block {
    expand: Option<(Conv, BnAct)>,
    conv_dw: Conv,
    bn_dw: BnAct,
    se: SqueezeExcite,
    project: (Conv, BnAct),
    skip: bool,
}

impl Block {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, expansion: i64, kernel: i64, stride: i64) -> Self {
        let pw = ConvSpec::new(1, 1);
        let se_names = ["conv_reduce", "conv_expand"];
        let rd = (c_in as f64 * SE_RATIO).round_ties_even() as i64;
        let skip = stride == 1 && c_in == c_out;
        if expansion == 1 {
            return Block {
                expand: None,
                conv_dw: Conv::new(
                    &(p / "conv_dw"),
                    c_in,
                    c_in,
                    ConvSpec::new(kernel, stride).groups(c_in),
                ),
                bn_dw: BnAct::new(&(p / "bn1"), c_in, Act::Silu),
                se: SqueezeExcite::new(&(p / "se"), se_names, c_in, rd, Act::Silu),
                project: (
                    Conv::new(&(p / "conv_pw"), c_in, c_out, pw),
                    BnAct::new(&(p / "bn2"), c_out, Act::None),
                ),
                skip,
            };
        }
        let mid = make_divisible((c_in * expansion) as f64, 8, 0.9);
        Block {
            expand: Some((
                Conv::new(&(p / "conv_pw"), c_in, mid, pw),
                BnAct::new(&(p / "bn1"), mid, Act::Silu),
            )),
            conv_dw: Conv::new(
                &(p / "conv_dw"),
                mid,
                mid,
                ConvSpec::new(kernel, stride).groups(mid),
            ),
            bn_dw: BnAct::new(&(p / "bn2"), mid, Act::Silu),
            se: SqueezeExcite::new(&(p / "se"), se_names, mid, rd, Act::Silu),
            project: (
                Conv::new(&(p / "conv_pwl"), mid, c_out, pw),
                BnAct::new(&(p / "bn3"), c_out, Act::None),
            ),
            skip,
        }
    }
}

impl ModuleT for Block {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x = match &self.expand {
            Some((conv, bn)) => xs.apply(conv).apply_t(bn, train),
            None => xs.shallow_clone(),
        };
        let x = x
            .apply(&self.conv_dw)
            .apply_t(&self.bn_dw, train)
            .apply(&self.se);
        let x = x.apply(&self.project.0).apply_t(&self.project.1, train);
        if self.skip {
            x + xs
        } else {
            x
        }
    }
}

/// An EfficientNet: `conv_stem`/`bn1`, `blocks`, `conv_head`/`bn2`, average pool, `classifier`.
#[derive(Debug)]
pub struct EfficientNet {
    stem: (Conv, BnAct),
    blocks: Vec<Block>,
    head: (Conv, BnAct),
    classifier: Linear,
}

impl EfficientNet {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, cfg: &EfficientNetConfig, in_channels: i64, num_classes: i64) -> Self {
        let stem_size = channels(cfg, 32);
        let stem = (
            Conv::new(
                &(p / "conv_stem"),
                in_channels,
                stem_size,
                ConvSpec::new(3, 2),
            ),
            BnAct::new(&(p / "bn1"), stem_size, Act::Silu),
        );
        let mut blocks = Vec::new();
        let mut c_in = stem_size;
        for (i, &(expansion, kernel, stride, c, repeats)) in B0_STAGES.iter().enumerate() {
            let c_out = channels(cfg, c);
            let repeats = (repeats as f64 * cfg.depth).ceil() as usize;
            for b in 0..repeats {
                let s = if b == 0 { stride } else { 1 };
                blocks.push(Block::new(
                    &(p / "blocks" / i / b),
                    c_in,
                    c_out,
                    expansion,
                    kernel,
                    s,
                ));
                c_in = c_out;
            }
        }
        let num_features = channels(cfg, 1280);
        let head = (
            Conv::new(&(p / "conv_head"), c_in, num_features, ConvSpec::new(1, 1)),
            BnAct::new(&(p / "bn2"), num_features, Act::Silu),
        );
        let classifier = Linear::new(&(p / "classifier"), num_features, num_classes);
        EfficientNet {
            stem,
            blocks,
            head,
            classifier,
        }
    }
}

impl ModuleT for EfficientNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem.0).apply_t(&self.stem.1, train);
        for b in &self.blocks {
            x = x.apply_t(b, train);
        }
        let x = x.apply(&self.head.0).apply_t(&self.head.1, train);
        global_avg_pool(&x).apply(&self.classifier)
    }
}
