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
    fn cover_stops_at_the_first_prefix_reaching_the_target() {
        let s = [0.05, 0.30, 0.40, 0.15, 0.10];
        assert_eq!(cumulative_cover(&s, 0.9), vec![2, 1, 3, 4]);
        assert_eq!(cumulative_cover(&s, 0.4), vec![2]);
        assert_eq!(cumulative_cover(&s, 2.0).len(), 5);
        assert!(cumulative_cover(&s, 0.0).is_empty());
    }
}
