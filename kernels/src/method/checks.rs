//! Validation shared by the methods: positive budgets, fractions in (0, 1],
//! supported block sizes, budgets that fit the sequence, causal-only methods.
//! Every error names the method, the parameter, the value and what is expected.

use super::params::Params;
use crate::error::{KernelError, Result};

/// A token or block budget and whether the user gave it. A given budget that
/// exceeds the sequence is an error; a default one is capped to the sequence,
/// so that every method runs at its defaults (`--methods all`) on any length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The configured value (what the label shows).
    pub value: usize,
    /// Given by the user (or a constructor) rather than a catalog default.
    pub given: bool,
}

impl Budget {
    /// A budget given explicitly.
    pub fn given(value: usize) -> Self {
        Self { value, given: true }
    }

    /// Reads `key`, falling back to `default` (marked as not given).
    pub fn read(p: &mut Params, key: &str, default: usize) -> Result<Self> {
        let given = p.has(key);
        let value = p.usize_or(key, default)?;
        Ok(if given {
            Self::given(value)
        } else {
            Self {
                value: default,
                given: false,
            }
        })
    }

    /// The budget in tokens on `seq_len` tokens.
    pub fn tokens(self, method: &str, key: &str, seq_len: usize) -> Result<usize> {
        if self.given {
            fits_sequence(method, key, self.value, seq_len)?;
        }
        Ok(self.value.min(seq_len))
    }

    /// The value a selection on `seq_len` tokens uses, without the error check
    /// (for labels): capped to `limit` when it is a default.
    pub fn shown(self, limit: usize) -> usize {
        if self.given {
            self.value
        } else {
            self.value.min(limit)
        }
    }

    /// The budget in blocks of `block` tokens on `seq_len` tokens.
    pub fn blocks(self, method: &str, key: &str, seq_len: usize, block: usize) -> Result<usize> {
        if self.given {
            fits_blocks(method, key, self.value, seq_len, block)?;
        }
        Ok(self.value.min(seq_len.div_ceil(block)))
    }
}

/// `k` key blocks of `block` tokens: the budget of the block-selection methods
/// (`block-topk`, `oracle-blocks`), parsed, validated and labelled in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockBudget {
    /// Key blocks kept per query block.
    pub k: Budget,
    /// Tokens per block (64 or 128).
    pub block: usize,
}

