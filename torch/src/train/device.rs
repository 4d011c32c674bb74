//! Device placement and the per-batch transform: u8 HWC images to padded, normalized f32 NCHW on the
//! device, plus the libtorch switches `tch` does not expose (deterministic algorithms, bf16 autocast).

use std::os::raw::c_void;

use anyhow::{bail, Result};
use tch::{nn, Device, Kind, Tensor};

use std::sync::Arc;

use crate::train::host_input::HostInput;
use crate::train::loader::{Batches, Dataset, HostBatch};
use crate::train::trainer::PREFETCH;
use pipe_stages::data::examples::ImageShape;
use pipe_stages::train::params::Sides;

// libtorch C++ entry points (Itanium ABI, x86_64/aarch64 Linux) that tch 0.24 does not wrap. They are
// exported by libtorch_cpu, which torch-sys links. `Context` methods take `this` as the first argument.
extern "C" {
    #[link_name = "_ZN2at13globalContextEv"]
    fn at_global_context() -> *mut c_void;
    #[link_name = "_ZN2at7Context21setDeterministicCuDNNEb"]
    fn at_set_deterministic_cudnn(ctx: *mut c_void, on: bool);
    #[link_name = "_ZN2at7Context26setDeterministicAlgorithmsEbb"]
    fn at_set_deterministic_algorithms(ctx: *mut c_void, on: bool, warn_only: bool);
    #[link_name = "_ZN2at7Context17setBenchmarkCuDNNEb"]
    fn at_set_benchmark_cudnn(ctx: *mut c_void, on: bool);
    #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
    fn at_set_autocast_dtype(device_type: i8, dtype: i8);
}

/// `c10::DeviceType::CUDA`.
const DEVICE_TYPE_CUDA: i8 = 1;
/// `c10::ScalarType::BFloat16`.
const SCALAR_TYPE_BFLOAT16: i8 = 15;

/// Deterministic mode as the study's `seed_everything` (cuDNN deterministic) plus
/// `torch.use_deterministic_algorithms(True, warn_only=True)` and no cuDNN benchmarking; off enables
/// benchmarking. cuBLAS also needs `CUBLAS_WORKSPACE_CONFIG`, set by the caller before CUDA starts.
pub fn set_deterministic(on: bool) {
    // SAFETY: plain setters on libtorch's process-wide context, which lives for the whole process.
    unsafe {
        let ctx = at_global_context();
        at_set_deterministic_cudnn(ctx, on);
        at_set_deterministic_algorithms(ctx, on, true);
        at_set_benchmark_cudnn(ctx, !on);
    }
}

/// Makes CUDA autocast use bfloat16 (libtorch's default is float16).
pub fn use_bf16_autocast() {
    // SAFETY: a setter of a process-wide libtorch setting with two enum arguments.
    unsafe { at_set_autocast_dtype(DEVICE_TYPE_CUDA, SCALAR_TYPE_BFLOAT16) }
}

/// CUDA device `devices[0]` when the task was given devices and CUDA works, else the CPU.
pub fn select(devices: &[usize]) -> Device {
    match devices.first() {
        Some(&d) if tch::Cuda::is_available() => Device::Cuda(d),
        _ => Device::Cpu,
    }
}

/// `x` with channels-last strides (same NCHW shape), as `x.contiguous(memory_format=torch.channels_last)`.
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Converts every 4-D variable (convolution weights) of `vs` to channels-last strides.
pub fn vars_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                let cl = channels_last(&v);
                v.set_data(&cl);
            }
        }
    });
}

/// A batch's images as the loader hands them over.
#[derive(Debug)]
pub enum Pixels {
    /// HWC u8 as stored, back to back: [`Transform`] pads and normalizes them on the device.
    Raw(Vec<u8>),
    /// The model input already made on the host, `[N, C, H, W]` f32 (see `host_input`).
    Ready(Tensor),
}

