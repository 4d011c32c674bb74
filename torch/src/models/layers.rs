//! Building blocks shared by the model families: counted convolution and linear layers, batch and
//! layer norms, pooling helpers.
//!
//! [`Conv`] and [`Linear`] add their multiply-adds to the thread's counter when a counting pass is active
//! (see [`count_macs`]), which is how [`super::summarize`] measures forward FLOPs.

use std::cell::Cell;
use tch::nn::{self, Init, ModuleT};
use tch::Tensor;

thread_local! {
    static MACS: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Runs `f` with multiply-add counting active on this thread and returns the multiply-adds recorded.
pub(crate) fn count_macs(f: impl FnOnce()) -> i64 {
    let previous = MACS.with(|m| m.replace(Some(0)));
    f();
    MACS.with(|m| m.replace(previous)).unwrap_or(0)
}

fn record(macs: i64) {
    MACS.with(|m| {
        if let Some(total) = m.get() {
            m.set(Some(total + macs));
        }
    });
}

/// Shape of a 2-d convolution: kernel, stride, padding, groups and bias.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvSpec {
    /// Kernel height and width.
    pub kernel: [i64; 2],
    /// Stride (height, width).
    pub stride: [i64; 2],
    /// Zero padding (height, width).
    pub padding: [i64; 2],
    /// Number of groups.
    pub groups: i64,
    /// Whether the convolution has a bias.
    pub bias: bool,
}

impl ConvSpec {
    /// A square kernel `k` with stride `s` and timm's symmetric padding `(s - 1 + k - 1) / 2`, no bias.
    pub fn new(k: i64, s: i64) -> Self {
        let pad = (s - 1 + k - 1) / 2;
        ConvSpec {
            kernel: [k, k],
            stride: [s, s],
            padding: [pad, pad],
            groups: 1,
            bias: false,
        }
    }

    /// The same spec with explicit padding.
    pub fn pad(self, ph: i64, pw: i64) -> Self {
        ConvSpec {
            padding: [ph, pw],
            ..self
        }
    }

    /// The same spec with `groups` groups.
    pub fn groups(self, groups: i64) -> Self {
        ConvSpec { groups, ..self }
    }

    /// The same spec with a bias.
    pub fn bias(self) -> Self {
        ConvSpec { bias: true, ..self }
    }

    /// A rectangular kernel of height `kh` and width `kw` with stride 1 and "same" padding, no bias.
    pub fn rect(kh: i64, kw: i64) -> Self {
        ConvSpec {
            kernel: [kh, kw],
            stride: [1, 1],
            padding: [kh / 2, kw / 2],
            groups: 1,
            bias: false,
        }
    }
}

/// A 2-d convolution with variables `weight` (and `bias`) that counts its multiply-adds.
#[derive(Debug)]
pub(crate) struct Conv {
    weight: Tensor,
    bias: Option<Tensor>,
    spec: ConvSpec,
}

impl Conv {
    /// Creates the convolution's variables under `p`.
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64, spec: ConvSpec) -> Self {
        let dims = [c_out, c_in / spec.groups, spec.kernel[0], spec.kernel[1]];
        let weight = p.var("weight", &dims, nn::init::DEFAULT_KAIMING_UNIFORM);
        let bias = spec.bias.then(|| p.var("bias", &[c_out], Init::Const(0.)));
        Conv { weight, bias, spec }
    }
}

impl nn::Module for Conv {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let s = &self.spec;
        let out = xs.conv2d(
            &self.weight,
            self.bias.as_ref(),
            s.stride,
            s.padding,
            [1, 1],
            s.groups,
        );
        let per_output = self.weight.size()[1..].iter().product::<i64>();
        record(out.numel() as i64 * per_output);
        out
    }
}

/// A fully connected layer with variables `weight` and `bias` that counts its multiply-adds.
#[derive(Debug)]
pub(crate) struct Linear {
    inner: nn::Linear,
    in_features: i64,
}

impl Linear {
    /// Creates the layer's variables under `p`.
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64) -> Self {
        Linear {
            inner: nn::linear(p, c_in, c_out, Default::default()),
            in_features: c_in,
        }
    }
}

impl nn::Module for Linear {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let out = xs.apply(&self.inner);
        record(out.numel() as i64 * self.in_features);
        out
    }
}

/// Batch norm over channels with the given epsilon (variables `weight`, `bias`, `running_mean`,
/// `running_var`), initialised as torch does: weight 1, bias 0.
pub(crate) fn batch_norm(p: &nn::Path, c: i64, eps: f64) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        eps,
        ws_init: Init::Const(1.),
        ..Default::default()
    };
    nn::batch_norm2d(p, c, config)
}

/// Layer norm over the channels of an NCHW tensor (timm's `LayerNorm2d`), or over the last dimension of
/// a channels-last tensor.
#[derive(Debug)]
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    channels_first: bool,
}