impl BlockBudget {
    /// Keyword parameters it reads.
    pub const PARAMS: [&'static str; 2] = ["k", "block"];

    /// A given `k` (at least 1) of `block`-token blocks (64 or 128).
    pub fn new(method: &str, k: usize, block: usize) -> Result<Self> {
        Ok(Self {
            k: Budget::given(nonzero(method, "k", k)?),
            block: supported_block(method, block)?,
        })
    }

    /// From `k=..,block=..`; rejects any other key.
    pub fn from_params(mut p: Params, method: &str, default_k: usize, default_block: usize) -> Result<Self> {
        let k = Budget::read(&mut p, "k", default_k)?;
        let block = block_size(&mut p, method, default_block)?;
        p.finish(&Self::PARAMS)?;
        let mut budget = Self::new(method, k.value, block)?;
        budget.k = k;
        Ok(budget)
    }

    /// Blocks kept on `seq_len` tokens (a given `k` beyond the blocks is an error).
    pub fn blocks_on(self, method: &str, seq_len: usize) -> Result<usize> {
        self.k.blocks(method, "k", seq_len, self.block)
    }

    /// `k=..,block=..` as configured.
    pub fn params(self) -> String {
        format!("k={},block={}", self.k.value, self.block)
    }

    /// `k=..,block=..` as used on `seq_len` tokens.
    pub fn effective_params(self, seq_len: usize) -> String {
        format!("k={},block={}", self.k.shown(seq_len.div_ceil(self.block)), self.block)
    }
}

/// Errors when a count budget (`k`, `v`, `s`, `local`, ...) is 0: it would keep nothing.
pub(crate) fn nonzero(method: &str, key: &str, value: usize) -> Result<usize> {
    if value == 0 {
        return Err(KernelError::bad_param(
            method,
            key,
            "= 0 keeps nothing; give a budget of at least 1",
        ));
    }
    Ok(value)
}

/// A fraction in (0, 1] such as FlexPrefill's `gamma` or XAttention's `tau`.
pub(crate) fn fraction(p: &mut Params, method: &str, key: &str, default: f64) -> Result<f64> {
    let value = p.f64_in(key, default, 0.0, 1.0)?;
    unit_interval(method, key, value)
}

/// Errors unless `value` lies in (0, 1].
pub(crate) fn unit_interval(method: &str, key: &str, value: f64) -> Result<f64> {
    if !(value > 0.0 && value <= 1.0) {
        return Err(KernelError::bad_param(
            method,
            key,
            format!("= {value} is outside (0, 1]"),
        ));
    }
    Ok(value)
}

/// Block sizes the block-sparse kernels run: 64 and 128.
pub(crate) const BLOCK_SIZES: [usize; 2] = [64, 128];

/// A block size, one of [`BLOCK_SIZES`].
pub(crate) fn block_size(p: &mut Params, method: &str, default: usize) -> Result<usize> {
    let value = p.usize_or("block", default)?;
    supported_block(method, value)
}

/// Errors unless `value` is one of [`BLOCK_SIZES`].
pub(crate) fn supported_block(method: &str, value: usize) -> Result<usize> {
    if !BLOCK_SIZES.contains(&value) {
        return Err(KernelError::bad_param(
            method,
            "block",
            format!("= {value} is not a supported block size; use 64 or 128"),
        ));
    }
    Ok(value)
}

/// Errors when a token budget exceeds the sequence length.
pub(crate) fn fits_sequence(method: &str, key: &str, value: usize, seq_len: usize) -> Result<()> {
    if value > seq_len {
        return Err(KernelError::bad_param(
            method,
            key,
            format!("= {value} is larger than the sequence ({seq_len} tokens); give at most {seq_len}"),
        ));
    }
    Ok(())
}

/// Errors when a block budget exceeds the number of blocks in the sequence.
pub(crate) fn fits_blocks(method: &str, key: &str, value: usize, seq_len: usize, block: usize) -> Result<()> {
    let blocks = seq_len.div_ceil(block);
    if value > blocks {
        return Err(KernelError::bad_param(
            method,
            key,
            format!(
                "= {value} blocks is larger than the sequence ({seq_len} tokens = {blocks} blocks of {block}); give at most {blocks}"
            ),
        ));
    }
    Ok(())
}

/// Errors for methods defined only for causal (prefill) attention.
pub(crate) fn require_causal(method: &str, causal: bool) -> Result<()> {
    if !causal {
        return Err(KernelError::bad_param(
            method,
            "causal",
            "= false is not supported: this method is defined for causal prefill; \
             use block-topk, xattention or an oracle for full (non-causal) attention",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::MethodSpec;

    #[test]
    fn zero_budget_and_bad_fractions_are_named() {
        let spec = MethodSpec::parse("x:k=0,gamma=0").unwrap();
        let mut p = Params::new(&spec);
        let k = Budget::read(&mut p, "k", 3).unwrap();
        let e = nonzero("x", "k", k.value).unwrap_err().to_string();
        assert!(e.contains("`k`") && e.contains("= 0"), "{e}");
        let e = fraction(&mut p, "x", "gamma", 0.9).unwrap_err().to_string();
        assert!(e.contains("(0, 1]"), "{e}");
        assert!(unit_interval("x", "tau", 1.0).is_ok());
    }

    #[test]
    fn given_budgets_must_fit_and_defaults_are_capped() {
        let spec = MethodSpec::parse("x:k=600").unwrap();
        let mut p = Params::new(&spec);
        let k = Budget::read(&mut p, "k", 100).unwrap();
        let s = Budget::read(&mut p, "s", 6096).unwrap();
        assert_eq!((k, s.given, s.value), (Budget::given(600), false, 6096));
        assert!(k.tokens("x", "k", 512).is_err());
        assert_eq!(s.tokens("x", "s", 512).unwrap(), 512);
        assert_eq!(s.blocks("x", "s", 512, 64).unwrap(), 8);
        assert!(p.finish(&["k", "s"]).is_ok());
    }

    #[test]
    fn budgets_beyond_the_sequence_name_both_numbers() {
        let e = fits_sequence("x", "k", 600, 512).unwrap_err().to_string();
        assert!(e.contains("600") && e.contains("512"), "{e}");
        assert!(fits_sequence("x", "k", 512, 512).is_ok());
        let e = fits_blocks("x", "k", 9, 512, 64).unwrap_err().to_string();
        assert!(e.contains("8 blocks"), "{e}");
        assert!(supported_block("x", 96).is_err());
        assert!(require_causal("x", false).is_err());
    }
}
