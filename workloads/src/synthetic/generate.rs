//! Filling Q, K and V from the plans and profiles, in parallel, with one random
//! stream per (tensor, head, chunk of rows) so the result does not depend on the
//! number of threads.

use super::layout::Layout;
use super::plan::{KvHeadPlan, Segment, SINK_WEIGHTS};
use super::positional::{Bump, PositionalCoefficients, RotaryGrid};
use super::profile::HeadProfile;
use crate::rng::SeededRng;
use rayon::prelude::*;

/// Rows per random stream (and per parallel task).
const CHUNK: usize = 1024;

/// Stream tags of the three tensors (the plans use [`PLAN_STREAM`]).
const Q_STREAM: u64 = 1 << 60;
const K_STREAM: u64 = 2 << 60;
const V_STREAM: u64 = 3 << 60;
/// Stream tag of the kv-head plans.
pub(crate) const PLAN_STREAM: u64 = 4 << 60;

/// Stream id of one chunk of one head of one tensor.
fn stream(tag: u64, head: usize, chunk: usize) -> u64 {
    tag | ((head as u64) << 30) | chunk as u64
}

/// Everything shared by the heads of one workload.
pub(crate) struct Generator<'a> {
    pub seed: u64,
    pub seq_len: usize,
    pub layout: &'a Layout,
    pub grid: &'a RotaryGrid,
    pub plans: &'a [KvHeadPlan],
    /// Scale of a key's flag dims (sink, vertical, cluster, retrieval): `2 d^(1/4)`.
    flag_scale: f64,
    /// Scale of a key's rotary pairs: `d^(1/4)`.
    rotary_scale: f64,
    sqrt_dim: f64,
}

impl<'a> Generator<'a> {
    pub fn new(seed: u64, seq_len: usize, layout: &'a Layout, grid: &'a RotaryGrid, plans: &'a [KvHeadPlan]) -> Self {
        let sqrt_dim = (layout.dim as f64).sqrt();
        let rotary_scale = sqrt_dim.sqrt();
        Self {
            seed,
            seq_len,
            layout,
            grid,
            plans,
            flag_scale: 2.0 * rotary_scale,
            rotary_scale,
            sqrt_dim,
        }
    }

    /// Keys `[kv_heads, seq, dim]`: structure flags, rotary pairs, unit-variance noise.
    pub fn keys(&self) -> Vec<f32> {
        self.fill(self.plans.len(), |kv, start, rows| self.key_rows(kv, start, rows))
    }

    /// Values `[kv_heads, seq, dim]`: unit-variance noise.
    pub fn values(&self) -> Vec<f32> {
        let seed = self.seed;
        self.fill(self.plans.len(), move |kv, start, rows| {
            let mut rng = SeededRng::new(seed, stream(V_STREAM, kv, start / CHUNK));
            rows.iter_mut().for_each(|x| *x = bell(&mut rng));
        })
    }

    /// Queries `[heads, seq, dim]`; head `h` reads kv head `kv_of[h]` with profile `profiles[h]`.
    pub fn queries(&self, profiles: &[HeadProfile], kv_of: &[usize]) -> Vec<f32> {
        let coeffs: Vec<PositionalCoefficients> = profiles
            .iter()
            .zip(kv_of)
            .map(|(p, &kv)| self.grid.bump_coefficients(&bumps(p, &self.plans[kv])))
            .collect();
        self.fill(profiles.len(), |h, start, rows| {
            self.query_rows(h, &profiles[h], &self.plans[kv_of[h]], &coeffs[h], start, rows)
        })
    }

    /// Allocates `[heads, seq, dim]` and fills it in chunks of [`CHUNK`] rows in parallel.
    fn fill(&self, heads: usize, rows_of: impl Fn(usize, usize, &mut [f32]) + Sync) -> Vec<f32> {
        let dim = self.layout.dim;
        let mut data = vec![0.0f32; heads * self.seq_len * dim];
        data.par_chunks_mut(self.seq_len * dim)
            .enumerate()
            .for_each(|(h, head)| {
                head.par_chunks_mut(CHUNK * dim)
                    .enumerate()
                    .for_each(|(c, rows)| rows_of(h, c * CHUNK, rows));
            });
        data
    }

