//! An attention head that solves MQAR by construction, with no training: the
//! induction head of a two-layer model, written down directly.
//!
//! Token embeddings are random unit vectors `e(t)` ([`Codebook`]). For the
//! sequence `x_0 .. x_{L-1}` of one example (one head):
//!
//! | part of the head dim | Q at position t | K at position i | logit it adds |
//! |---|---|---|---|
//! | token (the rest) | `a_m e(x_t)` | `a_m e(x_{i-1})` (zero at i = 0) | `match_logit` where `x_{i-1} = x_t` |
//! | context (1 dim) | `a_c` | `a_c` inside the key-value block | `context_logit` |
//! | sink (1 dim) | `a_s` | `a_s` at position 0 | `sink_logit` |
//! | locality (2F dims) | `a_r (cos ω_f t, sin ω_f t)` | `a_r (cos ω_f i, sin ω_f i)` | `local_logit / F · Σ_f cos(ω_f (t - i))` |
//!
//! V at position i is `e(x_i)` in the token dims. At a query position (token
//! `key_j`), the only key whose previous token is `key_j` is the value position
//! `2j + 1`, whose V is `e(value_j)`: the output is nearest `e(value_j)` and the
//! answer is decoded as the nearest token of the whole vocabulary. K carries the
//! previous token (the shift a previous-token head provides) so that the query
//! does not match itself. The context term is the positional preference a trained
//! model learns for the key-value block; it outweighs random fillers that happen
//! to equal a key. Sink and locality make the attention map look like a real
//! head's (a sink column, a local band), so sparse methods face the usual structure.
//!
//! Scales are set so each term adds the stated logit after the `1/sqrt(d)` of
//! scaled dot-product attention: `a = sqrt(logit * sqrt(d))` per side.

use super::embeddings::Codebook;
use super::mqar::{generate_example, MqarConfig, MqarExample, MqarQuery};
use super::Probe;
use crate::error::{Result, WorkloadError};
use crate::{HeadTensor, SeededRng, Workload};
use rayon::prelude::*;

/// Strengths of the constructed head, as logits (natural-log units of attention weight).
#[derive(Debug, Clone, PartialEq)]
pub struct MqarSolver {
    /// Head dimension of Q, K and V.
    pub head_dim: usize,
    /// Logit of a key whose previous token equals the query token.
    pub match_logit: f32,
    /// Logit every query adds to the key-value block.
    pub context_logit: f32,
    /// Logit every query adds to position 0.
    pub sink_logit: f32,
    /// Locality logit at distance 0, spread over `local_frequencies` rotary pairs.
    pub local_logit: f32,
    /// Rotary frequency pairs for locality.
    pub local_frequencies: usize,
    /// Wavelength (tokens) of the slowest locality frequency; the band is about this wide.
    pub local_width: f32,
}

impl Default for MqarSolver {
    fn default() -> Self {
        Self {
            head_dim: 128,
            match_logit: 20.0,
            context_logit: 4.0,
            sink_logit: 6.0,
            local_logit: 3.0,
            local_frequencies: 8,
            local_width: 128.0,
        }
    }
}

impl MqarSolver {
    /// First dim of the token part (after sink, context and locality).
    fn token_start(&self) -> usize {
        2 + 2 * self.local_frequencies
    }

    fn validate(&self) -> Result<()> {
        let min = self.token_start() + 16;
        if self.head_dim < min {
            return Err(WorkloadError::invalid(
                "head_dim",
                self.head_dim,
                format!(
                    "the MQAR solver needs at least {min} dims (2 structural + {} locality + 16 for token embeddings)",
                    2 * self.local_frequencies
                ),
            ));
        }
        for (name, v) in [
            ("match_logit", self.match_logit),
            ("context_logit", self.context_logit),
            ("sink_logit", self.sink_logit),
            ("local_logit", self.local_logit),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(WorkloadError::invalid(name, v, "must be a finite non-negative logit"));
            }
        }
        Ok(())
    }
}

/// MQAR examples as one workload (one head per example) with their answers.
#[derive(Debug, Clone)]
pub struct MqarTask {
    /// The sequence parameters.
    pub config: MqarConfig,
    /// The token sequences and queries, one per head.
    pub examples: Vec<MqarExample>,
    /// Q, K, V `[examples, seq_len, head_dim]`.
    pub workload: Workload,
    codebook: Codebook,
    token_start: usize,
}

/// Correctness of every query, with Zoology's accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct MqarScore {
    /// Per query, in [`MqarTask::probes`] order: the decoded token equals the value.
    pub correct: Vec<bool>,
    /// Mean over examples of the mean over each example's queries (Zoology's accuracy;
    /// every example has the same number of queries, so this is also the overall mean).
    pub accuracy: f64,
}