/// Starts gathering `rows` of `data` in batches on the loader's thread, [`PREFETCH`] ahead: the model's
/// input tensors made by `host` on the CPU, u8 pixels for a GPU (`host` is `None`), which
/// [`Transform::apply`] then makes into model inputs. Training and calling read examples this way.
pub fn gather(
    data: Arc<Dataset>,
    rows: Vec<usize>,
    batch_size: usize,
    host: Option<Arc<HostInput>>,
) -> Batches<Pixels> {
    Batches::start(
        data,
        rows,
        batch_size,
        PREFETCH,
        move |images| match &host {
            Some(h) => Pixels::Ready(h.prepare(images)),
            None => Pixels::Raw(images.concat()),
        },
    )
}

/// Turns gathered batches into model inputs on one device.
#[derive(Debug)]
pub struct Transform {
    shape: [i64; 3],
    pad: Sides,
    /// `[1, C, 1, 1]` mean and standard deviation on the device (None: no normalization).
    norm: Option<(Tensor, Tensor)>,
    device: Device,
    channels_last: bool,
}

impl Transform {
    /// A transform for images of `shape`, padded by `pad`, normalized by per-channel `stats`.
    pub fn new(
        shape: &ImageShape,
        pad: Sides,
        stats: Option<(&[f64], &[f64])>,
        device: Device,
        channels_last: bool,
    ) -> Self {
        let c = shape.channels.len() as i64;
        let norm = stats.map(|(mean, std)| {
            let t = |v: &[f64]| {
                Tensor::from_slice(v)
                    .to_kind(Kind::Float)
                    .view([1, c, 1, 1])
                    .to_device(device)
            };
            (t(mean), t(std))
        });
        Self {
            shape: [shape.height as i64, shape.width as i64, c],
            pad,
            norm,
            device,
            channels_last,
        }
    }

    /// Height and width after padding.
    pub fn output_size(&self) -> (i64, i64) {
        let p = self.pad;
        (
            self.shape[0] + (p.top + p.bottom) as i64,
            self.shape[1] + (p.left + p.right) as i64,
        )
    }

    /// `(images [B, C, H', W'] f32, labels [B] i64)` on the device: pad with zeros, then normalize
    /// (the order of `T.Compose([T.Pad(padding), T.Normalize(mean, std)])`). Pixels the loader already
    /// made into the model input on the host (see `host_input`) are only moved.
    pub fn apply(&self, batch: HostBatch<Pixels>) -> Result<(Tensor, Tensor)> {
        let n = batch.labels.len() as i64;
        let x = match batch.pixels {
            Pixels::Raw(images) => self.transform(&images, n)?,
            Pixels::Ready(x) => {
                let (h, w) = self.output_size();
                let expected = [n, self.shape[2], h, w];
                if x.size() != expected {
                    bail!(
                        "batch of {n} transformed images has shape {:?}, expected {expected:?}",
                        x.size()
                    );
                }
                let x = x.to_device(self.device);
                if self.channels_last {
                    channels_last(&x)
                } else {
                    x
                }
            }
        };
        let y = Tensor::from_slice(&batch.labels).to_device(self.device);
        Ok((x, y))
    }

