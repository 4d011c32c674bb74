//! libstdc++'s `std::sort` (introsort), step for step, so that elements that compare equal end up in
//! the order DeepVariant's C++ leaves them in.
//!
//! DeepVariant 1.5 sorts a pileup's rows with `std::sort` on (haplotype, alignment start) only; rows of
//! reads starting at the same position keep whatever order introsort gives them, which depends on the
//! order the reads arrive in. The steps follow libstdc++ (GCC 9 to 13, `bits/stl_algo.h`): quicksort
//! with the median of the second, middle and last elements moved to the front as pivot, down to runs of
//! 16, a heap sort when the recursion is deeper than `2 log2 n`, then one insertion sort over everything.

/// Runs below this length are left to the final insertion sort (`_S_threshold`).
const THRESHOLD: usize = 16;

/// Sorts `v` as `std::sort(v.begin(), v.end(), less)` does.
pub fn sort_by<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    if v.len() < 2 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - v.len().leading_zeros()) as usize;
    introsort_loop(v, depth, less);
    final_insertion_sort(v, less);
}

fn introsort_loop<T>(mut v: &mut [T], mut depth: usize, less: &impl Fn(&T, &T) -> bool) {
    while v.len() > THRESHOLD {
        if depth == 0 {
            heap_sort(v, less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, less);
        let (left, right) = v.split_at_mut(cut);
        introsort_loop(right, depth, less);
        v = left;
    }
}

/// `__unguarded_partition_pivot`: the median of v[1], v[mid], v[last] goes to v[0], then the rest is
/// partitioned around it; returns the cut.
fn partition_pivot<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) -> usize {
    let (a, b, c) = (1, v.len() / 2, v.len() - 1);
    let median = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(0, median);
    let (mut first, mut last) = (1, v.len());
    loop {
        while less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

/// `__final_insertion_sort`.
fn final_insertion_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = v.len();
    for i in 1..n {
        if i >= THRESHOLD || !less(&v[i], &v[0]) {
            // `__unguarded_linear_insert`: move v[i] left past every larger element.
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        } else {
            // A new minimum within the first 16: rotate it to the front.
            v[..=i].rotate_right(1);
        }
    }
}

/// `std::__partial_sort(first, last, last)`: `make_heap`, then `sort_heap` by repeated `pop_heap`.
fn heap_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = v.len();
    for parent in (0..n / 2).rev() {
        adjust_heap(v, parent, n, less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        adjust_heap(&mut v[..end], 0, end, less);
    }
}

/// `std::__adjust_heap` on `v[..len]` for the element at `hole`: sift the hole down to a leaf by always
/// taking the larger child (the right one unless the left is strictly larger), then push the value back
/// up (`__push_heap`).
fn adjust_heap<T>(v: &mut [T], mut hole: usize, len: usize, less: &impl Fn(&T, &T) -> bool) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v.swap(hole, child);
        hole = child;
    }
    if len.is_multiple_of(2) && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v.swap(hole, child - 1);
        hole = child - 1;
    }
    // The value now at `hole` is the one that started at `top`; push it up while its parent is less.
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&v[parent], &v[hole]) {
            break;
        }
        v.swap(hole, parent);
        hole = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_keys(keys: &[u32]) -> Vec<(u32, usize)> {
        let mut v: Vec<(u32, usize)> = keys.iter().copied().zip(0..).collect();
        sort_by(&mut v, &|a: &(u32, usize), b: &(u32, usize)| a.0 < b.0);
        v
    }

    #[test]
    fn sorts_like_a_stable_sort_on_the_keys() {
        let keys: Vec<u32> = (0..300u32).map(|i| (i * 7919) % 61).collect();
        let got = sorted_keys(&keys);
        let mut want = keys.clone();
        want.sort();
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), want);
    }

    #[test]
    fn heap_sort_sorts() {
        let mut v: Vec<u32> = (0..101u32).map(|i| (i * 37) % 101).collect();
        heap_sort(&mut v, &|a: &u32, b: &u32| a < b);
        assert_eq!(v, (0..101).collect::<Vec<_>>());
        let mut v: Vec<u32> = (0..100u32).map(|i| (i * 37) % 100).collect();
        heap_sort(&mut v, &|a: &u32, b: &u32| a < b);
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn short_runs_are_insertion_sorted_stably() {
        let got = sorted_keys(&[3, 1, 3, 1, 2, 3]);
        assert_eq!(got, [(1, 1), (1, 3), (2, 4), (3, 0), (3, 2), (3, 5)]);
    }
}
