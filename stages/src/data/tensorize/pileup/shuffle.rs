//! Read downsampling order: `std::mt19937_64` and libstdc++ 12's `std::shuffle`, bit for bit.
//!
//! DeepVariant shuffles the read indices of a pileup with more reads than rows using
//! `std::shuffle(.., std::mt19937_64(2101079370))`. libstdc++ (GCC 11+) shuffles two positions per
//! random draw when the generator's range allows it (`__gen_two_uniform_ints`) and draws bounded integers
//! with Lemire's nearly-divisionless method on 128-bit products; DeepVariant ships the same algorithm
//! (`libstdcxx_shuffle.h`) so its images do not depend on the compiler. The tests pin outputs produced by
//! g++ 12.

/// DeepVariant's downsampling seed.
pub const DOWNSAMPLE_SEED: u64 = 2_101_079_370;

const N: usize = 312;
const M: usize = 156;
const MATRIX_A: u64 = 0xB502_6F5A_A966_19E9;
const UPPER_MASK: u64 = 0xFFFF_FFFF_8000_0000;
const LOWER_MASK: u64 = 0x7FFF_FFFF;

/// The 64-bit Mersenne Twister of C++11 (`std::mt19937_64`).
pub struct Mt19937_64 {
    state: [u64; N],
    index: usize,
}

impl Mt19937_64 {
    /// Seeds the generator as `std::mt19937_64(seed)` does.
    pub fn new(seed: u64) -> Self {
        let mut state = [0u64; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 6_364_136_223_846_793_005u64
                .wrapping_mul(prev ^ (prev >> 62))
                .wrapping_add(i as u64);
        }
        Self { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let x = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mut xa = x >> 1;
            if x & 1 != 0 {
                xa ^= MATRIX_A;
            }
            self.state[i] = self.state[(i + M) % N] ^ xa;
        }
        self.index = 0;
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= (y >> 29) & 0x5555_5555_5555_5555;
        y ^= (y << 17) & 0x71D6_7FFF_EDA6_0000;
        y ^= (y << 37) & 0xFFF7_EEE0_0000_0000;
        y ^ (y >> 43)
    }

    /// A uniform integer in `[0, range)` (Lemire's method, as libstdc++ for a 64-bit generator).
    fn below(&mut self, range: u64) -> u64 {
        let mut product = u128::from(self.next_u64()) * u128::from(range);
        let mut low = product as u64;
        if low < range {
            let threshold = range.wrapping_neg() % range;
            while low < threshold {
                product = u128::from(self.next_u64()) * u128::from(range);
                low = product as u64;
            }
        }
        (product >> 64) as u64
    }
}

/// Shuffles `items` exactly as libstdc++ 12's `std::shuffle` does with this generator.
pub fn shuffle<T>(items: &mut [T], rng: &mut Mt19937_64) {
    let n = items.len();
    if n < 2 {
        return;
    }
    // The generator's range is 2^64 - 1, so the paired path applies to every slice that fits in memory.
    let mut i = 1;
    if n.is_multiple_of(2) {
        let r = rng.below(2) as usize;
        items.swap(i, r);
        i += 1;
    }
    while i < n {
        let b0 = i as u64 + 1;
        let b1 = b0 + 1;
        let x = rng.below(b0 * b1);
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
        shuffle(&mut order, &mut Mt19937_64::new(DOWNSAMPLE_SEED));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_64_matches_the_cpp_standard() {
        let mut g = Mt19937_64::new(5489);
        assert_eq!(g.next_u64(), 14_514_284_786_278_117_030);
        let mut g = Mt19937_64::new(5489);
        let mut x = 0;
        for _ in 0..10_000 {
            x = g.next_u64();
        }
        // [rand.predef]: the 10000th invocation of a default-constructed mt19937_64.
        assert_eq!(x, 9_981_545_732_273_789_042);
    }

    fn shuffled(n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        shuffle(&mut v, &mut Mt19937_64::new(DOWNSAMPLE_SEED));
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
