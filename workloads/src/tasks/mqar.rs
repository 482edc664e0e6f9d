//! Multi-query associative recall (MQAR) token sequences, generated as Zoology's
//! `multiquery_ar` defines them.
//!
//! Source: HazyResearch/zoology, `zoology/data/associative_recall.py`, function
//! `_mqar` (Arora, Eyuboglu et al., "Zoology: Measuring and improving recall in
//! efficient language models", 2023). The rules, for a sequence of `L` tokens,
//! `P` key-value pairs and vocabulary `V`:
//!
//! 1. Keys are `P` distinct tokens from `[1, V/2)`, values `P` distinct tokens from
//!    `[V/2, V)`, both drawn without replacement.
//! 2. The first `2P` tokens are the pairs, interleaved: `k0 v0 k1 v1 ...`.
//! 3. The remaining `L - 2P` tokens form the query region, of `space = (L - 2P) / 2`
//!    even slots. Each key `j` gets a gap `g_j` drawn without replacement from
//!    `0..space` with `p(g) ∝ a (g + 1)^(a - 1)` (a power law, `a = 0.01`), and key
//!    `j` reappears at position `2P + 2 g_j`; the target at that position (what the
//!    model must predict next) is value `j`.
//! 4. Every other position of the query region holds 0, replaced by a uniform random
//!    token from `[0, V)` when `random_non_queries` is set (Zoology's default).
//!
//! Zoology asserts `L` even, `V > L` and `4P <= L`; so does [`MqarConfig::validate`].
//! The weighted draw without replacement follows NumPy's legacy
//! `RandomState.choice(replace=False, p=...)`: draw the missing count with
//! replacement from the renormalized remaining mass, keep first occurrences, repeat.
//! The random streams are sparselab's ChaCha8 ([`SeededRng`]), not NumPy's, so the
//! sequences follow the same distribution but are not Zoology's exact samples.

use crate::error::{Result, WorkloadError};
use crate::SeededRng;

/// Zoology's default vocabulary.
pub const ZOOLOGY_VOCAB: usize = 8192;
/// Zoology's power-law exponent for gaps (train and test).
pub const ZOOLOGY_POWER_A: f64 = 0.01;

/// Parameters of one MQAR sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct MqarConfig {
    /// Tokens per sequence (`input_seq_len`), even.
    pub seq_len: usize,
    /// Key-value pairs (`num_kv_pairs`), at most `seq_len / 4`.
    pub num_kv_pairs: usize,
    /// Vocabulary size, greater than `seq_len`.
    pub vocab_size: usize,
    /// Power-law exponent `a` of the gap distribution (1.0 = uniform).
    pub power_a: f64,
    /// Replace the zero fillers with random tokens.
    pub random_non_queries: bool,
}

impl MqarConfig {
    /// Zoology's defaults for `(seq_len, num_kv_pairs)`, with the vocabulary
    /// [`MqarConfig::default_vocab`] so that long sequences satisfy `V > L`.
    pub fn new(seq_len: usize, num_kv_pairs: usize) -> Self {
        Self {
            seq_len,
            num_kv_pairs,
            vocab_size: Self::default_vocab(seq_len),
            power_a: ZOOLOGY_POWER_A,
            random_non_queries: true,
        }
    }

    /// 8192 (Zoology's) up to 8191 tokens, then the smallest power of two above `seq_len`.
    pub fn default_vocab(seq_len: usize) -> usize {
        ZOOLOGY_VOCAB.max((seq_len + 1).next_power_of_two())
    }

    /// Checks Zoology's assertions, naming the parameter that breaks one.
    pub fn validate(&self) -> Result<()> {
        if self.seq_len == 0 || self.seq_len % 2 != 0 {
            return Err(WorkloadError::invalid(
                "seq_len",
                self.seq_len,
                "MQAR needs a positive even length (Zoology asserts input_seq_len % 2 == 0)",
            ));
        }
        if self.num_kv_pairs == 0 || 4 * self.num_kv_pairs > self.seq_len {
            return Err(WorkloadError::invalid(
                "num_kv_pairs",
                self.num_kv_pairs,
                format!(
                    "must be between 1 and seq_len / 4 = {} (Zoology asserts num_kv_pairs * 4 <= input_seq_len)",
                    self.seq_len / 4
                ),
            ));
        }
        if self.vocab_size <= self.seq_len {
            return Err(WorkloadError::invalid(
                "vocab_size",
                self.vocab_size,
                format!(
                    "must exceed seq_len = {} (Zoology asserts vocab_size > input_seq_len)",
                    self.seq_len
                ),
            ));
        }
        if !(self.power_a > 0.0 && self.power_a <= 1.0) {
            return Err(WorkloadError::invalid(
                "power_a",
                self.power_a,
                "must be in (0, 1]; Zoology uses 0.01, and 1.0 gives uniform gaps",
            ));
        }
        Ok(())
    }

