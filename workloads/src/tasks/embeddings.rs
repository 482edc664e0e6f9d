//! Token embeddings for the task solvers: one random unit vector per token, and
//! decoding an attention output back to the token whose embedding is nearest.
//!
//! Random unit vectors in `dim` dimensions are nearly orthogonal (inner products
//! of about `1/sqrt(dim)`), which is what lets attention built by construction
//! pick out one token among thousands without training.

use crate::SeededRng;
use rayon::prelude::*;
use std::ops::Range;

/// Unit vectors `[vocab, dim]`, row `t` for token `t`.
#[derive(Debug, Clone)]
pub struct Codebook {
    dim: usize,
    vectors: Vec<f32>,
}

/// Candidates scored per block in [`Codebook::nearest_batch`] (bounds the score buffer).
const DECODE_BLOCK: usize = 4096;
/// Rows decoded per parallel task in [`Codebook::nearest_batch`].
const ROW_BLOCK: usize = 256;

impl Codebook {
    /// `vocab` unit vectors of `dim` entries; token `t` comes from its own ChaCha
    /// stream of `seed`, so growing the vocabulary does not change earlier tokens.
    pub fn new(vocab: usize, dim: usize, seed: u64) -> Self {
        let vectors = (0..vocab)
            .into_par_iter()
            .flat_map_iter(|t| SeededRng::new(seed, t as u64).unit_vector(dim))
            .collect();
        Self { dim, vectors }
    }

    /// Entries per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of tokens.
    pub fn vocab(&self) -> usize {
        self.vectors.len() / self.dim.max(1)
    }

    /// The embedding of token `t` (`t < vocab`).
    pub fn vector(&self, t: u32) -> &[f32] {
        let s = t as usize * self.dim;
        &self.vectors[s..s + self.dim]
    }

    /// For each row of `xs` (`[n, dim]`), the token in `candidates` with the largest
    /// inner product, which for unit vectors is the nearest one. Ties go to the
    /// smaller token. Scores come from one GEMM per block of rows and candidates;
    /// blocks of rows run in parallel.
    pub fn nearest_batch(&self, xs: &[f32], candidates: Range<usize>) -> Vec<u32> {
        let d = self.dim.max(1);
        xs.par_chunks(ROW_BLOCK * d)
            .flat_map_iter(|rows| self.nearest_block(rows, candidates.clone()))
            .collect()
    }

    fn nearest_block(&self, xs: &[f32], candidates: Range<usize>) -> Vec<u32> {
        let d = self.dim;
        let n = xs.len() / d;
        let mut best = vec![(f32::NEG_INFINITY, candidates.start as u32); n];
        let mut scores = Vec::new();
        let mut start = candidates.start;
        while start < candidates.end {
            let end = (start + DECODE_BLOCK).min(candidates.end);
            let m = end - start;
            scores.clear();
            scores.resize(n * m, 0.0f32);
            let block = &self.vectors[start * d..end * d];
            // SAFETY: xs is [n, d] row-major, block is [m, d] row-major read as its
            // transpose [d, m] (row stride 1, column stride d), scores is [n, m];
            // every slice holds exactly the elements the strides address.
            unsafe {
                matrixmultiply::sgemm(
                    n,
                    d,
                    m,
                    1.0,
                    xs.as_ptr(),
                    d as isize,
                    1,
                    block.as_ptr(),
                    1,
                    d as isize,
                    0.0,
                    scores.as_mut_ptr(),
                    m as isize,
                    1,
                );
            }
            for (i, row) in scores.chunks_exact(m).enumerate() {
                for (j, &s) in row.iter().enumerate() {
                    if s > best[i].0 {
                        best[i] = (s, (start + j) as u32);
                    }
                }
            }
            start = end;
        }
        best.into_iter().map(|(_, t)| t).collect()
    }

