//! Pareto marks: which points no other point beats on both recall and speed.

/// For each `(recall, speed)` point, whether it is Pareto-optimal: no other point is at least as good on
/// both and strictly better on one. Equal points do not beat each other, so duplicates on the front are
/// all marked. A point with a NaN coordinate is never marked and never beats another.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<bool> {
    let valid = |p: &(f64, f64)| !p.0.is_nan() && !p.1.is_nan();
    points
        .iter()
        .map(|p| {
            valid(p)
                && !points
                    .iter()
                    .any(|q| valid(q) && q.0 >= p.0 && q.1 >= p.1 && (q.0 > p.0 || q.1 > p.1))
        })
        .collect()
}

/// Marks within groups: `group[i]` names the group of point `i` (e.g. its workload); the front is taken
/// within each group.
pub fn pareto_front_by_group<G: PartialEq>(points: &[(f64, f64)], group: &[G]) -> Vec<bool> {
    let mut marks = vec![false; points.len()];
    for i in 0..points.len() {
        if (0..i).any(|j| group[j] == group[i]) {
            continue;
        }
        let members: Vec<usize> = (0..points.len()).filter(|&j| group[j] == group[i]).collect();
        let pts: Vec<(f64, f64)> = members.iter().map(|&j| points[j]).collect();
        for (j, on) in members.iter().zip(pareto_front(&pts)) {
            marks[*j] = on;
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominated_points_are_not_marked() {
        // (recall, speedup): dense (1, 1); a good sparse (0.99, 4); a worse one (0.9, 3); a fast one (0.5, 8).
        let marks = pareto_front(&[(1.0, 1.0), (0.99, 4.0), (0.9, 3.0), (0.5, 8.0)]);
        assert_eq!(marks, [true, true, false, true]);
    }

    #[test]
    fn ties_and_duplicates() {
        // Same recall, one faster: the slower is beaten. Exact duplicates: both stay.
        assert_eq!(pareto_front(&[(0.9, 2.0), (0.9, 3.0)]), [false, true]);
        assert_eq!(pareto_front(&[(0.9, 3.0), (0.9, 3.0), (0.8, 3.0)]), [true, true, false]);
        // Same speed, one with more recall.
        assert_eq!(pareto_front(&[(0.7, 5.0), (0.8, 5.0)]), [false, true]);
    }

    #[test]
    fn nan_and_empty() {
        assert!(pareto_front(&[]).is_empty());
        assert_eq!(pareto_front(&[(f64::NAN, 9.0), (0.5, 1.0)]), [false, true]);
    }

    #[test]
    fn fronts_are_taken_per_group() {
        let pts = [(1.0, 1.0), (0.5, 0.5), (0.4, 0.4), (0.3, 0.3)];
        assert_eq!(pareto_front_by_group(&pts, &[0, 0, 1, 1]), [true, false, true, false]);
    }
}