impl MqarTask {
    /// Generates `examples` sequences (example `e` from stream `e` of `seed`) and
    /// builds the solver's Q, K and V for them.
    pub fn build(config: &MqarConfig, examples: usize, solver: &MqarSolver, seed: u64) -> Result<Self> {
        config.validate()?;
        solver.validate()?;
        if examples == 0 {
            return Err(WorkloadError::invalid("examples", 0, "need at least one example"));
        }
        let exs: Vec<MqarExample> = (0..examples)
            .map(|e| generate_example(config, &mut SeededRng::new(seed, e as u64)))
            .collect::<Result<_>>()?;
        let d = solver.head_dim;
        let ts = solver.token_start();
        let codebook = Codebook::new(config.vocab_size, d - ts, seed ^ CODEBOOK_SALT);
        let l = config.seq_len;
        let sqrt_d = (d as f32).sqrt();
        let side = |logit: f32| (logit * sqrt_d).sqrt();
        let (a_m, a_c, a_s) = (
            side(solver.match_logit),
            side(solver.context_logit),
            side(solver.sink_logit),
        );
        let f_n = solver.local_frequencies;
        let a_r = side(solver.local_logit / f_n.max(1) as f32);
        let omegas: Vec<f32> = (0..f_n)
            .map(|f| {
                let frac = if f_n > 1 { f as f32 / (f_n - 1) as f32 } else { 0.0 };
                solver.local_width.max(1.0).powf(-frac)
            })
            .collect();
        let context = 2 * config.num_kv_pairs;
        let mut q = HeadTensor::zeros(examples, l, d);
        let mut k = HeadTensor::zeros(examples, l, d);
        let mut v = HeadTensor::zeros(examples, l, d);
        let heads = q
            .data_mut()
            .par_chunks_mut(l * d)
            .zip(k.data_mut().par_chunks_mut(l * d))
            .zip(v.data_mut().par_chunks_mut(l * d));
        heads.zip(exs.par_iter()).for_each(|(((qh, kh), vh), ex)| {
            let mut rotary = vec![0.0f32; 2 * f_n];
            for i in 0..l {
                for (f, &w) in omegas.iter().enumerate() {
                    let (s, c) = (w * i as f32).sin_cos();
                    rotary[2 * f] = a_r * c;
                    rotary[2 * f + 1] = a_r * s;
                }
                let qr = &mut qh[i * d..(i + 1) * d];
                qr[0] = a_s;
                qr[1] = a_c;
                qr[2..ts].copy_from_slice(&rotary);
                for (x, e) in qr[ts..].iter_mut().zip(codebook.vector(ex.inputs[i])) {
                    *x = a_m * e;
                }
                let kr = &mut kh[i * d..(i + 1) * d];
                kr[0] = if i == 0 { a_s } else { 0.0 };
                kr[1] = if i < context { a_c } else { 0.0 };
                kr[2..ts].copy_from_slice(&rotary);
                if i > 0 {
                    for (x, e) in kr[ts..].iter_mut().zip(codebook.vector(ex.inputs[i - 1])) {
                        *x = a_m * e;
                    }
                }
                vh[i * d + ts..(i + 1) * d].copy_from_slice(codebook.vector(ex.inputs[i]));
            }
        });
        let name = format!("mqar:L={l},P={}", config.num_kv_pairs);
        let workload = Workload::new(name, seed, q, k, v)?;
        Ok(Self {
            config: config.clone(),
            examples: exs,
            workload,
            codebook,
            token_start: ts,
        })
    }

    /// The output rows the task reads: every query position of every example, example-major.
    pub fn probes(&self) -> Vec<Probe> {
        self.examples
            .iter()
            .enumerate()
            .flat_map(|(h, ex)| {
                ex.queries.iter().map(move |q| Probe {
                    head: h,
                    row: q.position,
                })
            })
            .collect()
    }

    /// The queries in [`MqarTask::probes`] order.
    pub fn queries(&self) -> impl Iterator<Item = &MqarQuery> {
        self.examples.iter().flat_map(|ex| ex.queries.iter())
    }

    /// Decodes attention outputs at the probes (`[probes, head_dim]`, row-major) to
    /// tokens: the nearest embedding over the whole vocabulary.
    pub fn decode(&self, outputs: &[f32]) -> Result<Vec<u32>> {
        let d = self.workload.head_dim();
        let n = self.config.num_kv_pairs * self.examples.len();
        if outputs.len() != n * d {
            return Err(WorkloadError::LengthMismatch {
                tensor: "MQAR probe outputs".into(),
                shape: vec![n, d],
                expected: n * d,
                actual: outputs.len(),
            });
        }
        let tokens: Vec<f32> = outputs
            .chunks_exact(d)
            .flat_map(|row| row[self.token_start..].iter().copied())
            .collect();
        Ok(self.codebook.nearest_batch(&tokens, 0..self.config.vocab_size))
    }

    /// Scores outputs at the probes (see [`MqarTask::decode`]).
    pub fn score(&self, outputs: &[f32]) -> Result<MqarScore> {
        let answers = self.decode(outputs)?;
        let correct: Vec<bool> = answers.iter().zip(self.queries()).map(|(&a, q)| a == q.value).collect();
        let p = self.config.num_kv_pairs;
        let per_example: Vec<f64> = correct
            .chunks(p)
            .map(|c| c.iter().filter(|&&x| x).count() as f64 / p as f64)
            .collect();
        let accuracy = per_example.iter().sum::<f64>() / per_example.len().max(1) as f64;
        Ok(MqarScore { correct, accuracy })
    }
}

/// Separates the codebook's streams from the sequences' streams of the same seed.
const CODEBOOK_SALT: u64 = 0x6d71_6172_636f_6465;
