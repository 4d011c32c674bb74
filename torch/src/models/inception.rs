//! Inception v3 (timm's `inception_v3.py`, without auxiliary logits): `inception_v3`.

use super::layers::{global_avg_pool, Act, ConvBn, ConvSpec, Linear};
use tch::nn::{self, ModuleT};
use tch::Tensor;

const EPS: f64 = 1e-3;

/// A `BasicConv2d`: convolution `conv`, batch norm `bn` (eps 0.001), ReLU.
fn basic(p: &nn::Path, name: &str, c_in: i64, c_out: i64, spec: ConvSpec) -> ConvBn {
    ConvBn::new(&(p / name), c_in, c_out, spec, EPS, Act::Relu)
}

fn k1() -> ConvSpec {
    ConvSpec::new(1, 1)
}

fn k3s2() -> ConvSpec {
    ConvSpec::new(3, 2).pad(0, 0)
}

fn max_pool(xs: &Tensor) -> Tensor {
    xs.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
}

fn avg_pool(xs: &Tensor) -> Tensor {
    xs.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None)
}

/// Runs a chain of convolutions.
fn chain(xs: &Tensor, convs: &[ConvBn], train: bool) -> Tensor {
    convs
        .iter()
        .fold(xs.shallow_clone(), |x, c| x.apply_t(c, train))
}

/// One of the mixed blocks; each branch is a chain of convolutions, some ending in a split into two
/// parallel convolutions (block E).
#[derive(Debug)]
enum Mixed {
    /// 1x1; 1x1-5x5; 1x1-3x3-3x3; avg pool-1x1.
    A([Vec<ConvBn>; 4]),
    /// 3x3/2; 1x1-3x3-3x3/2; max pool.
    B([Vec<ConvBn>; 2]),
    /// 1x1; 1x1-1x7-7x1; 1x1-7x1-1x7-7x1-1x7; avg pool-1x1.
    C([Vec<ConvBn>; 4]),
    /// 1x1-3x3/2; 1x1-1x7-7x1-3x3/2; max pool.
    D([Vec<ConvBn>; 2]),
    /// 1x1; 1x1-(1x3, 3x1); 1x1-3x3-(1x3, 3x1); avg pool-1x1.
    E(Box<MixedE>),
}

/// The branches of block E.
#[derive(Debug)]
struct MixedE {
    branch1x1: ConvBn,
    branch3x3: (ConvBn, [ConvBn; 2]),
    branch3x3dbl: ([ConvBn; 2], [ConvBn; 2]),
    branch_pool: ConvBn,
}

impl Mixed {
    fn a(p: &nn::Path, c_in: i64, pool_features: i64) -> Self {
        Mixed::A([
            vec![basic(p, "branch1x1", c_in, 64, k1())],
            vec![
                basic(p, "branch5x5_1", c_in, 48, k1()),
                basic(p, "branch5x5_2", 48, 64, ConvSpec::new(5, 1)),
            ],
            vec![
                basic(p, "branch3x3dbl_1", c_in, 64, k1()),
                basic(p, "branch3x3dbl_2", 64, 96, ConvSpec::new(3, 1)),
                basic(p, "branch3x3dbl_3", 96, 96, ConvSpec::new(3, 1)),
            ],
            vec![basic(p, "branch_pool", c_in, pool_features, k1())],
        ])
    }

    fn b(p: &nn::Path, c_in: i64) -> Self {
        Mixed::B([
            vec![basic(p, "branch3x3", c_in, 384, k3s2())],
            vec![
                basic(p, "branch3x3dbl_1", c_in, 64, k1()),
                basic(p, "branch3x3dbl_2", 64, 96, ConvSpec::new(3, 1)),
                basic(p, "branch3x3dbl_3", 96, 96, k3s2()),
            ],
        ])
    }

    fn c(p: &nn::Path, c_in: i64, c7: i64) -> Self {
        let (r17, r71) = (ConvSpec::rect(1, 7), ConvSpec::rect(7, 1));
        Mixed::C([
            vec![basic(p, "branch1x1", c_in, 192, k1())],
            vec![
                basic(p, "branch7x7_1", c_in, c7, k1()),
                basic(p, "branch7x7_2", c7, c7, r17),
                basic(p, "branch7x7_3", c7, 192, r71),
            ],
            vec![
                basic(p, "branch7x7dbl_1", c_in, c7, k1()),
                basic(p, "branch7x7dbl_2", c7, c7, r71),
                basic(p, "branch7x7dbl_3", c7, c7, r17),
                basic(p, "branch7x7dbl_4", c7, c7, r71),
                basic(p, "branch7x7dbl_5", c7, 192, r17),
            ],
            vec![basic(p, "branch_pool", c_in, 192, k1())],
        ])
    }

    fn d(p: &nn::Path, c_in: i64) -> Self {
        Mixed::D([
            vec![
                basic(p, "branch3x3_1", c_in, 192, k1()),
                basic(p, "branch3x3_2", 192, 320, k3s2()),
            ],
            vec![
                basic(p, "branch7x7x3_1", c_in, 192, k1()),
                basic(p, "branch7x7x3_2", 192, 192, ConvSpec::rect(1, 7)),
                basic(p, "branch7x7x3_3", 192, 192, ConvSpec::rect(7, 1)),
                basic(p, "branch7x7x3_4", 192, 192, k3s2()),
            ],
        ])
    }

