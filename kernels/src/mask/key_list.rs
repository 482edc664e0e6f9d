//! General masks: a sorted list of keys per query row.

use super::{KeyPlan, MaskFormat};
use crate::error::{KernelError, Result};

/// Per head and query row, the sorted keys it attends to (compressed sparse
/// rows). The format for anything the structured formats cannot express, such
/// as per-row oracle top-k; a gather kernel executes exactly the listed pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListMask {
    heads: usize,
    seq_len: usize,
    causal: bool,
    /// `offsets[h * seq + q] .. offsets[h * seq + q + 1]` indexes `keys`.
    offsets: Vec<usize>,
    keys: Vec<u32>,
}

impl KeyListMask {
    /// Builds from one key list per (head, row), head-major. Lists are sorted and
    /// deduplicated; keys must be below `seq_len` and, when causal, not after the row.
    pub fn from_rows(heads: usize, seq_len: usize, causal: bool, rows: Vec<Vec<u32>>) -> Result<Self> {
        if rows.len() != heads * seq_len {
            return Err(KernelError::invalid_mask(
                "key-list",
                format!(
                    "expected {} rows ({heads} heads x {seq_len} tokens), got {}",
                    heads * seq_len,
                    rows.len()
                ),
            ));
        }
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        let mut keys = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        offsets.push(0);
        for (i, mut row) in rows.into_iter().enumerate() {
            row.sort_unstable();
            row.dedup();
            let q = i % seq_len;
            if let Some(&last) = row.last() {
                let limit = if causal { q } else { seq_len - 1 };
                if last as usize > limit {
                    return Err(KernelError::invalid_mask(
                        "key-list",
                        format!("head {}, row {q} lists key {last}, beyond {limit}", i / seq_len),
                    ));
                }
            }
            keys.extend_from_slice(&row);
            offsets.push(keys.len());
        }
        Ok(Self {
            heads,
            seq_len,
            causal,
            offsets,
            keys,
        })
    }

    /// The sorted keys of head `h`, row `q`.
    pub fn row(&self, h: usize, q: usize) -> &[u32] {
        let i = h * self.seq_len + q;
        &self.keys[self.offsets[i]..self.offsets[i + 1]]
    }
}

impl MaskFormat for KeyListMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        self.causal
    }
    fn plan_rows(&self, head: usize, row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        for q in row_start..row_end {
            plan.columns.extend_from_slice(self.row(head, q));
        }
        plan.columns.sort_unstable();
        plan.columns.dedup();
    }
    fn keeps(&self, head: usize, q: usize, k: usize) -> bool {
        self.row(head, q).binary_search(&(k as u32)).is_ok()
    }
    /// A linear merge of the row's sorted keys with `keys` when `keys` ascend (as
    /// this format's own plan does); a descent restarts the merge.
    fn keep_row(&self, head: usize, q: usize, keys: &[u32], out: &mut [bool]) {
        let row = self.row(head, q);
        let mut at = 0usize;
        let mut previous = 0u32;
        for (o, &k) in out.iter_mut().zip(keys) {
            if k < previous {
                at = 0;
            }
            previous = k;
            while at < row.len() && row[at] < k {
                at += 1;
            }
            *o = row.get(at) == Some(&k);
        }
    }
    fn executed_pairs(&self) -> u64 {
        self.keys.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn rows_round_trip_through_dense_bool() {
        let rows = vec![vec![0], vec![1, 0], vec![2, 0, 0]];
        let m = Mask::KeyList(KeyListMask::from_rows(1, 3, true, rows).unwrap());
        let d = m.to_dense_bool();
        assert_eq!(d, vec![true, false, false, true, true, false, true, false, true]);
        assert_eq!(m.executed_pairs(), 5);
    }

    #[test]
    fn keep_row_matches_keeps_in_any_key_order() {
        let rows = vec![vec![], vec![], vec![], vec![], vec![], vec![0, 2, 3, 5]];
        let m = KeyListMask::from_rows(1, 6, true, rows).unwrap();
        for keys in [vec![0u32, 1, 2, 3, 4, 5], vec![5, 3, 1, 0], vec![2, 2, 0, 5, 4]] {
            let mut out = vec![false; keys.len()];
            m.keep_row(0, 5, &keys, &mut out);
            let want: Vec<bool> = keys.iter().map(|&k| m.keeps(0, 5, k as usize)).collect();
            assert_eq!(out, want, "keys {keys:?}");
        }
    }

    #[test]
    fn future_key_is_rejected_when_causal() {
        let e = KeyListMask::from_rows(1, 2, true, vec![vec![1], vec![]]).unwrap_err();
        assert!(e.to_string().contains("row 0 lists key 1"), "{e}");
    }
}
