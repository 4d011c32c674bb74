//! Read downsampling order: `std::mt19937_64` and libstdc++ 12's `std::shuffle`, bit for bit.
//!
//! DeepVariant shuffles the read indices of a pileup with more reads than rows using
//! `std::shuffle(.., std::mt19937_64(2101079370))`. libstdc++ (GCC 11+) shuffles two positions per
//! random draw when the generator's range allows it (`__gen_two_uniform_ints`) and draws bounded integers
//! with Lemire's nearly-divisionless method on 128-bit products; DeepVariant ships the same algorithm
//! (`libstdcxx_shuffle.h`) so its images do not depend on the compiler. The tests pin outputs produced by
//! g++ 12. The generator is `rand_mt`'s `Mt64`, the same MT19937-64.

use rand_mt::Mt64;

/// DeepVariant's downsampling seed.
pub const DOWNSAMPLE_SEED: u64 = 2_101_079_370;

/// A uniform integer in `[0, range)` from `std::mt19937_64` (Lemire's method, as libstdc++ draws one
/// for a 64-bit generator).
fn below(rng: &mut Mt64, range: u64) -> u64 {
    let mut product = u128::from(rng.next_u64()) * u128::from(range);
    let mut low = product as u64;
    if low < range {
        let threshold = range.wrapping_neg() % range;
        while low < threshold {
            product = u128::from(rng.next_u64()) * u128::from(range);
            low = product as u64;
        }
    }
    (product >> 64) as u64
}

/// Shuffles `items` exactly as libstdc++ 12's `std::shuffle` does with this generator.
pub fn shuffle<T>(items: &mut [T], rng: &mut Mt64) {
    let n = items.len();
    if n < 2 {
        return;
    }
    // The generator's range is 2^64 - 1, so the paired path applies to every slice that fits in memory.
    let mut i = 1;
    if n.is_multiple_of(2) {
        let r = below(rng, 2) as usize;
        items.swap(i, r);
        i += 1;
    }
    while i < n {
        let b0 = i as u64 + 1;
        let b1 = b0 + 1;
        let x = below(rng, b0 * b1);
        items.swap(i, (x / b1) as usize);
        i += 1;
        items.swap(i, (x % b1) as usize);
        i += 1;
    }
}

/// The order in which DeepVariant considers `n` reads: identity when `n <= rows`, else the shuffled
/// indices `0..n`.
pub fn read_order(n: usize, rows: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if n > rows {
        shuffle(&mut order, &mut Mt64::new(DOWNSAMPLE_SEED));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_64_matches_the_cpp_standard() {
        let mut g = Mt64::new(5489);
        assert_eq!(g.next_u64(), 14_514_284_786_278_117_030);
        let mut g = Mt64::new(5489);
        let mut x = 0;
        for _ in 0..10_000 {
            x = g.next_u64();
        }
        // [rand.predef]: the 10000th invocation of a default-constructed mt19937_64.
        assert_eq!(x, 9_981_545_732_273_789_042);
    }

    fn shuffled(n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        shuffle(&mut v, &mut Mt64::new(DOWNSAMPLE_SEED));
        v
    }

    #[test]
    fn shuffle_matches_libstdcxx_12() {
        // Produced with g++ 12.2: std::shuffle(v.begin(), v.end(), std::mt19937_64(2101079370)).
        assert_eq!(shuffled(2), [0, 1]);
        assert_eq!(shuffled(3), [2, 1, 0]);
        assert_eq!(shuffled(96)[..10], [32, 69, 31, 60, 53, 68, 49, 39, 76, 54]);
        assert_eq!(shuffled(97)[..10], [33, 7, 12, 61, 80, 96, 18, 70, 77, 86]);
        assert_eq!(
            shuffled(120)[..10],
            [32, 69, 31, 60, 53, 68, 107, 39, 76, 54]
        );
        assert_eq!(
            shuffled(120)[110..],
            [71, 55, 77, 18, 108, 46, 88, 11, 34, 89]
        );
    }

    #[test]
    fn read_order_keeps_small_pileups_in_order() {
        assert_eq!(read_order(95, 95), (0..95).collect::<Vec<_>>());
        assert_eq!(read_order(96, 95), shuffled(96));
    }
}