    fn e(p: &nn::Path, c_in: i64) -> Self {
        let (r13, r31) = (ConvSpec::rect(1, 3), ConvSpec::rect(3, 1));
        Mixed::E(Box::new(MixedE {
            branch1x1: basic(p, "branch1x1", c_in, 320, k1()),
            branch3x3: (
                basic(p, "branch3x3_1", c_in, 384, k1()),
                [
                    basic(p, "branch3x3_2a", 384, 384, r13),
                    basic(p, "branch3x3_2b", 384, 384, r31),
                ],
            ),
            branch3x3dbl: (
                [
                    basic(p, "branch3x3dbl_1", c_in, 448, k1()),
                    basic(p, "branch3x3dbl_2", 448, 384, ConvSpec::new(3, 1)),
                ],
                [
                    basic(p, "branch3x3dbl_3a", 384, 384, r13),
                    basic(p, "branch3x3dbl_3b", 384, 384, r31),
                ],
            ),
            branch_pool: basic(p, "branch_pool", c_in, 192, k1()),
        }))
    }
}

impl ModuleT for Mixed {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let t = train;
        let branches = match self {
            Mixed::A([b1, b5, b3, bp]) | Mixed::C([b1, b5, b3, bp]) => {
                vec![
                    chain(xs, b1, t),
                    chain(xs, b5, t),
                    chain(xs, b3, t),
                    chain(&avg_pool(xs), bp, t),
                ]
            }
            Mixed::B([b3, bd]) | Mixed::D([b3, bd]) => {
                vec![chain(xs, b3, t), chain(xs, bd, t), max_pool(xs)]
            }
            Mixed::E(e) => {
                let MixedE {
                    branch1x1,
                    branch3x3,
                    branch3x3dbl,
                    branch_pool,
                } = e.as_ref();
                let x3 = xs.apply_t(&branch3x3.0, t);
                let xd = chain(xs, &branch3x3dbl.0, t);
                vec![
                    xs.apply_t(branch1x1, t),
                    x3.apply_t(&branch3x3.1[0], t),
                    x3.apply_t(&branch3x3.1[1], t),
                    xd.apply_t(&branch3x3dbl.1[0], t),
                    xd.apply_t(&branch3x3dbl.1[1], t),
                    avg_pool(xs).apply_t(branch_pool, t),
                ]
            }
        };
        Tensor::cat(&branches, 1)
    }
}

/// Inception v3: stem convolutions `Conv2d_1a_3x3`..`Conv2d_4a_3x3` with two max pools, mixed blocks
/// `Mixed_5b`..`Mixed_7c`, average pool, `fc`.
#[derive(Debug)]
pub struct InceptionV3 {
    stem: [ConvBn; 5],
    mixed: Vec<Mixed>,
    fc: Linear,
}

impl InceptionV3 {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, in_channels: i64, num_classes: i64) -> Self {
        let stem = [
            basic(p, "Conv2d_1a_3x3", in_channels, 32, k3s2()),
            basic(p, "Conv2d_2a_3x3", 32, 32, ConvSpec::new(3, 1).pad(0, 0)),
            basic(p, "Conv2d_2b_3x3", 32, 64, ConvSpec::new(3, 1)),
            basic(p, "Conv2d_3b_1x1", 64, 80, k1()),
            basic(p, "Conv2d_4a_3x3", 80, 192, ConvSpec::new(3, 1).pad(0, 0)),
        ];
        let mixed = vec![
            Mixed::a(&(p / "Mixed_5b"), 192, 32),
            Mixed::a(&(p / "Mixed_5c"), 256, 64),
            Mixed::a(&(p / "Mixed_5d"), 288, 64),
            Mixed::b(&(p / "Mixed_6a"), 288),
            Mixed::c(&(p / "Mixed_6b"), 768, 128),
            Mixed::c(&(p / "Mixed_6c"), 768, 160),
            Mixed::c(&(p / "Mixed_6d"), 768, 160),
            Mixed::c(&(p / "Mixed_6e"), 768, 192),
            Mixed::d(&(p / "Mixed_7a"), 768),
            Mixed::e(&(p / "Mixed_7b"), 1280),
            Mixed::e(&(p / "Mixed_7c"), 2048),
        ];
        InceptionV3 {
            stem,
            mixed,
            fc: Linear::new(&(p / "fc"), 2048, num_classes),
        }
    }
}

impl ModuleT for InceptionV3 {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let [c1a, c2a, c2b, c3b, c4a] = &self.stem;
        let x = xs
            .apply_t(c1a, train)
            .apply_t(c2a, train)
            .apply_t(c2b, train);
        let x = max_pool(&x).apply_t(c3b, train).apply_t(c4a, train);
        let mut x = max_pool(&x);
        for m in &self.mixed {
            x = x.apply_t(m, train);
        }
        global_avg_pool(&x).apply(&self.fc)
    }
}
