//! Needle in a haystack (RULER-style) planted into any workload's Q, K and V.
//!
//! RULER's needle is the sentence "One of the special magic numbers for {key} is:
//! {value}." at a depth of 0-100% of the context, and a question about `{key}` at
//! the end. Here the haystack is any workload (a synthetic head profile, or a
//! user's tensors), and per kv head:
//!
//! 1. Needle keys are orthonormal directions `u_i` (random, per kv head). They are
//!    projected out of every other Q and K row of the head, so no other token
//!    matches them and the haystack's logits change by less than `1/d` of their size.
//! 2. A needle at position `p` gets `K_p += a_p u_i` and `V_p = sqrt(d) e(value)`,
//!    with `e` a random unit vector from a codebook of `values` magic numbers (the
//!    `sqrt(d)` matches the norm of a unit-variance V row).
//! 3. A question row `t` (the last rows) gets `Q_t += b u_i`. `a_p` is chosen so that
//!    the needle's logit in row `t` is `margin` above the log-sum-exp of every other
//!    key the row sees: dense attention puts more than `1 - e^-margin` of the row on
//!    its needles, whatever the haystack's structure, length or depth.
//! 4. The answer is decoded from the output at row `t`: the nearest magic number,
//!    or for multi-value the 4 that orthogonal matching pursuit picks (the nearest,
//!    then the nearest to what the chosen ones leave unexplained, and so on), since
//!    4 random vectors in 64 dims interfere too much for a plain top 4.
//!    Score = fraction of needles retrieved.
//!
//! | variant | needles per kv head | questions (last rows) | retrieved when |
//! |---|---|---|---|
//! | `single` | 1 | 1 | the answer is its value |
//! | `multikey` | 4, distinct keys | 1, about one key | the answer is that key's value |
//! | `multivalue` | 4, one key | 1 | each of the 4 values among the 4 decoded (1/4 each) |
//! | `multiquery` | 4, distinct keys | 4, one per key | each answer (1/4 each) |
//!
//! Needles sit [`NEEDLE_SPACING`] tokens apart starting at `depth * (context - span)`,
//! where the context is everything before the question rows.

use super::embeddings::Codebook;
use super::Probe;
use crate::error::{Result, WorkloadError};
use crate::{HeadTensor, SeededRng, Workload};

/// Tokens between consecutive needles of the multi-needle variants.
pub const NEEDLE_SPACING: usize = 8;
/// Needles (and, for multi-query, questions) in the multi-needle variants (RULER's 4).
pub const MULTI: usize = 4;

/// RULER's needle-in-a-haystack variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NiahVariant {
    /// One needle, one question.
    Single,
    /// Four needles with different keys, one asked.
    MultiKey,
    /// Four values under one key, all asked.
    MultiValue,
    /// Four needles with different keys, four questions.
    MultiQuery,
}

impl NiahVariant {
    /// Every variant, in RULER's order.
    pub const ALL: [NiahVariant; 4] = [Self::Single, Self::MultiKey, Self::MultiValue, Self::MultiQuery];

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::MultiKey => "multikey",
            Self::MultiValue => "multivalue",
            Self::MultiQuery => "multiquery",
        }
    }

    /// Parses a name (also `multi-key` etc.), or says which names exist.
    pub fn parse(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        Self::ALL.into_iter().find(|v| v.name() == norm).ok_or_else(|| {
            WorkloadError::invalid(
                "variant",
                s,
                format!("known variants: {}", Self::ALL.map(|v| v.name()).join(", ")),
            )
        })
    }

    fn needles(self) -> usize {
        if self == Self::Single {
            1
        } else {
            MULTI
        }
    }

    /// Distinct needle keys.
    fn keys(self) -> usize {
        match self {
            Self::Single | Self::MultiValue => 1,
            Self::MultiKey | Self::MultiQuery => MULTI,
        }
    }

    fn questions(self) -> usize {
        if self == Self::MultiQuery {
            MULTI
        } else {
            1
        }
    }
}

/// How to plant the needles.
#[derive(Debug, Clone, PartialEq)]
pub struct NiahSpec {
    /// Which RULER variant.
    pub variant: NiahVariant,
    /// Where the first needle sits, as a fraction of the context (0 = start, 1 = end).
    pub depth: f64,
    /// Needle logit above the log-sum-exp of the rest of the question's row (natural log).
    pub margin: f64,
    /// Size of the magic-number codebook answers are decoded against.
    pub values: usize,
    /// Seed of the needle keys, values and asked key.
    pub seed: u64,
}

impl NiahSpec {
    /// `variant` at `depth` with margin 8 (the needles take > 99.9% of dense
    /// attention) and 1024 magic numbers.
    pub fn new(variant: NiahVariant, depth: f64, seed: u64) -> Self {
        Self {
            variant,
            depth,
            margin: 8.0,
            values: 1024,
            seed,
        }
    }
}

/// A planted needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needle {
    /// Kv head it is planted in.
    pub kv_head: usize,
    /// Token position.
    pub position: usize,
    /// Which of the kv head's needle keys it carries.
    pub key: usize,
    /// Its magic number (codebook index).
    pub value: u32,
}

