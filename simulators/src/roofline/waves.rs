//! The tail effect: thread blocks run in waves of `SMs x blocks per SM` slots, and a partial or
//! unequal last wave leaves slots idle. Each block goes to the slot that frees first, in launch
//! order: [`schedule`] takes them longest-first (LPT), what a kernel that sorts all its query tiles
//! by work achieves; [`schedule_in_order`] takes them in the kernel's grid order (sparselab's
//! kernels: head by head, longest query tile first within a head). The makespan over the perfectly
//! balanced time is the tail factor.

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
    let order = sorted
        .into_iter()
        .flat_map(|(w, count)| std::iter::repeat_n(w, count as usize));
    let makespan = list_makespan(order, slots.min(blocks.max(1)));
    WaveSchedule {
        slots,
        blocks,
        waves,
        tail_factor: (makespan / (total / slots as f64)).max(1.0),
    }
}

/// Schedules blocks of work `works` (tiles) in the given launch order onto `slots` slots, each to
/// the slot that frees first (the hardware's block dispatch); blocks with no work take no time.
pub fn schedule_in_order(works: &[f64], slots: u64) -> WaveSchedule {
    let slots = slots.max(1);
    let blocks = works.len() as u64;
    let total: f64 = works.iter().sum();
    let waves = blocks.div_ceil(slots);
    if total <= 0.0 {
        return WaveSchedule {
            slots,
            blocks,
            waves,
            tail_factor: 1.0,
        };
    }
    let makespan = list_makespan(works.iter().copied().filter(|w| *w > 0.0), slots.min(blocks.max(1)));
    WaveSchedule {
        slots,
        blocks,
        waves,
        tail_factor: (makespan / (total / slots as f64)).max(1.0),
    }
}

/// Greedy list scheduling: each work in turn to the least-loaded of `slots`; the largest load.
fn list_makespan(works: impl Iterator<Item = f64>, slots: u64) -> f64 {
    // Loads in fixed point (1e-6 tile) so the heap orders integers.
    let mut heap: BinaryHeap<Reverse<u64>> = (0..slots.max(1)).map(|_| Reverse(0)).collect();
    for w in works {
        let units = (w * 1e6).round() as u64;
        if let Some(Reverse(load)) = heap.pop() {
            heap.push(Reverse(load + units));
        }
    }
    heap.into_iter().map(|Reverse(l)| l).max().unwrap_or(0) as f64 / 1e6
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
    fn launch_order_matters_for_the_tail() {
        // Two "heads" of blocks 4,3,2,1 each on 2 slots, head by head: slot loads go
        // 4 | 3 -> 3+2=5 -> 4+1=5 -> 5+4=9 (second head's 4) -> 5+3=8 -> 8+2=10 -> 9+1=10: makespan 10
        // over 20/2 = 10: no tail. Shortest first within each head: 1,2,3,4,1,2,3,4 ->
        // 1 | 2 -> 1+3=4 -> 2+4=6 -> 4+1=5 -> 5+2=7 -> 6+3=9 -> 7+4=11: makespan 11 over 10.
        let longest_first = [4.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0, 1.0];
        assert!((schedule_in_order(&longest_first, 2).tail_factor - 1.0).abs() < 1e-9);
        let shortest_first = [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0];
        let s = schedule_in_order(&shortest_first, 2);
        assert!((s.tail_factor - 1.1).abs() < 1e-9, "{s:?}");
        assert_eq!((s.blocks, s.waves), (8, 4));
        // The same works sorted give the LPT schedule.
        let groups: Vec<(f64, u64)> = [4.0, 3.0, 2.0, 1.0].iter().map(|w| (*w, 2)).collect();
        assert_eq!(
            schedule(&groups, 2).tail_factor,
            schedule_in_order(&[4.0, 4.0, 3.0, 3.0, 2.0, 2.0, 1.0, 1.0], 2).tail_factor
        );
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
