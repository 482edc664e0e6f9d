//! The memory model: on-chip buffers, the DRAM channel, and the stalls when a tile's data is
//! late. Kept apart from the compute model (as SCALE-Sim keeps `memory/` apart from
//! `compute/`): it asks the compute model for each tile's cycles and adds the waiting.
//!
//! | module | job |
//! |---|---|
//! | [`tiling`] | tile sizes and loop order of one GEMM; DRAM traffic in closed form |
//! | [`stream`] | the tiles in loop order with the bytes each loads and writes back |
//! | [`pipeline`] | double-buffered timeline over a bandwidth-limited channel: stall cycles |

pub mod pipeline;
pub mod stream;
pub mod tiling;

use super::config::AcceleratorConfig;
use super::effects::Effects;
use super::gemm::{Gemm, OutputPrecision};
pub use pipeline::{Pipeline, StreamTime};
pub use stream::{TileStep, TileStream};
pub use tiling::{Dim, OperandBytes, Tiling, Traffic};

impl OperandBytes {
    /// Element sizes of `gemm`'s operands on `config`. Metadata (`ceil(log2 M)` bits per kept
    /// weight) rides with `B` unless the `metadata` effect is off.
    pub fn for_gemm(config: &AcceleratorConfig, gemm: &Gemm, effects: &Effects) -> Self {
        let a = &config.array;
        let byte = |bits: u32| f64::from(bits) / 8.0;
        let meta_bits = match gemm.sparse_b {
            Some(nm) if effects.metadata => nm.metadata_bits(),
            _ => 0,
        };
        let out_bits = match gemm.output {
            OutputPrecision::Activation => a.input_bits,
            OutputPrecision::Accumulator => a.accumulator_bits,
        };
        OperandBytes {
            a: byte(a.input_bits) * gemm.footprint.a,
            b: byte(a.weight_bits + meta_bits),
            c_final: byte(out_bits) * gemm.footprint.c,
            c_psum: byte(a.accumulator_bits) * gemm.footprint.c,
            psum_on_chip: byte(a.accumulator_bits),
            a_on_chip: byte(a.input_bits),
        }
    }
}

/// Bytes each buffer offers one tile of its operand: the buffer, halved when double-buffered,
/// times `share` (1 alone, 1/2 when two GEMMs interleave).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// Input buffer bytes per tile.
    pub a: f64,
    /// Weight buffer bytes per tile.
    pub b: f64,
    /// Output buffer bytes per tile.
    pub c: f64,
}

impl Capacity {
    /// Per-tile capacity of `config`'s buffers.
    pub fn of(config: &AcceleratorConfig, share: f64) -> Self {
        let m = &config.memory;
        let copies = if m.double_buffered { 2.0 } else { 1.0 };
        let per = |kib: u64| kib as f64 * 1024.0 / copies * share;
        Capacity {
            a: per(m.ifmap_kib),
            b: per(m.filter_kib),
            c: per(m.ofmap_kib),
        }
    }

    /// Whether one tile of `tiling` fits.
    pub fn fits(&self, tiling: &Tiling, gemm: &Gemm, bytes: &OperandBytes) -> bool {
        let (a, b, c) = tiling.footprint_bytes(gemm, bytes);
        a <= self.a && b <= self.b && c <= self.c
    }
}