/// A question row and what it must retrieve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Query head and row.
    pub probe: Probe,
    /// The magic numbers it must retrieve (1, or 4 for multi-value).
    pub expected: Vec<u32>,
}

/// Per-question retrieval and its mean.
#[derive(Debug, Clone, PartialEq)]
pub struct NiahScore {
    /// Fraction of each question's needles retrieved, in [`NiahTask::probes`] order.
    pub per_question: Vec<f64>,
    /// Mean over questions: the fraction of needles retrieved.
    pub retrieval: f64,
}

/// A haystack with needles planted, and the questions to score.
#[derive(Debug, Clone)]
pub struct NiahTask {
    /// The planted workload.
    pub workload: Workload,
    /// What was planted, kv head by kv head.
    pub needles: Vec<Needle>,
    /// Question rows, query head by query head.
    pub questions: Vec<Question>,
    /// The spec it was planted with.
    pub spec: NiahSpec,
    codebook: Codebook,
}

const NIAH_STREAM: u64 = 0x6e69_6168 << 32;

impl NiahTask {
    /// Plants `spec`'s needles and questions into `haystack` (see the module doc).
    pub fn plant(haystack: &Workload, spec: &NiahSpec) -> Result<Self> {
        let v = spec.variant;
        let (l, d) = (haystack.seq_len(), haystack.head_dim());
        let span = (v.needles() - 1) * NEEDLE_SPACING + 1;
        let context = l.saturating_sub(v.questions());
        if context < span + 1 {
            return Err(WorkloadError::invalid(
                "seq_len",
                l,
                format!(
                    "the {} variant needs at least {} tokens",
                    v.name(),
                    span + 1 + v.questions()
                ),
            ));
        }
        if !(0.0..=1.0).contains(&spec.depth) {
            return Err(WorkloadError::invalid(
                "depth",
                spec.depth,
                "must be a fraction in [0, 1]",
            ));
        }
        if !(spec.margin.is_finite() && spec.margin > 0.0) {
            return Err(WorkloadError::invalid(
                "margin",
                spec.margin,
                "must be a positive logit",
            ));
        }
        if spec.values < MULTI {
            return Err(WorkloadError::invalid(
                "values",
                spec.values,
                format!("need at least {MULTI} magic numbers"),
            ));
        }
        if d < 2 * MULTI {
            return Err(WorkloadError::invalid(
                "head_dim",
                d,
                "needle keys need at least 8 dims",
            ));
        }
        let first = (spec.depth * (context - span) as f64).round() as usize;
        let positions: Vec<usize> = (0..v.needles()).map(|i| first + i * NEEDLE_SPACING).collect();
        let question_rows: Vec<usize> = (context..l).collect();
        let codebook = Codebook::new(spec.values, d, spec.seed ^ NIAH_STREAM);
        let (mut q, mut k, mut val) = (haystack.q().clone(), haystack.k().clone(), haystack.v().clone());
        let mut needles = Vec::new();
        let mut questions = Vec::new();
        for kv in 0..haystack.kv_heads() {
            let mut rng = SeededRng::new(spec.seed, NIAH_STREAM | kv as u64);
            let dirs = orthonormal(v.keys(), d, &mut rng);
            let values = distinct_values(v.needles(), spec.values, &mut rng);
            let asked = if v == NiahVariant::MultiKey {
                rng.below(MULTI)
            } else {
                0
            };
            let heads: Vec<usize> = (0..haystack.heads())
                .filter(|&h| haystack.kv_head_of(h) == kv)
                .collect();
            project_out(&mut k, kv, &dirs);
            for &h in &heads {
                project_out(&mut q, h, &dirs);
            }
            let kv_needles: Vec<Needle> = positions
                .iter()
                .enumerate()
                .map(|(i, &p)| Needle {
                    kv_head: kv,
                    position: p,
                    key: if v.keys() == 1 { 0 } else { i },
                    value: values[i],
                })
                .collect();
            // Each question row asks one key: multi-query row j asks key j.
            let asks: Vec<(usize, usize)> = question_rows
                .iter()
                .enumerate()
                .map(|(j, &t)| (t, if v == NiahVariant::MultiQuery { j } else { asked }))
                .collect();
            // Needle strengths: enough for the weakest group head and question to clear the margin.
            let b = (d as f64).sqrt().sqrt() * 4.0;
            let mut strength = vec![0.0f64; kv_needles.len()];
            for &h in &heads {
                for &(t, key) in &asks {
                    let logits = row_logits(&q, &k, h, kv, t);
                    let rest = logsumexp(
                        logits
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| !kv_needles.iter().any(|n| n.position == *j))
                            .map(|(_, &s)| s),
                    );
                    // Every needle of the asked key reaches the same logit T, at least
                    // `margin` above the rest of the row and 1 above its own structural logit.
                    let own = kv_needles.iter().filter(|n| n.key == key);
                    let top = own
                        .clone()
                        .map(|n| logits[n.position])
                        .fold(f64::NEG_INFINITY, f64::max);
                    let target = (rest + spec.margin).max(top + 1.0);
                    for (n, a) in kv_needles.iter().zip(strength.iter_mut()) {
                        if n.key == key {
                            *a = a.max((target - logits[n.position]) * (d as f64).sqrt() / b);
                        }
                    }
                }
            }
            let asked_strength = strength.iter().cloned().fold(0.0, f64::max);
            for (n, a) in kv_needles.iter().zip(&strength) {
                // Unasked needles (multi-key distractors) are as strong as the asked ones.
                let a = if *a > 0.0 { *a } else { asked_strength };
                add_scaled(k.row_mut(kv, n.position), &dirs[n.key], a);
                let sqrt_d = (d as f32).sqrt();
                for (x, e) in val.row_mut(kv, n.position).iter_mut().zip(codebook.vector(n.value)) {
                    *x = sqrt_d * e;
                }
            }
            for &h in &heads {
                for &(t, key) in &asks {
                    add_scaled(q.row_mut(h, t), &dirs[key], b);
                    let expected = kv_needles.iter().filter(|n| n.key == key).map(|n| n.value).collect();
                    questions.push(Question {
                        probe: Probe { head: h, row: t },
                        expected,
                    });
                }
            }
            needles.extend(kv_needles);
        }
        questions.sort_by_key(|x| x.probe);
        let name = format!("niah:{}:{}", v.name(), haystack.name);
        let workload = Workload::new(name, haystack.seed, q, k, val)?;
        Ok(Self {
            workload,
            needles,
            questions,
            spec: spec.clone(),
            codebook,
        })
    }

    /// The output rows to read: the question rows of every query head.
    pub fn probes(&self) -> Vec<Probe> {
        self.questions.iter().map(|x| x.probe).collect()
    }

    /// Scores attention outputs at the probes (`[probes, head_dim]`): for each
    /// question, the share of its expected magic numbers among those decoded from it.
    pub fn score(&self, outputs: &[f32]) -> Result<NiahScore> {
        let d = self.workload.head_dim();
        let n = self.questions.len();
        if outputs.len() != n * d {
            return Err(WorkloadError::LengthMismatch {
                tensor: "NIAH probe outputs".into(),
                shape: vec![n, d],
                expected: n * d,
                actual: outputs.len(),
            });
        }
        let per_question: Vec<f64> = self
            .questions
            .iter()
            .zip(outputs.chunks_exact(d))
            .map(|(question, row)| {
                let found = self.codebook.pursuit(row, 0..self.spec.values, question.expected.len());
                let hits = question.expected.iter().filter(|v| found.contains(v)).count();
                hits as f64 / question.expected.len() as f64
            })
            .collect();
        let retrieval = per_question.iter().sum::<f64>() / n.max(1) as f64;
        Ok(NiahScore {
            per_question,
            retrieval,
        })
    }
}

