//! RegNetY (timm's `regnet.py`): `regnety_002` .. `regnety_320`.

use super::layers::{global_avg_pool, Act, ConvBn, ConvSpec, Linear, SqueezeExcite};
use pipe_stages::train::architectures::regnet::RegNetConfig;
use tch::nn::{self, ModuleT};
use tch::Tensor;

const EPS: f64 = 1e-5;
const STEM_WIDTH: i64 = 32;
const SE_RATIO: f64 = 0.25;

#[derive(Debug)]
struct Bottleneck {
    conv1: ConvBn,
    conv2: ConvBn,
    se: SqueezeExcite,
    conv3: ConvBn,
    downsample: Option<ConvBn>,
}

impl Bottleneck {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, stride: i64, group_size: i64) -> Self {
        let se_channels = (c_in as f64 * SE_RATIO).round_ties_even() as i64;
        let downsample = (c_in != c_out || stride != 1).then(|| {
            ConvBn::new(
                &(p / "downsample"),
                c_in,
                c_out,
                ConvSpec::new(1, stride).pad(0, 0),
                EPS,
                Act::None,
            )
        });
        Bottleneck {
            conv1: ConvBn::new(
                &(p / "conv1"),
                c_in,
                c_out,
                ConvSpec::new(1, 1),
                EPS,
                Act::Relu,
            ),
            conv2: ConvBn::new(
                &(p / "conv2"),
                c_out,
                c_out,
                ConvSpec::new(3, stride).groups(c_out / group_size),
                EPS,
                Act::Relu,
            ),
            se: SqueezeExcite::new(&(p / "se"), ["fc1", "fc2"], c_out, se_channels, Act::Relu),
            conv3: ConvBn::new(
                &(p / "conv3"),
                c_out,
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
            .apply(&self.se)
            .apply_t(&self.conv3, train);
        let shortcut = match &self.downsample {
            Some(d) => xs.apply_t(d, train),
            None => xs.shallow_clone(),
        };
        Act::Relu.apply(ys + shortcut)
    }
}

/// A RegNetY: `stem`, stages `s1`..`s4` of blocks `b1`.., average pool, `head.fc`.
#[derive(Debug)]
pub struct RegNet {
    stem: ConvBn,
    blocks: Vec<Bottleneck>,
    fc: Linear,
}

impl RegNet {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, cfg: &RegNetConfig, in_channels: i64, num_classes: i64) -> Self {
        let stem = ConvBn::new(
            &(p / "stem"),
            in_channels,
            STEM_WIDTH,
            ConvSpec::new(3, 2),
            EPS,
            Act::Relu,
        );
        let mut blocks = Vec::new();
        let mut c_in = STEM_WIDTH;
        for (i, (w, depth, g)) in cfg.stages().into_iter().enumerate() {
            let s = p / format!("s{}", i + 1);
            for b in 0..depth {
                let stride = if b == 0 { 2 } else { 1 };
                blocks.push(Bottleneck::new(
                    &(&s / format!("b{}", b + 1)),
                    c_in,
                    w,
                    stride,
                    g,
                ));
                c_in = w;
            }
        }
        let fc = Linear::new(&(p / "head" / "fc"), c_in, num_classes);
        RegNet { stem, blocks, fc }
    }
}

impl ModuleT for RegNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply_t(&self.stem, train);
        for b in &self.blocks {
            x = x.apply_t(b, train);
        }
        global_avg_pool(&x).apply(&self.fc)
    }
}
