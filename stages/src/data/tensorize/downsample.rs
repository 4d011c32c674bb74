//! `max_reads_per_partition`: DeepVariant keeps at most this many of a partition's reads, chosen by
//! reservoir sampling (Algorithm R) with a fresh `numpy.random.RandomState(random_seed)` per partition,
//! before the realigner sees them (`make_examples_core.region_reads`). This draws the same numbers:
//! MT19937 seeded as numpy's legacy seeding does (`init_genrand`), and `randint(0, i + 1)` as numpy's
//! legacy bounded integers (a 32-bit draw masked to the next power of two, rejected until in range).
//! The tests pin outputs produced by numpy 2.4.

use rand_mt::Mt;

/// DeepVariant's `--random_seed` default.
pub const RANDOM_SEED: u32 = 609_314_161;

/// DeepVariant's `--max_reads_per_partition` default.
pub const MAX_READS_PER_PARTITION: usize = 1500;

/// At most `k` of `items`, as DeepVariant's `reservoir_sample(items, k, RandomState(seed))` returns
/// them (in its order: a replaced item takes the place of the one it replaces). All of them, in
/// order, when there are no more than `k`; `k = 0` keeps everything (downsampling off).
pub fn reservoir_sample<T>(items: Vec<T>, k: usize, seed: u32) -> Vec<T> {
    if k == 0 || items.len() <= k {
        return items;
    }
    let mut rng = Mt::new(seed);
    let mut sample: Vec<Option<T>> = Vec::with_capacity(k);
    for (i, item) in items.into_iter().enumerate() {
        if sample.len() < k {
            sample.push(Some(item));
        } else {
            let j = bounded(&mut rng, i as u64) as usize;
            if j < k {
                sample[j] = Some(item);
            }
        }
    }
    sample.into_iter().flatten().collect()
}

/// A uniform integer in `0..=max`, as numpy's legacy `RandomState.randint(0, max + 1)`.
fn bounded(rng: &mut Mt, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mask = u64::MAX >> max.leading_zeros();
    if max <= u64::from(u32::MAX) {
        loop {
            let value = u64::from(rng.next_u32()) & mask;
            if value <= max {
                return value;
            }
        }
    }
    loop {
        let value = rng.next_u64() & mask;
        if value <= max {
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, k: usize) -> Vec<usize> {
        reservoir_sample((0..n).collect(), k, RANDOM_SEED)
    }

    #[test]
    fn few_reads_are_all_kept_in_order() {
        assert_eq!(sample(7, 7), (0..7).collect::<Vec<_>>());
        assert_eq!(sample(3, 1500), [0, 1, 2]);
        assert_eq!(sample(5, 0), (0..5).collect::<Vec<_>>());
    }

    #[test]
    fn the_sample_is_numpys() {
        // numpy 2.4.6: reservoir_sample(range(n), k, np.random.RandomState(609314161)) as DeepVariant
        // writes it (nucleus/util/utils.py).
        assert_eq!(sample(10, 4), [8, 1, 5, 7]);
        assert_eq!(sample(20, 3), [17, 16, 11]);
        let s = sample(3000, MAX_READS_PER_PARTITION);
        assert_eq!(s.len(), 1500);
        assert_eq!(
            s[..12],
            [0, 1, 2349, 3, 4, 2508, 2817, 2798, 2915, 9, 10, 11]
        );
        assert_eq!(s[1494..], [2404, 1495, 1496, 1936, 1498, 1874]);
        assert_eq!(s.iter().sum::<usize>(), 2_259_488);
        let weighted: usize = s.iter().enumerate().map(|(i, x)| i * x).sum();
        assert_eq!(weighted % 1_000_003, 346_621);
    }
}