    /// Number of even query slots, `(L - 2P) / 2`.
    pub fn space(&self) -> usize {
        (self.seq_len - 2 * self.num_kv_pairs) / 2
    }
}

/// One queried key in a sequence, with its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqarQuery {
    /// Position where the key reappears; the model's output there must be `value`.
    pub position: usize,
    /// Position of the key in the key-value block (`2j`).
    pub key_position: usize,
    /// The key token.
    pub key: u32,
    /// The value token (the target).
    pub value: u32,
}

impl MqarQuery {
    /// Tokens between the key and its query (`position - key_position`), the
    /// distance a local attention window must span.
    pub fn distance(&self) -> usize {
        self.position - self.key_position
    }
}

/// One generated sequence and its queries (in key order).
#[derive(Debug, Clone, PartialEq)]
pub struct MqarExample {
    /// The `seq_len` input tokens.
    pub inputs: Vec<u32>,
    /// The `num_kv_pairs` queries, one per key, in the order of the key-value block.
    pub queries: Vec<MqarQuery>,
}

/// Generates one sequence from `rng` (call [`MqarConfig::validate`] first; this checks again).
pub fn generate_example(cfg: &MqarConfig, rng: &mut SeededRng) -> Result<MqarExample> {
    cfg.validate()?;
    let (l, p, v) = (cfg.seq_len, cfg.num_kv_pairs, cfg.vocab_size);
    let half = v / 2;
    let keys = sample_distinct(1, half, p, rng);
    let values = sample_distinct(half, v, p, rng);
    let mut inputs = vec![0u32; l];
    for j in 0..p {
        inputs[2 * j] = keys[j];
        inputs[2 * j + 1] = values[j];
    }
    let weights: Vec<f64> = (0..cfg.space())
        .map(|g| cfg.power_a * ((g + 1) as f64).powf(cfg.power_a - 1.0))
        .collect();
    let gaps = weighted_choice_without_replacement(&weights, p, rng);
    let context = 2 * p;
    let queries: Vec<MqarQuery> = gaps
        .iter()
        .enumerate()
        .map(|(j, &g)| MqarQuery {
            position: context + 2 * g,
            key_position: 2 * j,
            key: keys[j],
            value: values[j],
        })
        .collect();
    for q in &queries {
        inputs[q.position] = q.key;
    }
    if cfg.random_non_queries {
        for t in inputs.iter_mut().filter(|t| **t == 0) {
            *t = rng.below(v) as u32;
        }
    }
    Ok(MqarExample { inputs, queries })
}

