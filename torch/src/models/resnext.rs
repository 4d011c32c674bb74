//! ResNeXt (timm's `resnet.py` with grouped bottlenecks): `resnext50_32x4d`, `resnext101_32x8d`,
//! `resnext101_64x4d`.

use super::layers::{batch_norm, global_avg_pool, Act, Conv, ConvBn, ConvSpec, Linear};
use pipe_stages::train::architectures::resnext::ResNextConfig;
use tch::nn::{self, ModuleT};
use tch::Tensor;

const EPS: f64 = 1e-5;

#[derive(Debug)]
struct Bottleneck {
    conv1: ConvBn,
    conv2: ConvBn,
    conv3: ConvBn,
    downsample: Option<ConvBn>,
}

impl Bottleneck {
    fn new(p: &nn::Path, c_in: i64, planes: i64, stride: i64, cfg: &ResNextConfig) -> Self {
        let width = planes * cfg.base_width / 64 * cfg.cardinality;
        let c_out = planes * 4;
        let downsample = (stride != 1 || c_in != c_out).then(|| {
            ConvBn::named(
                &(p / "downsample"),
                "0",
                "1",
                c_in,
                c_out,
                ConvSpec::new(1, stride).pad(0, 0),
                EPS,
                Act::None,
            )
        });
        Bottleneck {
            conv1: ConvBn::named(
                p,
                "conv1",
                "bn1",
                c_in,
                width,
                ConvSpec::new(1, 1),
                EPS,
                Act::Relu,
            ),
            conv2: ConvBn::named(
                p,
                "conv2",
                "bn2",
                width,
                width,
                ConvSpec::new(3, stride).pad(1, 1).groups(cfg.cardinality),
                EPS,
                Act::Relu,
            ),
            conv3: ConvBn::named(
                p,
                "conv3",
                "bn3",
                width,
                c_out,
                ConvSpec::new(1, 1),
                EPS,
                Act::None,
            )
            .zero_init(),
            downsample,
        }
    }
}

impl ModuleT for Bottleneck {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let ys = xs
            .apply_t(&self.conv1, train)
            .apply_t(&self.conv2, train)
            .apply_t(&self.conv3, train);
        let shortcut = match &self.downsample {
            Some(d) => xs.apply_t(d, train),
            None => xs.shallow_clone(),
        };
        Act::Relu.apply(ys + shortcut)
    }
}

/// A ResNeXt: stem `conv1`/`bn1`, max pool, stages `layer1`..`layer4`, average pool, `fc`.
#[derive(Debug)]
pub struct ResNext {
    conv1: Conv,
    bn1: nn::BatchNorm,
    blocks: Vec<Bottleneck>,
    fc: Linear,
}

impl ResNext {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, cfg: &ResNextConfig, in_channels: i64, num_classes: i64) -> Self {
        let conv1 = Conv::new(
            &(p / "conv1"),
            in_channels,
            64,
            ConvSpec::new(7, 2).pad(3, 3),
        );
        let bn1 = batch_norm(&(p / "bn1"), 64, EPS);
        let mut blocks = Vec::new();
        let mut c_in = 64;
        for (i, &n) in cfg.layers.iter().enumerate() {
            let planes = 64 << i;
            let stage = p / format!("layer{}", i + 1);
            for b in 0..n {
                let stride = if i > 0 && b == 0 { 2 } else { 1 };
                blocks.push(Bottleneck::new(&(&stage / b), c_in, planes, stride, cfg));
                c_in = planes * 4;
            }
        }
        let fc = Linear::new(&(p / "fc"), c_in, num_classes);
        ResNext {
            conv1,
            bn1,
            blocks,
            fc,
        }
    }
}

impl ModuleT for ResNext {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = Act::Relu
            .apply(xs.apply(&self.conv1).apply_t(&self.bn1, train))
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for b in &self.blocks {
            x = x.apply_t(b, train);
        }
        global_avg_pool(&x).apply(&self.fc)
    }
}
