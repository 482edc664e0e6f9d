//! Head profiles: how strongly each planted component shows in a head's logits,
//! and how a profile string (`vertical-slash:vertical=4,noise=0.5`) assigns
//! profiles to heads.

use crate::error::{Result, WorkloadError};
use crate::rng::SeededRng;

/// Per-component strengths of one query head, in logits (units of
/// `q . k / sqrt(head_dim)`), each relative to a key with no planted structure.
///
/// Components add: a key that is both a sink and inside the local window gets
/// both terms. All are `>= 0`; zero switches a component off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadProfile {
    /// Added to the first 4 keys (attention sinks), times 1, 0.9, 0.85, 0.8.
    pub sink: f64,
    /// Peak of the local window at offset 0: a smooth bump in the offset `i - j`
    /// whose logit halves about `L / 60` tokens back and is gone by `L / 33` at head
    /// dim 128 (`L / 27` and `L / 14` at head dim 64; 260 and 500 tokens at 16k).
    pub local: f64,
    /// Added to the vertical columns (one per 256 tokens), times a factor in `[0.75, 1]`.
    pub vertical: f64,
    /// Peak of each of the 3 slash bands (offsets drawn in 12-22%, 32-50% and
    /// 60-80% of the sequence), bumps of the same shape as the local window.
    pub slash: f64,
    /// Added to keys of the query's own block cluster (8 clusters over
    /// segments of about a 32nd of the sequence, at least 128 tokens).
    pub block: f64,
    /// Added to a retrieval query's one target key (4 or 8 pairs per kv head).
    pub retrieval: f64,
    /// Standard deviation of the i.i.d. noise logit.
    pub noise: f64,
}

const fn profile(
    sink: f64,
    local: f64,
    vertical: f64,
    slash: f64,
    block: f64,
    retrieval: f64,
    noise: f64,
) -> HeadProfile {
    HeadProfile {
        sink,
        local,
        vertical,
        slash,
        block,
        retrieval,
        noise,
    }
}

/// Profiles that are one [`HeadProfile`] for every head, with their defaults.
const PURE: [(&str, HeadProfile); 4] = [
    ("streaming", profile(12.0, 12.0, 0.0, 0.0, 0.0, 0.0, 1.0)),
    ("vertical-slash", profile(10.0, 11.0, 13.0, 11.0, 0.0, 0.0, 1.0)),
    ("block", profile(4.0, 0.0, 0.0, 0.0, 10.0, 0.0, 1.0)),
    ("retrieval", profile(8.0, 8.0, 0.0, 0.0, 0.0, 20.0, 1.5)),
];

/// Every profile name [`super::generate`] accepts.
const ALL: [&str; 6] = [
    "streaming",
    "vertical-slash",
    "block",
    "retrieval",
    "mixed",
    "llama-like",
];

/// Share of each pure profile among the heads of `llama-like`, in the order of
/// the pure profiles (streaming, vertical-slash, block, retrieval).
///
/// Sources (REFERENCE.md §4-5): MInference's shipped per-head configs are
/// essentially all vertical-slash, and its paper also finds A-shape and
/// block-sparse heads; DuoAttention keeps 50-75% of heads as sink+recent
/// (streaming); fewer than 5% of heads are retrieval heads (Wu et al. 2024).
/// Hence: 60% vertical-slash, 25% streaming, 12% block, 3% retrieval.
pub const LLAMA_LIKE_SHARES: [(&str, f64); 4] = [
    ("streaming", 0.25),
    ("vertical-slash", 0.60),
    ("block", 0.12),
    ("retrieval", 0.03),
];

/// The override keys, in the order of [`HeadProfile`]'s fields.
const KEYS: [&str; 7] = ["sink", "local", "vertical", "slash", "block", "retrieval", "noise"];

/// Largest accepted strength: beyond it f32 softmax saturates and nothing changes.
const MAX_STRENGTH: f64 = 100.0;

/// All profile names, the pure ones first.
pub fn profile_names() -> &'static [&'static str] {
    &ALL
}

impl HeadProfile {
    /// The defaults of a pure profile (`streaming`, `vertical-slash`, `block`,
    /// `retrieval`); `mixed` and `llama-like` assign different profiles to
    /// different heads, so they are an error here.
    pub fn named(name: &str) -> Result<Self> {
        if let Some((_, p)) = PURE.iter().find(|(n, _)| *n == name) {
            return Ok(*p);
        }
        if ALL.contains(&name) {
            let pure: Vec<&str> = PURE.iter().map(|(n, _)| *n).collect();
            return Err(WorkloadError::invalid(
                "profile",
                name,
                format!(
                    "is a mixture of head profiles, not one; pure profiles are {}",
                    pure.join(", ")
                ),
            ));
        }
        Err(unknown(name))
    }

    /// Sets the strength `key` (one of [`KEYS`], checked by the parser) to `value`.
    fn set(&mut self, key: &str, value: f64) {
        let field = match key {
            "sink" => &mut self.sink,
            "local" => &mut self.local,
            "vertical" => &mut self.vertical,
            "slash" => &mut self.slash,
            "block" => &mut self.block,
            "retrieval" => &mut self.retrieval,
            _ => &mut self.noise,
        };
        *field = value;
    }
}

fn unknown(name: &str) -> WorkloadError {
    WorkloadError::UnknownProfile {
        name: name.to_string(),
        known: ALL.join(", "),
    }
}

/// A parsed profile string: the name and the overrides, applied to every head.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProfileSpec {
    pub name: String,
    overrides: Vec<(String, f64)>,
}