    /// Raw HWC u8 `images` of `n` examples, padded and normalized on the device.
    fn transform(&self, images: &[u8], n: i64) -> Result<Tensor> {
        let [h, w, c] = self.shape;
        if images.len() as i64 != n * h * w * c {
            bail!(
                "batch of {n} images has {} bytes, expected {} ({h}x{w}x{c} each)",
                images.len(),
                n * h * w * c
            );
        }
        let raw = Tensor::from_slice(images)
            .view([n, h, w, c])
            .to_device(self.device);
        let x = raw.permute([0, 3, 1, 2]).to_kind(Kind::Float);
        let p = self.pad;
        let x = if p == Sides::default() {
            x
        } else {
            x.constant_pad_nd([p.left as i64, p.right as i64, p.top as i64, p.bottom as i64])
        };
        let x = match &self.norm {
            Some((mean, std)) => (x - mean) / std,
            None => x,
        };
        Ok(if self.channels_last {
            channels_last(&x)
        } else {
            x.contiguous()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::host_input::HostInput;
    use crate::train::host_transform::HostTransform;

    #[test]
    fn pads_the_named_sides_then_normalizes() {
        let shape = ImageShape {
            height: 2,
            width: 3,
            channels: vec!["a".into(), "b".into()],
        };
        // HWC pixels: channel a = 10, channel b = 20.
        let images: Vec<u8> = (0..6).flat_map(|_| [10u8, 20u8]).collect();
        let batch = || HostBatch {
            rows: vec![0],
            pixels: Pixels::Raw(images.clone()),
            labels: vec![1],
        };
        let pad = Sides {
            left: 1,
            right: 2,
            top: 3,
            bottom: 0,
        };
        let (mean, std) = ([5.0, 10.0], [5.0, 2.0]);
        let t = Transform::new(&shape, pad, Some((&mean, &std)), Device::Cpu, false);
        assert_eq!(t.output_size(), (5, 6));
        let (x, y) = t.apply(batch()).unwrap();
        assert_eq!(x.size(), vec![1, 2, 5, 6]);
        assert_eq!(y.int64_value(&[0]), 1);
        let at = |c: i64, r: i64, col: i64| x.double_value(&[0, c, r, col]);
        // Padding pixels are 0 before normalization: (0 - mean) / std.
        assert_eq!(at(0, 0, 0), -1.0);
        assert_eq!(at(1, 2, 1), -5.0);
        // The image sits below 3 rows of padding, after 1 column, leaving 2 on the right.
        assert_eq!(at(0, 3, 1), 1.0);
        assert_eq!(at(1, 4, 3), 5.0);
        assert_eq!(at(0, 3, 4), -1.0);
        assert_eq!(at(0, 3, 0), -1.0);
        let cl = Transform::new(&shape, pad, Some((&mean, &std)), Device::Cpu, true);
        let (xc, _) = cl.apply(batch()).unwrap();
        assert_eq!(xc.stride(), vec![60, 1, 12, 2]);
        assert!(xc.equal(&x));
        // Pixels transformed on the host arrive unchanged.
        let host = HostTransform::new(&shape, pad, Some((&mean, &std)), 1);
        let ready = HostBatch {
            rows: vec![0],
            pixels: Pixels::Ready(HostInput::new(host, 0).prepare(&[&images])),
            labels: vec![1],
        };
        assert!(t.apply(ready).unwrap().0.equal(&x));
    }

    #[test]
    fn host_transform_is_bit_identical_to_the_tensor_transform() {
        let shape = ImageShape {
            height: 5,
            width: 9,
            channels: (0..7).map(|c| format!("c{c}")).collect(),
        };
        // Every byte value in every channel, and statistics with inexact binary fractions.
        let images: Vec<u8> = (0..4 * 5 * 9 * 7).map(|i| (i * 37 % 256) as u8).collect();
        let mean = [12.3, 45.6, 78.9, 0.1, 200.5, 99.99, 3.3];
        let std = [7.7, 13.1, 0.3, 1.0, 55.5, 101.1, 2.2];
        let pad = Sides {
            left: 62,
            right: 62,
            top: 1,
            bottom: 2,
        };
        let labels = vec![0, 1, 2, 0];
        let device_side = Transform::new(&shape, pad, Some((&mean, &std)), Device::Cpu, false);
        let raw = HostBatch {
            rows: vec![0, 1, 2, 3],
            pixels: Pixels::Raw(images.clone()),
            labels: labels.clone(),
        };
        let host = HostTransform::new(&shape, pad, Some((&mean, &std)), 2);
        let ready = HostBatch {
            rows: vec![0, 1, 2, 3],
            pixels: Pixels::Ready(
                HostInput::new(host, 0).prepare(&images.chunks(5 * 9 * 7).collect::<Vec<_>>()),
            ),
            labels,
        };
        let (a, _) = device_side.apply(raw).unwrap();
        let (b, _) = device_side.apply(ready).unwrap();
        assert_eq!(a.size(), b.size());
        assert!(
            a.equal(&b),
            "max difference {}",
            (a - b).abs().max().double_value(&[])
        );
    }

    #[test]
    fn deterministic_switches_do_not_crash() {
        set_deterministic(true);
        use_bf16_autocast();
        set_deterministic(false);
        set_deterministic(true);
    }
}
