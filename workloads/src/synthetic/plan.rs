//! Where each kv head's structure sits: sink tokens, vertical columns, slash
//! offsets, block segments and retrieval pairs.
//!
//! Positions are drawn from the seed (one stream per kv head) and scale with
//! the sequence length, so a profile at 1k tokens has the same shape, in
//! proportion, as at 16k; the query heads of a GQA group share their kv head's plan.

use crate::rng::SeededRng;

/// Keys that act as attention sinks (StreamingLLM keeps 4).
pub const SINK_TOKENS: usize = 4;

/// Relative sink strength of each sink key (the first token is the strongest).
pub(crate) const SINK_WEIGHTS: [f64; SINK_TOKENS] = [1.0, 0.9, 0.85, 0.8];

/// Sequence tokens per vertical column (64 verticals at 16k tokens).
const TOKENS_PER_VERTICAL: usize = 256;

/// Slash bands per head, each drawn from one range of fractions of the sequence:
/// one near (inside an A-shape window at 16k) and two far, apart enough that
/// the bands (and the local window) do not overlap.
const SLASH_RANGES: [(f64, f64); 3] = [(0.12, 0.22), (0.32, 0.5), (0.6, 0.8)];

/// Ground truth of one kv head's planted structure (shared by its query heads).
#[derive(Debug, Clone, PartialEq)]
pub struct KvHeadPlan {
    /// Sink keys `0..sink_tokens`.
    pub sink_tokens: usize,
    /// Vertical key columns, sorted, with their strength factor in `[0.75, 1]`
    /// (the logit a query adds is `vertical * factor`).
    pub verticals: Vec<(usize, f64)>,
    /// Slash offsets `i - j` of the slash bands.
    pub slashes: Vec<usize>,
    /// Block segments, contiguous from token 0 to the end.
    pub segments: Vec<Segment>,
    /// Retrieval pairs `(query, target key)`, target at least a quarter of the
    /// sequence before the query.
    pub retrievals: Vec<(usize, usize)>,
}

impl KvHeadPlan {
    /// Draws the plan of one kv head for `seq_len` tokens with `clusters`
    /// block clusters and room for `retrieval_slots` retrieval pairs.
    pub(crate) fn draw(rng: &mut SeededRng, seq_len: usize, clusters: usize, retrieval_slots: usize) -> Self {
        let sink_tokens = SINK_TOKENS.min(seq_len);
        Self {
            sink_tokens,
            verticals: draw_verticals(rng, seq_len, sink_tokens),
            slashes: SLASH_RANGES
                .iter()
                .map(|&(lo, hi)| ((lo + (hi - lo) * rng.uniform()) * seq_len as f64) as usize)
                .map(|s| s.min(seq_len.saturating_sub(1)))
                .collect(),
            segments: draw_segments(rng, seq_len, clusters),
            retrievals: draw_retrievals(rng, seq_len, sink_tokens, retrieval_slots),
        }
    }

    /// Cluster of every token, from the segments.
    pub fn cluster_of_tokens(&self, seq_len: usize) -> Vec<usize> {
        let mut out = vec![0; seq_len];
        for s in &self.segments {
            out[s.start..s.end].fill(s.cluster);
        }
        out
    }
}

/// A run of tokens whose keys and queries share one block cluster's direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// Cluster index in `0..CLUSTERS`.
    pub cluster: usize,
    /// Strength factor of the segment's keys in `[0.6, 1]`: a query of the same
    /// cluster adds `block * salience` to them, so some blocks matter more than others.
    pub salience: f64,
}

fn draw_verticals(rng: &mut SeededRng, seq_len: usize, sink_tokens: usize) -> Vec<(usize, f64)> {
    let room = seq_len - sink_tokens;
    let count = (seq_len / TOKENS_PER_VERTICAL).max(1).min(room);
    let mut chosen = std::collections::BTreeMap::new();
    while chosen.len() < count {
        let pos = sink_tokens + rng.below(room);
        let factor = 0.75 + 0.25 * rng.uniform();
        chosen.entry(pos).or_insert(factor);
    }
    chosen.into_iter().collect()
}

