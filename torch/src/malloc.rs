//! glibc's allocator set up for libtorch on the CPU.
//!
//! A forward or backward pass allocates and frees activations of megabytes to tens of megabytes. By
//! default glibc gives memory back to the kernel as soon as the top of its heap holds more than twice
//! its mmap threshold, and maps every request above that threshold afresh, so each pass pays for page
//! faults and for the kernel zeroing pages it had just taken back: on two cores that was half of the
//! wall time of an EfficientNet-B0 inference pass (`bench/train`). PyTorch's CPU performance guide
//! recommends a caching allocator for the same reason; these two settings make glibc one.

/// The largest request glibc serves from its heap instead of a fresh mapping: the maximum it accepts
/// (`DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit), so that every activation but the very largest is reused.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Keeps freed heap memory for reuse: trimming off (`M_TRIM_THRESHOLD` = -1). The process keeps the
/// peak of its heap, which the next pass needs again anyway.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const NO_TRIM: libc::c_int = -1;

/// Makes glibc keep freed memory for reuse (see the module documentation). Call it once, first thing
/// in `main`; elsewhere than glibc on Linux it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; both values are within glibc's documented range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, NO_TRIM);
    }
}
