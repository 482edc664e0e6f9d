//! The double-buffered tile pipeline: when each tile's data arrives over a bandwidth-limited
//! DRAM channel, when the array may start it, and the stall cycles in between.
//!
//! Timing model, per tile `i` in order:
//! - its loads are issued when tile `i-1` *starts* computing if the buffers are double-buffered
//!   (the slot of tile `i-2` is free then), else when tile `i-1` ends; they queue on one DRAM
//!   channel of `bytes_per_cycle`;
//! - the write-back of a finished `C` tile is issued when its last tile ends and queues behind
//!   the loads issued before it;
//! - tile `i` starts when tile `i-1` has ended, its loads have arrived and, if it opens a new
//!   `C` tile, an output slot is free (the `C` tile two back, or one back without double
//!   buffering, has been written back);
//! - a stall is any cycle between the end of tile `i-1` and the start of tile `i`, plus the
//!   write-back after the last tile.

use super::stream::TileStep;

/// Cycles of compute and of stall attributed to one stream fed into a pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamTime {
    /// Cycles the array computed tiles of this stream.
    pub compute: u64,
    /// Cycles the array waited before tiles of this stream (and for the final write-back).
    pub stall: f64,
}

/// A running pipeline over one or more interleaved tile streams (told apart by a tag).
#[derive(Debug, Clone)]
pub struct Pipeline {
    bytes_per_cycle: f64,
    double_buffered: bool,
    dram_free: f64,
    prev_start: f64,
    prev_end: f64,
    /// Write-back of the previous tile's `C` (bytes, tag), issued at `prev_end`.
    pending_writeback: Option<(f64, usize)>,
    /// Times the last two `C` tiles left the output buffer (older first).
    releases: [f64; 2],
    started: bool,
    per_stream: Vec<StreamTime>,
}

impl Pipeline {
    /// An idle pipeline over `streams` tagged streams.
    pub fn new(bytes_per_cycle: f64, double_buffered: bool, streams: usize) -> Self {
        Self {
            bytes_per_cycle,
            double_buffered,
            dram_free: 0.0,
            prev_start: 0.0,
            prev_end: 0.0,
            pending_writeback: None,
            releases: [0.0; 2],
            started: false,
            per_stream: vec![StreamTime::default(); streams],
        }
    }

    fn transfer(&self, bytes: f64) -> f64 {
        if bytes <= 0.0 {
            0.0
        } else {
            bytes / self.bytes_per_cycle
        }
    }

    /// Runs one tile of stream `tag`.
    pub fn push(&mut self, step: &TileStep, tag: usize) {
        let issue = if !self.started {
            0.0
        } else if self.double_buffered {
            self.prev_start
        } else {
            self.prev_end
        };
        let load_end = issue.max(self.dram_free) + self.transfer(step.load_bytes);
        self.dram_free = load_end;
        self.flush_writeback();
        let slot_free = if step.new_output {
            if self.double_buffered {
                self.releases[0]
            } else {
                self.releases[1]
            }
        } else {
            0.0
        };
        let start = self.prev_end.max(load_end).max(slot_free);
        self.per_stream[tag].stall += start - self.prev_end;
        self.per_stream[tag].compute += step.cost.cycles;
        self.prev_start = start;
        self.prev_end = start + step.cost.cycles as f64;
        self.started = true;
        if step.writeback_bytes > 0.0 {
            self.pending_writeback = Some((step.writeback_bytes, tag));
        }
    }

    /// Schedules the pending write-back on the DRAM channel.
    fn flush_writeback(&mut self) {
        if let Some((bytes, _)) = self.pending_writeback.take() {
            let end = self.prev_end.max(self.dram_free) + self.transfer(bytes);
            self.dram_free = end;
            self.releases = [self.releases[1], end];
        }
    }

    /// Cycles until everything pushed so far has computed and been written back.
    pub fn elapsed(&self) -> f64 {
        let mut end = self.prev_end;
        if let Some((bytes, _)) = self.pending_writeback {
            end = end.max(self.prev_end.max(self.dram_free) + self.transfer(bytes));
        }
        end
    }

    /// Ends the pipeline: the final write-back's wait goes to the stream that wrote it.
    pub fn finish(mut self) -> (f64, Vec<StreamTime>) {
        let total = self.elapsed();
        if let Some((_, tag)) = self.pending_writeback {
            self.per_stream[tag].stall += total - self.prev_end;
        }
        (total, self.per_stream)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::compute::ComputeCost;
    use super::*;

    fn step(cycles: u64, load: f64, new_output: bool, writeback: f64) -> TileStep {
        TileStep {
            cost: ComputeCost {
                cycles,
                ..ComputeCost::default()
            },
            load_bytes: load,
            new_output,
            writeback_bytes: writeback,
        }
    }

    #[test]
    fn double_buffering_hides_loads_shorter_than_compute() {
        // 10 bytes/cycle; each tile loads 500 bytes (50 cycles) and computes 100 cycles.
        let mut p = Pipeline::new(10.0, true, 1);
        for _ in 0..4 {
            p.push(&step(100, 500.0, false, 0.0), 0);
        }
        let (total, s) = p.finish();
        // Only the first load shows.
        assert_eq!(total, 50.0 + 400.0);
        assert_eq!((s[0].compute, s[0].stall), (400, 50.0));
    }

    #[test]
    fn without_double_buffering_loads_serialize() {
        let mut p = Pipeline::new(10.0, false, 1);
        for _ in 0..4 {
            p.push(&step(100, 500.0, false, 0.0), 0);
        }
        assert_eq!(p.finish().0, 4.0 * 150.0);
    }

    #[test]
    fn memory_bound_tiles_stall_by_the_difference() {
        // Loads of 300 cycles, compute of 100: steady state is one tile per 300 cycles.
        let mut p = Pipeline::new(1.0, true, 1);
        for _ in 0..3 {
            p.push(&step(100, 300.0, false, 0.0), 0);
        }
        let (total, s) = p.finish();
        assert_eq!(total, 300.0 * 3.0 + 100.0);
        assert_eq!(s[0].stall, total - 300.0);
    }

    #[test]
    fn final_writeback_is_exposed() {
        let mut p = Pipeline::new(2.0, true, 2);
        p.push(&step(10, 0.0, true, 0.0), 0);
        p.push(&step(10, 0.0, false, 40.0), 1);
        let (total, s) = p.finish();
        assert_eq!(total, 40.0);
        assert_eq!(s[1].stall, 20.0);
        assert_eq!(s[0].stall, 0.0);
    }

    #[test]
    fn infinite_bandwidth_never_stalls() {
        let mut p = Pipeline::new(f64::INFINITY, false, 1);
        for i in 0..5 {
            p.push(&step(7, 1e9, true, if i % 2 == 0 { 1e9 } else { 0.0 }), 0);
        }
        let (total, s) = p.finish();
        assert_eq!((total, s[0].stall), (35.0, 0.0));
    }
}