/// Segments of random length around `max(128, L / 32)` tokens; clusters come in
/// rounds, each a shuffled permutation of all clusters, so every cluster covers
/// about `1 / clusters` of any long stretch and recurs (off-diagonal blocks).
fn draw_segments(rng: &mut SeededRng, seq_len: usize, clusters: usize) -> Vec<Segment> {
    let mean = (seq_len / 32).max(128);
    let mut segments = Vec::new();
    let mut round: Vec<usize> = Vec::new();
    let mut start = 0;
    let mut previous = usize::MAX;
    while start < seq_len {
        if round.is_empty() {
            round = (0..clusters).collect();
            for i in (1..clusters).rev() {
                round.swap(i, rng.below(i + 1));
            }
            // Popped from the back: never repeat the previous segment's cluster.
            if round.last() == Some(&previous) {
                round.swap(0, clusters - 1);
            }
        }
        let cluster = round.pop().unwrap_or(0);
        let len = mean / 2 + rng.below(mean + 1);
        let end = (start + len).min(seq_len);
        let salience = 0.6 + 0.4 * rng.uniform();
        segments.push(Segment {
            start,
            end,
            cluster,
            salience,
        });
        previous = cluster;
        start = end;
    }
    segments
}

fn draw_retrievals(rng: &mut SeededRng, seq_len: usize, sink_tokens: usize, slots: usize) -> Vec<(usize, usize)> {
    // Queries in the second half, targets at least a quarter of the sequence back.
    let count = if seq_len >= 256 {
        slots
    } else {
        (seq_len / 64).min(slots)
    };
    let half = seq_len / 2;
    let mut queries = std::collections::BTreeSet::new();
    while queries.len() < count {
        queries.insert(half + rng.below(seq_len - half));
    }
    queries
        .into_iter()
        .map(|q| {
            let last_target = q - seq_len / 4; // exclusive; q >= L/2 so this is >= L/4 >= sink
            let target = sink_tokens + rng.below((last_target - sink_tokens).max(1));
            (q, target.min(last_target))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_scales_with_the_sequence() {
        let mut rng = SeededRng::new(3, 0);
        let p = KvHeadPlan::draw(&mut rng, 16384, 8, 8);
        assert_eq!(p.verticals.len(), 64);
        assert!(p
            .verticals
            .iter()
            .all(|&(c, f)| (4..16384).contains(&c) && (0.75..=1.0).contains(&f)));
        assert!(p.slashes.iter().filter(|&&s| s > 4096).count() >= 2, "{:?}", p.slashes);
        assert_eq!(p.segments.first().map(|s| s.start), Some(0));
        assert_eq!(p.segments.last().map(|s| s.end), Some(16384));
        assert!(p
            .segments
            .windows(2)
            .all(|w| w[0].end == w[1].start && w[0].cluster != w[1].cluster));
        // Balanced rounds: every cluster covers a similar share of the sequence.
        let tokens = p.cluster_of_tokens(16384);
        for c in 0..8 {
            let share = tokens.iter().filter(|&&x| x == c).count() as f64 / 16384.0;
            assert!((0.08..0.17).contains(&share), "cluster {c}: {share}");
        }
        assert_eq!(p.retrievals.len(), 8);
        assert!(p.retrievals.iter().all(|&(q, t)| q >= 8192 && q - t >= 4096 && t >= 4));
    }

    #[test]
    fn tiny_sequences_get_a_valid_plan() {
        for seq in [1, 2, 5, 63, 64, 100, 255] {
            let mut rng = SeededRng::new(1, 0);
            let p = KvHeadPlan::draw(&mut rng, seq, 8, 4);
            assert!(p.verticals.iter().all(|&(c, _)| c < seq));
            assert!(p.slashes.iter().all(|&s| s < seq));
            assert!(p.retrievals.iter().all(|&(q, t)| t < q && q < seq));
            assert_eq!(p.cluster_of_tokens(seq).len(), seq);
        }
    }
}
