//! The model input of a CPU run, made on the loader's thread: a batch's u8 images padded and
//! normalized by a [`HostTransform`] straight into the memory of its `[N, C, H, W]` f32 input tensor.
//! The tensors of batches the trainer has finished with are written again, and only where they change
//! (see [`Written`]): the padding, the same values for every image, stays in place, and so do rows
//! without reads. A batch of 32 study images (100x221 padded to 224x224, 45 MB of floats) costs less
//! than half a pass over its memory, with no copy into a tensor and no fresh pages for the kernel to
//! fault in and zero (45 MB is above the size glibc serves from its heap, so every new tensor would be
//! a fresh mapping).

use std::sync::Mutex;

use tch::{Device, Kind, Tensor};

use crate::train::host_transform::{HostTransform, Written};

/// Makes CPU input tensors from u8 batches and reuses those given back.
#[derive(Debug)]
pub struct HostInput {
    transform: HostTransform,
    /// Channels, height and width of one transformed image.
    chw: [i64; 3],
    tensors: Mutex<Tensors>,
    /// At most this many tensors kept given back, and this many tracked given out.
    keep: usize,
}

/// The tensors a [`HostInput`] made, each with what its images hold. Holding a handle keeps each
/// one's storage alive, so a tensor given back is known for one of these by its address.
#[derive(Debug, Default)]
struct Tensors {
    /// Given out by `prepare`, oldest first.
    lent: Vec<(Tensor, Vec<Written>)>,
    /// Given back by `recycle`, ready to be written again.
    free: Vec<(Tensor, Vec<Written>)>,
}

impl HostInput {
    /// Input tensors made by `transform` for a loader that gathers `prefetch` batches ahead: it keeps
    /// as many tensors as can be in use at once, those batches, the one being made and the one in the
    /// model.
    pub fn new(transform: HostTransform, prefetch: usize) -> Self {
        let (h, w) = transform.output_size();
        Self {
            chw: [transform.channels() as i64, h as i64, w as i64],
            transform,
            tensors: Mutex::new(Tensors::default()),
            keep: prefetch + 2,
        }
    }

    /// `images` (HWC u8 each) as a contiguous `[N, C, H, W]` f32 tensor on the CPU.
    pub fn prepare(&self, images: &[&[u8]]) -> Tensor {
        let n = images.len() as i64;
        let [c, h, w] = self.chw;
        let reused = {
            let mut tensors = self.lock();
            let i = tensors.free.iter().position(|(t, _)| t.size()[0] == n);
            i.map(|i| tensors.free.swap_remove(i))
        };
        let (x, mut written) = reused.unwrap_or_else(|| {
            let x = Tensor::zeros([n, c, h, w], (Kind::Float, Device::Cpu));
            (x, vec![Written::default(); images.len()])
        });
        let len = (n * c * h * w) as usize;
        if len == 0 {
            return x;
        }
        // SAFETY: `x` is a contiguous f32 CPU tensor of exactly `len` initialized elements (`len` > 0,
        // so its data pointer is valid): made just above, or made here earlier and given back
        // (`recycle` takes back only those, with their shape and strides unchanged). No other handle
        // reads or writes that storage: a new tensor has none; `recycle`'s contract is that its caller
        // keeps none, and `lent` no longer holds it. The slice ends before `x` is returned.
        let out = unsafe { std::slice::from_raw_parts_mut(x.data_ptr() as *mut f32, len) };
        self.transform.apply_into(images, out, &mut written);
        let mut tensors = self.lock();
        tensors.lent.push((x.shallow_clone(), written));
        if tensors.lent.len() > self.keep {
            drop(tensors.lent.remove(0)); // never given back: no longer reused
        }
        x
    }

