//! The tail effect: thread blocks run in waves of `SMs x blocks per SM` slots, and a partial or
//! unequal last wave leaves slots idle. Blocks are scheduled longest-first (LPT) onto the slot that
//! frees first, which is what a causal kernel that launches its longest query tiles first (as
//! FlashAttention does) achieves; the makespan over the perfectly balanced time is the tail factor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The schedule of one kernel's thread blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveSchedule {
    /// Concurrent slots (`SMs x blocks per SM`).
    pub slots: u64,
    /// Thread blocks.
    pub blocks: u64,
    /// `ceil(blocks / slots)`.
    pub waves: u64,
    /// Makespan over total work / slots, >= 1.
    pub tail_factor: f64,
}

/// Schedules `groups` of (work per block, block count) longest-first onto `slots` slots.
/// Work is in any unit (tiles); blocks with no work take no time.
pub fn schedule(groups: &[(f64, u64)], slots: u64) -> WaveSchedule {
    let slots = slots.max(1);
    let blocks: u64 = groups.iter().map(|g| g.1).sum();
    let total: f64 = groups.iter().map(|(w, c)| w * *c as f64).sum();
    let waves = blocks.div_ceil(slots);
    if total <= 0.0 {
        return WaveSchedule {
            slots,
            blocks,
            waves,
            tail_factor: 1.0,
        };
    }
    let mut sorted: Vec<(f64, u64)> = groups.iter().copied().filter(|g| g.0 > 0.0 && g.1 > 0).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Loads in fixed point (1e-6 tile) so the heap orders integers.
    let mut heap: BinaryHeap<Reverse<u64>> = (0..slots.min(blocks.max(1))).map(|_| Reverse(0)).collect();
    for (w, count) in sorted {
        let units = (w * 1e6).round() as u64;
        for _ in 0..count {
            if let Some(Reverse(load)) = heap.pop() {
                heap.push(Reverse(load + units));
            }
        }
    }
    let makespan = heap.into_iter().map(|Reverse(l)| l).max().unwrap_or(0) as f64 / 1e6;
    WaveSchedule {
        slots,
        blocks,
        waves,
        tail_factor: (makespan / (total / slots as f64)).max(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_waves_have_no_tail() {
        let s = schedule(&[(2.0, 264)], 264);
        assert_eq!((s.waves, s.tail_factor), (1, 1.0));
        let s = schedule(&[(1.0, 528)], 264);
        assert_eq!((s.waves, s.tail_factor), (2, 1.0));
    }

    #[test]
    fn a_partial_last_wave_costs_a_whole_wave() {
        // 265 equal blocks on 264 slots: two waves of work for 265/264 waves' worth.
        let s = schedule(&[(1.0, 265)], 264);
        assert_eq!(s.waves, 2);
        assert!((s.tail_factor - 2.0 * 264.0 / 265.0).abs() < 1e-9, "{s:?}");
        // Fewer blocks than slots: the time of one block against a fraction of one.
        let s = schedule(&[(1.0, 66)], 264);
        assert!((s.tail_factor - 4.0).abs() < 1e-9);
    }

    #[test]
    fn longest_first_balances_causal_work() {
        // Causal: blocks of 1..=8 tiles on 4 slots: LPT gives loads 9,9,9,9 -> no tail.
        let groups: Vec<(f64, u64)> = (1..=8).map(|t| (t as f64, 1)).collect();
        let s = schedule(&groups, 4);
        assert!((s.tail_factor - 1.0).abs() < 1e-9, "{s:?}");
        // 3 slots: total 36 -> 12 each ideally; LPT: 8,7,6 | 5->6:11 | 4->7:11 | 3->8:11 | 2->11:13 | 1->11:12
        // -> makespan 13 over 12.
        let s = schedule(&groups, 3);
        assert!((s.tail_factor - 13.0 / 12.0).abs() < 1e-9, "{s:?}");
    }
}
