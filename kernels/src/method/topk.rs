//! Deterministic top-k and cumulative-mass selection over score vectors.
//! Ties are broken toward the smaller index, so a selection never depends on
//! the sort algorithm or the thread schedule.

use std::cmp::Ordering;

/// A score type with a total order (f32 or f64).
pub(crate) trait Score: Copy {
    /// IEEE total order.
    fn total(&self, other: &Self) -> Ordering;
}

impl Score for f32 {
    fn total(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl Score for f64 {
    fn total(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

/// Descending by score, then ascending by index.
fn rank<T: Score>(scores: &[T], a: u32, b: u32) -> Ordering {
    scores[b as usize].total(&scores[a as usize]).then(a.cmp(&b))
}

/// Indices of the `k` largest scores (all of them when `k >= len`), sorted
/// ascending. `+inf` scores mark entries that must be kept.
pub(crate) fn top_k<T: Score>(scores: &[T], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).collect();
    if k < idx.len() {
        if k == 0 {
            return Vec::new();
        }
        idx.select_nth_unstable_by(k - 1, |&a, &b| rank(scores, a, b));
        idx.truncate(k);
    }
    idx.sort_unstable();
    idx
}

/// Maps an f32 to a u32 with the same order (IEEE total order), so that
/// selection can work on plain integers.
/// Negative values have every bit flipped, others only the sign bit
/// (branch-free, so the mapping vectorises).
pub(crate) fn order_key(x: f32) -> u32 {
    let u = x.to_bits();
    u ^ (((u as i32 >> 31) as u32) | 0x8000_0000)
}

/// Inverse of [`order_key`].
pub(crate) fn from_order_key(u: u32) -> f32 {
    f32::from_bits(u ^ ((((!u) as i32 >> 31) as u32) | 0x8000_0000))
}

/// Buffers [`kth_largest`] reuses between calls.
#[derive(Default)]
pub(crate) struct RadixScratch {
    keys: Vec<u32>,
    next: Vec<u32>,
}

/// The `k`-th largest of `scores` (`1 <= k <= len`, IEEE total order) by radix
/// selection on [`order_key`]s: per 8-bit digit, a histogram pass finds the
/// digit holding the `k`-th key and a filter pass keeps only those keys, so the
/// cost is a few linear passes over a shrinking set (several times faster
/// than `select_nth_unstable` on rows of thousands of scores).
pub(crate) fn kth_largest(scores: &[f32], k: usize, sc: &mut RadixScratch) -> f32 {
    assert!(k >= 1 && k <= scores.len(), "rank {k} of {} scores", scores.len());
    sc.keys.clear();
    sc.keys.extend(scores.iter().map(|&s| order_key(s)));
    let mut rank = k;
    for shift in [24u32, 16, 8, 0] {
        if sc.keys.len() <= 32 {
            let len = sc.keys.len();
            return from_order_key(*sc.keys.select_nth_unstable(len - rank).1);
        }
        let mut hist = [0usize; 256];
        for &x in &sc.keys {
            hist[((x >> shift) & 0xff) as usize] += 1;
        }
        let mut digit = 255;
        while hist[digit] < rank {
            rank -= hist[digit];
            digit -= 1;
        }
        if shift == 0 {
            // Every remaining key shares the upper 24 bits.
            return from_order_key((sc.keys[0] & !0xff) | digit as u32);
        }
        // Branch-free compaction: write every key, advance past the kept ones.
        sc.next.clear();
        sc.next.resize(sc.keys.len(), 0);
        let mut kept = 0;
        for &x in &sc.keys {
            sc.next[kept] = x;
            kept += (((x >> shift) & 0xff) as usize == digit) as usize;
        }
        sc.next.truncate(kept);
        std::mem::swap(&mut sc.keys, &mut sc.next);
    }
    unreachable!("the last digit returns")
}

/// The smallest set of entries, taken in descending order of score, whose
/// scores sum to at least `target` (all entries when the total falls short).
/// Returns the indices in the order taken.
pub(crate) fn cumulative_cover(scores: &[f64], target: f64) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).collect();
    idx.sort_unstable_by(|&a, &b| rank(scores, a, b));
    let mut sum = 0.0;
    let mut taken = 0;
    for &i in &idx {
        if sum >= target {
            break;
        }
        sum += scores[i as usize];
        taken += 1;
    }
    idx.truncate(taken);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_prefers_forced_then_large_then_early() {
        let s = [0.5, 0.9, f32::INFINITY, 0.9, 0.1];
        assert_eq!(top_k(&s, 2), vec![1, 2]);
        assert_eq!(top_k(&s, 3), vec![1, 2, 3]);
        assert_eq!(top_k(&s, 9), vec![0, 1, 2, 3, 4]);
        assert!(top_k(&s, 0).is_empty());
    }

    #[test]
    fn kth_largest_matches_sorting() {
        let mut sc = RadixScratch::default();
        // Many near-equal values (shared upper bits), negatives, zeros, infinities.
        let mut xs: Vec<f32> = (0..500).map(|i| 1.0 + (i % 37) as f32 * 1e-7).collect();
        xs.extend((0..300).map(|i| (i as f32 * 0.77).sin() * 40.0));
        xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1.0, 1.0]);
        let mut sorted = xs.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        for k in [1, 2, 7, 33, 100, 400, 500, 501, 700, xs.len()] {
            assert_eq!(
                kth_largest(&xs, k, &mut sc).to_bits(),
                sorted[k - 1].to_bits(),
                "k = {k}"
            );
        }
        assert_eq!(kth_largest(&[3.0, 1.0], 2, &mut sc), 1.0);
    }

    #[test]
    fn order_keys_preserve_float_order() {
        let xs = [f32::NEG_INFINITY, -3.5, -0.0, 0.0, 1e-30, 2.0, f32::INFINITY];
        for pair in xs.windows(2) {
            assert!(order_key(pair[0]) < order_key(pair[1]), "{pair:?}");
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn cover_stops_at_the_first_prefix_reaching_the_target() {
        let s = [0.05, 0.30, 0.40, 0.15, 0.10];
        assert_eq!(cumulative_cover(&s, 0.9), vec![2, 1, 3, 4]);
        assert_eq!(cumulative_cover(&s, 0.4), vec![2]);
        assert_eq!(cumulative_cover(&s, 2.0).len(), 5);
        assert!(cumulative_cover(&s, 0.0).is_empty());
    }
}