/// `count` distinct integers from `[lo, hi)`, in random order (a partial Fisher-Yates
/// shuffle, NumPy's `choice(replace=False)` without weights). Needs `count <= hi - lo`.
fn sample_distinct(lo: usize, hi: usize, count: usize, rng: &mut SeededRng) -> Vec<u32> {
    let mut pool: Vec<u32> = (lo as u32..hi as u32).collect();
    for i in 0..count {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool
}

/// NumPy's legacy weighted draw without replacement: repeatedly draw the missing
/// count with replacement from the remaining (renormalized) weights and keep the
/// first occurrence of each new index. Needs `count` <= the number of positive weights.
pub fn weighted_choice_without_replacement(weights: &[f64], count: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut w = weights.to_vec();
    let mut found: Vec<usize> = Vec::with_capacity(count);
    let mut taken = vec![false; w.len()];
    let mut cdf = vec![0.0f64; w.len()];
    while found.len() < count {
        let mut acc = 0.0;
        for (c, &x) in cdf.iter_mut().zip(&w) {
            acc += x;
            *c = acc;
        }
        if acc <= 0.0 {
            break;
        }
        let mut fresh = Vec::new();
        for _ in 0..count - found.len() {
            let x = rng.uniform() * acc;
            // searchsorted(side='right'): first index whose cdf exceeds x.
            let i = cdf.partition_point(|&c| c <= x).min(w.len() - 1);
            if !taken[i] {
                taken[i] = true;
                fresh.push(i);
            }
        }
        for &i in &fresh {
            w[i] = 0.0;
        }
        found.extend(fresh);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(l: usize, p: usize, seed: u64) -> MqarExample {
        generate_example(&MqarConfig::new(l, p), &mut SeededRng::new(seed, 0)).unwrap()
    }

    #[test]
    fn layout_follows_zoology() {
        let cfg = MqarConfig::new(512, 64);
        let ex = example(512, 64, 3);
        assert_eq!(ex.inputs.len(), 512);
        assert_eq!(ex.queries.len(), 64);
        let mut keys = std::collections::HashSet::new();
        let mut positions = std::collections::HashSet::new();
        for (j, q) in ex.queries.iter().enumerate() {
            assert_eq!(ex.inputs[2 * j], q.key, "key block is interleaved");
            assert_eq!(ex.inputs[2 * j + 1], q.value);
            assert!((1..4096).contains(&q.key), "keys from [1, V/2)");
            assert!((4096..8192).contains(&q.value), "values from [V/2, V)");
            assert!(q.position >= 128 && q.position < 512 && q.position % 2 == 0);
            assert_eq!(ex.inputs[q.position], q.key, "the key reappears at its query");
            assert!(
                keys.insert(q.key) && positions.insert(q.position),
                "distinct keys and slots"
            );
        }
        assert!(ex.inputs.iter().all(|&t| (t as usize) < cfg.vocab_size));
    }

    #[test]
    fn without_random_fillers_the_rest_is_zero() {
        let mut cfg = MqarConfig::new(64, 4);
        cfg.random_non_queries = false;
        let ex = generate_example(&cfg, &mut SeededRng::new(0, 0)).unwrap();
        let nonzero = ex.inputs.iter().filter(|&&t| t != 0).count();
        assert_eq!(nonzero, 2 * 4 + 4);
    }

    #[test]
    fn gaps_follow_the_power_law() {
        // With a = 0.01 the first slot carries p(0) = 1 / H where H = sum (g+1)^-0.99;
        // over many examples most queries sit in the first few slots, a few far away.
        let cfg = MqarConfig::new(512, 4);
        let mut rng = SeededRng::new(11, 0);
        let mut near = 0;
        let mut far = 0;
        let n = 2000;
        for _ in 0..n {
            let ex = generate_example(&cfg, &mut rng).unwrap();
            for q in &ex.queries {
                let gap = (q.position - 8) / 2;
                near += usize::from(gap < 8);
                far += usize::from(gap >= 64);
            }
        }
        let (near, far) = (near as f64 / (4 * n) as f64, far as f64 / (4 * n) as f64);
        // NumPy's own `choice(252, size=4, replace=False, p)` over 20k examples gives
        // 0.404 of gaps below 8 and 0.244 at 64 or more (+-0.03 is about 5 standard errors here).
        assert!((0.374..0.434).contains(&near), "near share {near}");
        assert!((0.214..0.274).contains(&far), "far share {far}");
    }

    #[test]
    fn weighted_draw_is_distinct_and_covers_everything_when_asked() {
        let mut rng = SeededRng::new(1, 0);
        let all = weighted_choice_without_replacement(&[1.0, 100.0, 0.01, 5.0], 4, &mut rng);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        let heavy = (0..500)
            .filter(|_| weighted_choice_without_replacement(&[1.0, 100.0, 1.0], 1, &mut rng) == vec![1])
            .count();
        assert!(heavy > 450, "{heavy}");
    }

    #[test]
    fn same_seed_same_sequence() {
        assert_eq!(example(256, 16, 9), example(256, 16, 9));
        assert_ne!(example(256, 16, 9), example(256, 16, 10));
    }

    #[test]
    fn long_configs_scale_the_vocabulary() {
        let cfg = MqarConfig::new(16384, 1024);
        assert_eq!(cfg.vocab_size, 32768);
        cfg.validate().unwrap();
        let ex = generate_example(&cfg, &mut SeededRng::new(0, 0)).unwrap();
        assert_eq!(ex.queries.len(), 1024);
    }

    #[test]
    fn zoology_assertions_are_errors() {
        let e = MqarConfig::new(511, 4).validate().unwrap_err().to_string();
        assert!(e.contains("seq_len = 511") && e.contains("even"), "{e}");
        let e = MqarConfig::new(512, 129).validate().unwrap_err().to_string();
        assert!(e.contains("num_kv_pairs = 129") && e.contains("128"), "{e}");
        let mut cfg = MqarConfig::new(512, 64);
        cfg.vocab_size = 512;
        assert!(cfg.validate().unwrap_err().to_string().contains("vocab_size = 512"));
    }
}
