//! N:M masks: N of every M consecutive keys per query.

use super::{KeyPlan, MaskFormat};
use crate::error::{KernelError, Result};

/// For every query row, the keys are cut into groups of `m` consecutive keys
/// (`[g*m, g*m + m)`) and `n` keys of each group are kept, as N:M sparse hardware
/// executes them. Stored as one `m`-bit pattern per (head, row, group); only
/// groups that hold an attended key are stored (causal rows stop at the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmMask {
    heads: usize,
    seq_len: usize,
    causal: bool,
    n: usize,
    m: usize,
    /// `row_start[h * seq + q]`: index of that row's first group in `patterns`.
    row_start: Vec<usize>,
    patterns: Vec<u16>,
}

impl NmMask {
    /// Checks `1 <= n <= m <= 16`.
    pub fn check_nm(n: usize, m: usize) -> Result<()> {
        if n == 0 || n > m || m > 16 {
            return Err(KernelError::invalid_mask(
                "n:m",
                format!("{n}:{m} is not a valid N:M ratio; need 1 <= N <= M <= 16"),
            ));
        }
        Ok(())
    }

    /// Number of groups row `q` holds.
    pub fn groups_in_row(seq_len: usize, causal: bool, m: usize, q: usize) -> usize {
        if causal {
            (q + 1).div_ceil(m)
        } else {
            seq_len.div_ceil(m)
        }
    }

    /// Builds from one bit pattern per (head, row, group) in order; `patterns`
    /// must hold [`NmMask::groups_in_row`] entries per row, each with at most
    /// `n` bits set, none for keys past the row (causal) or the sequence end.
    pub fn new(heads: usize, seq_len: usize, causal: bool, n: usize, m: usize, patterns: Vec<u16>) -> Result<Self> {
        Self::check_nm(n, m)?;
        let mut row_start = Vec::with_capacity(heads * seq_len + 1);
        let mut at = 0usize;
        for _h in 0..heads {
            for q in 0..seq_len {
                row_start.push(at);
                at += Self::groups_in_row(seq_len, causal, m, q);
            }
        }
        row_start.push(at);
        if patterns.len() != at {
            return Err(KernelError::invalid_mask(
                "n:m",
                format!(
                    "expected {at} group patterns for {heads} heads x {seq_len} rows at M = {m}, got {}",
                    patterns.len()
                ),
            ));
        }
        let mask = Self {
            heads,
            seq_len,
            causal,
            n,
            m,
            row_start,
            patterns,
        };
        for h in 0..heads {
            for q in 0..seq_len {
                let limit = if causal { q + 1 } else { seq_len };
                for (g, &p) in mask.row(h, q).iter().enumerate() {
                    let too_many = p.count_ones() as usize > n;
                    let past_end = (0..m).any(|j| p >> j & 1 == 1 && g * m + j >= limit);
                    if too_many || past_end || (m < 16 && p >> m != 0) {
                        return Err(KernelError::invalid_mask(
                            "n:m",
                            format!("head {h}, row {q}, group {g}: pattern {p:#b} keeps more than {n} keys or keys past {limit}"),
                        ));
                    }
                }
            }
        }
        Ok(mask)
    }

    /// Kept keys per group.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Group size.
    pub fn m(&self) -> usize {
        self.m
    }
    /// The group patterns of head `h`, row `q`.
    pub fn row(&self, h: usize, q: usize) -> &[u16] {
        let i = h * self.seq_len + q;
        &self.patterns[self.row_start[i]..self.row_start[i + 1]]
    }
}

impl MaskFormat for NmMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        self.causal
    }
    fn plan_rows(&self, _head: usize, _row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        let end = if self.causal { row_end } else { self.seq_len };
        plan.push_range(0, end as u32);
    }
    fn keeps(&self, head: usize, q: usize, k: usize) -> bool {
        match self.row(head, q).get(k / self.m) {
            Some(p) => p >> (k % self.m) & 1 == 1,
            None => false,
        }
    }
    /// The pairs kept: N:M hardware skips the pruned keys entirely.
    fn executed_pairs(&self) -> u64 {
        self.patterns.iter().map(|p| p.count_ones() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn two_of_four_keeps_the_set_bits() {
        // 1 head, 4 tokens, causal, 2:4: rows hold 1 group each.
        let m = Mask::Nm(NmMask::new(1, 4, true, 2, 4, vec![0b1, 0b11, 0b101, 0b1010]).unwrap());
        let d = m.to_dense_bool();
        let rows: Vec<Vec<usize>> = (0..4).map(|q| (0..4).filter(|&k| d[q * 4 + k]).collect()).collect();
        assert_eq!(rows, vec![vec![0], vec![0, 1], vec![0, 2], vec![1, 3]]);
        assert_eq!(m.executed_pairs(), 7);
    }

    #[test]
    fn bad_ratio_and_overfull_group_are_rejected() {
        assert!(NmMask::check_nm(3, 2).is_err());
        assert!(NmMask::new(1, 4, true, 1, 4, vec![0b1, 0b11, 0b1, 0b1]).is_err());
        assert!(
            NmMask::new(1, 4, true, 2, 4, vec![0b10, 0b1, 0b1, 0b1]).is_err(),
            "row 0 keeps key 1"
        );
    }
}