    /// Gives back the input tensor of a finished batch, for a later batch to be written into. Only
    /// tensors this made are taken back (others are dropped), and they must hold what `prepare` wrote
    /// (nothing wrote into them since): a later batch rewrites only what changes.
    ///
    /// # Safety
    /// Nothing may read or write `x`'s storage after this call: the caller gives up its last handle
    /// (no clone, view or autograd graph that saved it may remain), since the loader's thread will
    /// overwrite it.
    pub unsafe fn recycle(&self, x: Tensor) {
        let mut tensors = self.lock();
        let ours = tensors.lent.iter().position(|(t, _)| {
            t.data_ptr() == x.data_ptr() && t.size() == x.size() && t.stride() == x.stride()
        });
        if let Some(i) = ours {
            let lent = tensors.lent.remove(i);
            if tensors.free.len() < self.keep {
                tensors.free.push(lent);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tensors> {
        self.tensors.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipe_stages::data::examples::ImageShape;
    use pipe_stages::train::params::Sides;

    fn shape() -> ImageShape {
        ImageShape {
            height: 2,
            width: 3,
            channels: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn writes_the_transform_into_the_tensor_and_reuses_finished_ones() {
        let pad = Sides {
            left: 1,
            right: 0,
            top: 0,
            bottom: 1,
        };
        let stats = ([1.0, 2.0], [2.0, 4.0]);
        let new_input = || {
            HostInput::new(
                HostTransform::new(&shape(), pad, Some((&stats.0, &stats.1)), 1),
                0,
            )
        };
        let input = new_input();
        // A new tensor is written whole (that path equals the device transform: see `device`'s tests).
        let written_whole = |images: &[u8]| {
            let x = new_input().prepare(&images.chunks(12).collect::<Vec<_>>());
            Vec::<f32>::try_from(x.reshape([-1])).unwrap()
        };
        // Image 0 has a row of zeros, so the reused tensor skips it the second time.
        let mut images: Vec<u8> = (0..24).map(|i| (i * 11) as u8).collect();
        images[..6].fill(0);
        let x = input.prepare(&images.chunks(12).collect::<Vec<_>>());
        assert_eq!(x.size(), [2, 2, 3, 4]);
        let values: Vec<f32> = Vec::try_from(x.reshape([-1])).unwrap();
        assert_eq!(values, written_whole(&images));
        let ptr = x.data_ptr();
        unsafe { input.recycle(x) };
        // The next batch of two is written into the same memory, with the new values.
        let mut other: Vec<u8> = images.iter().map(|v| v.wrapping_add(1)).collect();
        other[..6].fill(0);
        let y = input.prepare(&other.chunks(12).collect::<Vec<_>>());
        assert_eq!(y.data_ptr(), ptr);
        let values: Vec<f32> = Vec::try_from(y.reshape([-1])).unwrap();
        assert_eq!(values, written_whole(&other));
        // A batch of another size gets its own tensor.
        unsafe { input.recycle(y) };
        let z = input.prepare(&[&images[..12]]);
        assert_eq!(z.size(), [1, 2, 3, 4]);
        assert_ne!(z.data_ptr(), ptr);
    }

    #[test]
    fn takes_back_only_its_own_tensors_up_to_its_limit() {
        // Prefetching nothing: two tensors in use at most.
        let input = HostInput::new(HostTransform::new(&shape(), Sides::default(), None, 1), 0);
        let image = [0u8; 12];
        let (a, b, c) = (
            input.prepare(&[&image]),
            input.prepare(&[&image]),
            input.prepare(&[&image]),
        );
        // Tracked: the last two given out (the first is forgotten).
        assert_eq!(input.lock().lent.len(), 2);
        unsafe {
            // A tensor of the same shape made elsewhere, and a view of one of ours: not taken.
            input.recycle(Tensor::zeros([1, 2, 2, 3], (Kind::Float, Device::Cpu)));
            input.recycle(c.permute([0, 1, 3, 2]).contiguous().view([1, 2, 2, 3]));
            assert!(input.lock().free.is_empty());
            input.recycle(a);
            assert!(input.lock().free.is_empty(), "forgotten, so not taken back");
            input.recycle(b);
            input.recycle(c);
        }
        assert_eq!(input.lock().free.len(), 2);
        assert!(input.lock().lent.is_empty());
    }
}