    /// `k` tokens of `candidates` whose embeddings explain `x` best: orthogonal
    /// matching pursuit (take the token with the largest inner product with the
    /// residual, remove the span of the tokens taken so far from `x`, repeat), then
    /// single swaps while one lowers the residual. For `k = 1` this is the nearest
    /// token. Unlike a plain top `k`, a mixture of `k` embeddings is recovered even
    /// when they overlap with each other.
    pub fn pursuit(&self, x: &[f32], candidates: Range<usize>, k: usize) -> Vec<u32> {
        let x: Vec<f64> = x.iter().map(|&a| a as f64).collect();
        let k = k.min(candidates.len());
        let mut chosen: Vec<u32> = Vec::with_capacity(k);
        while chosen.len() < k {
            let residual = self.residual(&x, &chosen);
            let best = candidates
                .clone()
                .map(|t| t as u32)
                .filter(|t| !chosen.contains(t))
                .map(|t| (dot(self.vector(t), &residual), t))
                .fold((f64::NEG_INFINITY, candidates.start as u32), |b, c| {
                    if c.0 > b.0 {
                        c
                    } else {
                        b
                    }
                });
            chosen.push(best.1);
        }
        if k < 2 {
            return chosen;
        }
        let norm2 = |r: Vec<f64>| r.iter().map(|a| a * a).sum::<f64>();
        let mut current = norm2(self.residual(&x, &chosen));
        for _ in 0..k {
            let mut improved = false;
            for i in 0..k {
                for t in candidates.clone().map(|t| t as u32) {
                    if chosen.contains(&t) {
                        continue;
                    }
                    let old = std::mem::replace(&mut chosen[i], t);
                    let r = norm2(self.residual(&x, &chosen));
                    if r < current * (1.0 - 1e-9) {
                        current = r;
                        improved = true;
                    } else {
                        chosen[i] = old;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        chosen
    }

    /// `x` minus its orthogonal projection on the span of the tokens' embeddings.
    fn residual(&self, x: &[f64], tokens: &[u32]) -> Vec<f64> {
        let mut residual = x.to_vec();
        let mut basis: Vec<Vec<f64>> = Vec::with_capacity(tokens.len());
        for &t in tokens {
            let mut q: Vec<f64> = self.vector(t).iter().map(|&a| a as f64).collect();
            for b in &basis {
                let c: f64 = q.iter().zip(b).map(|(a, b)| a * b).sum();
                q.iter_mut().zip(b).for_each(|(a, b)| *a -= c * b);
            }
            let norm = q.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-9 {
                q.iter_mut().for_each(|a| *a /= norm);
                let c: f64 = residual.iter().zip(&q).map(|(a, b)| a * b).sum();
                residual.iter_mut().zip(&q).for_each(|(a, b)| *a -= c * b);
                basis.push(q);
            }
        }
        residual
    }
}

fn dot(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, y)| x as f64 * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_and_nearly_orthogonal() {
        let cb = Codebook::new(64, 128, 3);
        for t in 0..64 {
            let n: f32 = cb.vector(t).iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
        let dot: f32 = cb.vector(1).iter().zip(cb.vector(2)).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 0.4, "{dot}");
    }

    #[test]
    fn growing_the_vocabulary_keeps_earlier_tokens() {
        let small = Codebook::new(10, 16, 1);
        let large = Codebook::new(1000, 16, 1);
        assert_eq!(small.vector(7), large.vector(7));
    }

    #[test]
    fn nearest_recovers_a_mixture_major_component() {
        let cb = Codebook::new(9000, 64, 5);
        // 0.6 of token 4321 plus 0.4 spread over ten others decodes to 4321,
        // across the 4096-candidate block boundary.
        let mut rows = Vec::new();
        for target in [4321u32, 10, 8999] {
            let mut x: Vec<f32> = cb.vector(target).iter().map(|v| 0.6 * v).collect();
            for other in 100..110u32 {
                for (a, b) in x.iter_mut().zip(cb.vector(other)) {
                    *a += 0.04 * b;
                }
            }
            rows.extend(x);
        }
        assert_eq!(cb.nearest_batch(&rows, 0..9000), vec![4321, 10, 8999]);
        // Restricting the candidates excludes the true token.
        assert_ne!(cb.nearest_batch(&rows[..64], 5000..9000)[0], 4321);
    }

    #[test]
    fn pursuit_recovers_an_average_of_four() {
        let cb = Codebook::new(1024, 64, 2);
        let mut x = vec![0.0f32; 64];
        for t in [3u32, 77, 150, 1023] {
            for (a, b) in x.iter_mut().zip(cb.vector(t)) {
                *a += 0.25 * b;
            }
        }
        let mut found = cb.pursuit(&x, 0..1024, 4);
        found.sort();
        assert_eq!(found, vec![3, 77, 150, 1023]);
        assert_eq!(cb.pursuit(&x, 0..1024, 1).len(), 1);
    }
}