    fn key_rows(&self, kv: usize, start: usize, rows: &mut [f32]) {
        let (l, plan) = (self.layout, &self.plans[kv]);
        let mut rng = SeededRng::new(self.seed, stream(K_STREAM, kv, start / CHUNK));
        let end = start + rows.len() / l.dim;
        let segment_of = segments_of(plan, start, end);
        let first_vertical = plan.verticals.partition_point(|&(c, _)| c < start);
        let mut verticals = plan.verticals[first_vertical..].iter().peekable();
        for (j, row) in (start..end).zip(rows.chunks_exact_mut(l.dim)) {
            let mut has_position = true;
            if j < plan.sink_tokens {
                row[l.sink] = (self.flag_scale * SINK_WEIGHTS[j]) as f32;
                has_position = false;
            }
            if let Some(&(_, factor)) = verticals.next_if(|&&(c, _)| c == j) {
                row[l.vertical] = (self.flag_scale * factor) as f32;
                has_position = false;
            }
            let segment = segment_of[j - start];
            row[l.cluster.start + segment.cluster] = (self.flag_scale * segment.salience) as f32;
            for (slot, _) in plan.retrievals.iter().enumerate().filter(|(_, &(_, t))| t == j) {
                row[l.retrieval.start + slot] = self.flag_scale as f32;
            }
            if has_position {
                let pos = &mut row[l.positional.clone()];
                pos[0] = self.rotary_scale as f32;
                for (pair, (c, s)) in pos[1..].chunks_exact_mut(2).zip(self.grid.rotations(j)) {
                    pair[0] = (self.rotary_scale * c) as f32;
                    pair[1] = (self.rotary_scale * s) as f32;
                }
            }
            row[l.noise.clone()].iter_mut().for_each(|x| *x = bell(&mut rng));
        }
    }

    fn query_rows(
        &self,
        h: usize,
        p: &HeadProfile,
        plan: &KvHeadPlan,
        coeffs: &PositionalCoefficients,
        start: usize,
        rows: &mut [f32],
    ) {
        let l = self.layout;
        let mut rng = SeededRng::new(self.seed, stream(Q_STREAM, h, start / CHUNK));
        let end = start + rows.len() / l.dim;
        let segment_of = segments_of(plan, start, end);
        // A query's flag entry times the key's flag scale, over sqrt(d), is the strength.
        let flag = |strength: f64| (strength * self.sqrt_dim / self.flag_scale) as f32;
        let rotary = self.sqrt_dim / self.rotary_scale;
        // Noise logit = sum over noise dims of q k / sqrt(d), with unit-variance keys.
        let noise_scale = (p.noise * self.sqrt_dim / (l.noise.len() as f64).sqrt()) as f32;
        for (i, row) in (start..end).zip(rows.chunks_exact_mut(l.dim)) {
            row[l.sink] = flag(p.sink);
            row[l.vertical] = flag(p.vertical);
            row[l.cluster.start + segment_of[i - start].cluster] = flag(p.block);
            for (slot, _) in plan.retrievals.iter().enumerate().filter(|(_, &(q, _))| q == i) {
                row[l.retrieval.start + slot] = flag(p.retrieval);
            }
            let pos = &mut row[l.positional.clone()];
            pos[0] = (rotary * coeffs.constant) as f32;
            let rotations = self.grid.rotations(i);
            for ((pair, &(re, im)), (c, s)) in pos[1..].chunks_exact_mut(2).zip(&coeffs.rotary).zip(rotations) {
                pair[0] = (rotary * (re * c - im * s)) as f32;
                pair[1] = (rotary * (re * s + im * c)) as f32;
            }
            row[l.noise.clone()]
                .iter_mut()
                .for_each(|x| *x = noise_scale * bell(&mut rng));
        }
    }
}

/// The positional bumps of a head: the local window at offset 0 and the kv
/// head's slash bands.
fn bumps(p: &HeadProfile, plan: &KvHeadPlan) -> Vec<Bump> {
    let local = Bump {
        offset: 0,
        height: p.local,
        width: 1.0,
    };
    let slashes = plan.slashes.iter().map(|&offset| Bump {
        offset,
        height: p.slash,
        width: 1.0,
    });
    std::iter::once(local)
        .chain(slashes)
        .filter(|b| b.height != 0.0)
        .collect()
}

/// The segment of each token `start..end`.
fn segments_of(plan: &KvHeadPlan, start: usize, end: usize) -> Vec<&Segment> {
    let mut out = Vec::with_capacity(end - start);
    for s in &plan.segments {
        let (a, b) = (s.start.max(start), s.end.min(end));
        if a < b {
            out.extend(std::iter::repeat_n(s, b - a));
        }
    }
    out
}

/// A zero-mean, unit-variance, bell-shaped sample from one 64-bit word: the sum
/// of four 16-bit uniforms (Irwin-Hall), computed exactly in f32, so it is the
/// same on every machine (unlike Box-Muller's libm calls) and bounded by 3.46.
#[inline]
fn bell(rng: &mut SeededRng) -> f32 {
    let w = rng.next_u64();
    let sum = (w & 0xFFFF) + ((w >> 16) & 0xFFFF) + ((w >> 32) & 0xFFFF) + (w >> 48);
    // Each uniform is (x + 0.5) / 65536; their sum minus 2 has variance 1/3.
    const SCALE: f32 = 1.732_050_8 / 65536.0;
    (sum as f32 + 2.0 - 131_072.0) * SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bell_has_zero_mean_and_unit_variance() {
        let mut rng = SeededRng::new(5, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| bell(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "{mean} {var}");
        assert!(xs.iter().all(|x| x.abs() < 3.47));
    }
}
