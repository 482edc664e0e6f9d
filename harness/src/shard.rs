//! `--shard i/n`: split any list of work items (a sweep's grid points, a study's
//! method x workload pairs) so that several GPUs, machines or a Slurm job array each
//! run one shard; every row records its position in the unsharded list
//! (`work_index`) and `sparselab merge` joins the shards' CSVs back in that order.

use anyhow::{bail, Context, Result};

/// `--shard i/n`: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 0-based.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with `0 <= i < n`.
    pub fn parse(text: &str) -> Result<Self> {
        let (i, n) = text
            .split_once('/')
            .with_context(|| format!("--shard `{text}`: expected i/n, e.g. 0/4"))?;
        let index: usize = i
            .trim()
            .parse()
            .with_context(|| format!("--shard `{text}`: `{i}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .with_context(|| format!("--shard `{text}`: `{n}` is not a number"))?;
        if count == 0 || index >= count {
            bail!("--shard {text} is out of range: i must be in 0..n and n at least 1 (0-based, e.g. 0/2 and 1/2)");
        }
        Ok(Self { index, count })
    }

    /// Whether this shard runs the work item at `position` of the unsharded list.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_work() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        for pos in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.owns(pos)).count(), 1, "{pos}");
        }
        assert!(Shard::parse("3/2").unwrap_err().to_string().contains("out of range"));
        assert!(Shard::parse("1/0").is_err() && Shard::parse("x/2").is_err() && Shard::parse("1").is_err());
        assert!(Shard::ALL.owns(7));
    }
}
