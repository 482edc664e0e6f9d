//! The keys a kernel loads for one block of query rows.

/// Distinct keys loaded for a block of query rows: contiguous ranges plus loose
/// gathered columns. A key appears at most once across both lists, so an executor
/// may sum over the plan without double counting. Which of these keys each row
/// really keeps is decided by [`super::MaskFormat::keeps`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPlan {
    /// Half-open key ranges `[start, end)`, sorted and disjoint.
    pub ranges: Vec<(u32, u32)>,
    /// Loose key indices, sorted, none inside `ranges`.
    pub columns: Vec<u32>,
}

impl KeyPlan {
    /// Empties the plan, keeping its allocations.
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.columns.clear();
    }

    /// Number of keys in the plan.
    pub fn len(&self) -> usize {
        self.ranges.iter().map(|(a, b)| (b - a) as usize).sum::<usize>() + self.columns.len()
    }

    /// True when the plan loads no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends every key of the plan, ranges first, to `out`.
    pub fn keys_into(&self, out: &mut Vec<u32>) {
        for &(a, b) in &self.ranges {
            out.extend(a..b);
        }
        out.extend_from_slice(&self.columns);
    }

    /// Adds a range, merging it with the last one when they touch or overlap.
    /// Ranges must be pushed in ascending order of start.
    pub fn push_range(&mut self, start: u32, end: u32) {
        if start >= end {
            return;
        }
        if let Some(last) = self.ranges.last_mut() {
            debug_assert!(start >= last.0, "ranges must be pushed in order");
            if start <= last.1 {
                last.1 = last.1.max(end);
                return;
            }
        }
        self.ranges.push((start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_ranges_merge() {
        let mut p = KeyPlan::default();
        p.push_range(0, 4);
        p.push_range(4, 6);
        p.push_range(3, 5);
        p.push_range(9, 10);
        p.push_range(10, 10);
        assert_eq!(p.ranges, vec![(0, 6), (9, 10)]);
        assert_eq!(p.len(), 7);
    }
}