impl ProfileSpec {
    /// Parses `name` or `name:key=value,key=value`; names, keys and values are checked.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let (name, rest) = match text.split_once(':') {
            Some((n, r)) => (n.trim(), r),
            None => (text, ""),
        };
        if !ALL.contains(&name) {
            return Err(unknown(name));
        }
        let mut overrides: Vec<(String, f64)> = Vec::new();
        for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| {
                WorkloadError::invalid(
                    "profile override",
                    item,
                    format!("is not of the form key=value; keys: {}", KEYS.join(", ")),
                )
            })?;
            let (key, value) = (key.trim(), value.trim());
            if !KEYS.contains(&key) {
                return Err(WorkloadError::invalid(
                    "profile override key",
                    key,
                    format!("is not a component strength; keys: {}", KEYS.join(", ")),
                ));
            }
            if overrides.iter().any(|(k, _)| k == key) {
                return Err(WorkloadError::invalid("profile override key", key, "is given twice"));
            }
            let parsed = value.parse::<f64>().ok().filter(|v| (0.0..=MAX_STRENGTH).contains(v));
            let v = parsed.ok_or_else(|| {
                WorkloadError::invalid(key, value, format!("must be a number of logits in [0, {MAX_STRENGTH}]"))
            })?;
            overrides.push((key.to_string(), v));
        }
        Ok(Self {
            name: name.to_string(),
            overrides,
        })
    }

    /// The profile name and strengths of each of `heads` query heads.
    pub fn assign(&self, heads: usize, seed: u64) -> Vec<(&'static str, HeadProfile)> {
        let indices: Vec<usize> = match self.name.as_str() {
            "mixed" => (0..heads).map(|h| h % PURE.len()).collect(),
            "llama-like" => llama_like_indices(heads, seed),
            // `parse` accepted the name, so it is pure here.
            name => vec![PURE.iter().position(|(n, _)| *n == name).unwrap_or(0); heads],
        };
        indices
            .into_iter()
            .map(|i| {
                let (name, mut p) = PURE[i];
                for (k, v) in &self.overrides {
                    p.set(k, *v);
                }
                (name, p)
            })
            .collect()
    }
}

/// Stream of [`SeededRng`] that shuffles the `llama-like` head assignment.
const ASSIGN_STREAM: u64 = 0xA551_0000_0000_0000;

/// Indices into [`PURE`]: counts by largest remainder (so the shares hold for
/// any head count), then a seeded Fisher-Yates shuffle over heads.
fn llama_like_indices(heads: usize, seed: u64) -> Vec<usize> {
    let exact: Vec<f64> = LLAMA_LIKE_SHARES.iter().map(|(_, s)| s * heads as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // Largest remainder first (a stable sort keeps table order on ties).
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = heads - counts.iter().sum::<usize>();
    for &i in order.iter().take(missing) {
        counts[i] += 1;
    }
    let mut indices: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| std::iter::repeat_n(i, n))
        .collect();
    let mut rng = SeededRng::new(seed, ASSIGN_STREAM);
    for i in (1..indices.len()).rev() {
        indices.swap(i, rng.below(i + 1));
    }
    indices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_to_every_head() {
        let spec = ProfileSpec::parse(" vertical-slash : vertical=4, noise=0.5 ").unwrap();
        let heads = spec.assign(3, 0);
        assert!(heads
            .iter()
            .all(|(n, p)| *n == "vertical-slash" && p.vertical == 4.0 && p.noise == 0.5));
        assert_eq!(heads[0].1.sink, HeadProfile::named("vertical-slash").unwrap().sink);
    }

    #[test]
    fn bad_strings_name_the_problem() {
        let msg = |s: &str| ProfileSpec::parse(s).unwrap_err().to_string();
        let m = msg("vertcal-slash");
        assert!(m.contains("vertcal-slash") && m.contains("llama-like"), "{m}");
        let m = msg("block:blok=3");
        assert!(m.contains("blok") && m.contains("retrieval, noise"), "{m}");
        let m = msg("block:block=-1");
        assert!(m.contains("-1") && m.contains("[0, 100]"), "{m}");
        assert!(msg("block:block=nan").contains("nan"));
        assert!(msg("block:block").contains("key=value"));
        assert!(msg("block:block=1,block=2").contains("twice"));
        assert!(HeadProfile::named("mixed").unwrap_err().to_string().contains("mixture"));
        assert!(HeadProfile::named("nope")
            .unwrap_err()
            .to_string()
            .contains("streaming"));
    }

    #[test]
    fn llama_like_follows_the_shares() {
        let names: Vec<&str> = llama_like_indices(32, 7).into_iter().map(|i| PURE[i].0).collect();
        let count = |n: &str| names.iter().filter(|&&x| x == n).count();
        assert_eq!(
            (
                count("vertical-slash"),
                count("streaming"),
                count("block"),
                count("retrieval")
            ),
            (19, 8, 4, 1)
        );
        assert_eq!(llama_like_indices(32, 7), llama_like_indices(32, 7));
        assert_ne!(llama_like_indices(32, 7), llama_like_indices(32, 8));
        assert_eq!(llama_like_indices(1, 0), vec![1], "one head is vertical-slash");
    }

    #[test]
    fn mixed_cycles_through_the_pure_profiles() {
        let spec = ProfileSpec::parse("mixed").unwrap();
        let names: Vec<_> = spec.assign(6, 0).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "streaming",
                "vertical-slash",
                "block",
                "retrieval",
                "streaming",
                "vertical-slash"
            ]
        );
    }
}