impl LayerNorm {
    /// Creates a layer norm over `c` channels under `p`.
    pub fn new(p: &nn::Path, c: i64, eps: f64, channels_first: bool) -> Self {
        LayerNorm {
            weight: p.var("weight", &[c], Init::Const(1.)),
            bias: p.var("bias", &[c], Init::Const(0.)),
            eps,
            channels_first,
        }
    }
}

impl nn::Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let c = self.weight.size()[0];
        if self.channels_first {
            xs.permute([0, 2, 3, 1])
                .layer_norm([c], Some(&self.weight), Some(&self.bias), self.eps, true)
                .permute([0, 3, 1, 2])
        } else {
            xs.layer_norm([c], Some(&self.weight), Some(&self.bias), self.eps, true)
        }
    }
}

/// A convolution, a batch norm and optionally an activation, as timm's `ConvNormAct` and friends.
#[derive(Debug)]
pub(crate) struct ConvBn {
    conv: Conv,
    bn: nn::BatchNorm,
    act: Act,
}

/// Activation applied after a normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// No activation.
    None,
    /// max(x, 0).
    Relu,
    /// x * sigmoid(x).
    Silu,
}

impl Act {
    /// Applies the activation to a tensor nothing else reads, in place where that is safe (as timm's
    /// `inplace=True` activations): ReLU always (its gradient needs only its output), SiLU when no
    /// gradient is recorded (inference), which saves a buffer per activation.
    pub fn apply(self, mut xs: Tensor) -> Tensor {
        match self {
            Act::None => xs,
            Act::Relu => xs.relu_(),
            Act::Silu if !xs.requires_grad() => xs.silu_(),
            Act::Silu => xs.silu(),
        }
    }
}

impl ConvBn {
    /// Creates a convolution at `p / conv_name` followed by a batch norm at `p / bn_name`.
    #[allow(clippy::too_many_arguments)]
    pub fn named(
        p: &nn::Path,
        conv_name: &str,
        bn_name: &str,
        c_in: i64,
        c_out: i64,
        spec: ConvSpec,
        eps: f64,
        act: Act,
    ) -> Self {
        ConvBn {
            conv: Conv::new(&(p / conv_name), c_in, c_out, spec),
            bn: batch_norm(&(p / bn_name), c_out, eps),
            act,
        }
    }

    /// Creates the usual `p.conv` / `p.bn` pair.
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64, spec: ConvSpec, eps: f64, act: Act) -> Self {
        Self::named(p, "conv", "bn", c_in, c_out, spec, eps, act)
    }
}

impl ConvBn {
    /// Sets the batch norm's weight to zero, so that a residual block starts as the identity (timm's
    /// `zero_init_last`).
    pub fn zero_init(self) -> Self {
        if let Some(ws) = &self.bn.ws {
            let _ = tch::no_grad(|| ws.shallow_clone().zero_());
        }
        self
    }
}

impl ModuleT for ConvBn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.act
            .apply(xs.apply(&self.conv).apply_t(&self.bn, train))
    }
}

/// Squeeze-and-excitation: a mean over space, 1x1 conv `fc1`/`conv_reduce`, activation, 1x1 conv
/// `fc2`/`conv_expand`, sigmoid gate.
#[derive(Debug)]
pub(crate) struct SqueezeExcite {
    reduce: Conv,
    expand: Conv,
    act: Act,
}

impl SqueezeExcite {
    /// Creates the two 1x1 convolutions named `reduce_name` and `expand_name` under `p`.
    pub fn new(p: &nn::Path, names: [&str; 2], c: i64, rd: i64, act: Act) -> Self {
        let spec = ConvSpec::new(1, 1).bias();
        SqueezeExcite {
            reduce: Conv::new(&(p / names[0]), c, rd, spec),
            expand: Conv::new(&(p / names[1]), rd, c, spec),
            act,
        }
    }
}

impl nn::Module for SqueezeExcite {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let s = xs.mean_dim([2i64, 3].as_slice(), true, None);
        let s = self
            .act
            .apply(s.apply(&self.reduce))
            .apply(&self.expand)
            .sigmoid();
        xs * s
    }
}

/// Global average pooling of an NCHW tensor to [N, C].
pub(crate) fn global_avg_pool(xs: &Tensor) -> Tensor {
    xs.mean_dim([2i64, 3].as_slice(), false, None)
}

/// timm's `make_divisible`: rounds `v` to a multiple of `divisor`, at least `divisor`, going up one step
/// when rounding down lost more than `1 - round_limit` of the value.
pub(crate) fn make_divisible(v: f64, divisor: i64, round_limit: f64) -> i64 {
    let d = divisor as f64;
    let mut new_v = divisor.max(((v + d / 2.0) as i64 / divisor) * divisor);
    if (new_v as f64) < round_limit * v {
        new_v += divisor;
    }
    new_v
}