/// `count` orthonormal vectors of `dim` entries (Gram-Schmidt on Gaussian draws).
fn orthonormal(count: usize, dim: usize, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(count);
    while out.len() < count {
        let mut x: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
        for u in &out {
            let dot: f64 = x.iter().zip(u).map(|(a, b)| a * b).sum();
            x.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            out.push(x.into_iter().map(|a| a / norm).collect());
        }
    }
    out.into_iter()
        .map(|u| u.into_iter().map(|a| a as f32).collect())
        .collect()
}

fn distinct_values(count: usize, vocab: usize, rng: &mut SeededRng) -> Vec<u32> {
    let mut picked: Vec<u32> = Vec::with_capacity(count);
    while picked.len() < count {
        let t = rng.below(vocab) as u32;
        if !picked.contains(&t) {
            picked.push(t);
        }
    }
    picked
}

/// Removes the components along `dirs` (orthonormal) from every row of head `h`.
fn project_out(t: &mut HeadTensor, h: usize, dirs: &[Vec<f32>]) {
    for row in t.head_mut(h).chunks_exact_mut(dirs[0].len()) {
        for u in dirs {
            let dot: f32 = row.iter().zip(u).map(|(a, b)| a * b).sum();
            row.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
    }
}

fn add_scaled(row: &mut [f32], u: &[f32], scale: f64) {
    row.iter_mut().zip(u).for_each(|(a, b)| *a += (scale as f32) * b);
}

/// Scaled logits `q_t . k_j / sqrt(d)` of head `h` for keys `0..=t`.
fn row_logits(q: &HeadTensor, k: &HeadTensor, h: usize, kv: usize, t: usize) -> Vec<f64> {
    let scale = 1.0 / (q.dim() as f64).sqrt();
    let qr = q.row(h, t);
    (0..=t)
        .map(|j| {
            qr.iter()
                .zip(k.row(kv, j))
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>()
                * scale
        })
        .collect()
}

fn logsumexp(xs: impl Iterator<Item = f64>) -> f64 {
    let xs: Vec<f64> = xs.collect();
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}
