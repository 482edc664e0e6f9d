//! The grid of a what-if sweep: `--vary name=v1,v2,...` axes, their cartesian
//! product in a fixed order (sharded by [`crate::shard::Shard`]).

use anyhow::{bail, Context, Result};

/// One varied parameter and its values, as given on the command line (strings: each
/// sweep interprets its own axes).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Parameter name, e.g. `bandwidth`.
    pub name: String,
    /// Values in the order given.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `name=v1,v2,...`; names must be among `known`.
    pub fn parse(text: &str, known: &[&str]) -> Result<Self> {
        let (name, values) = text
            .split_once('=')
            .with_context(|| format!("--vary `{text}`: expected name=v1,v2,... (e.g. bandwidth=0.5,1,2)"))?;
        let name = name.trim();
        if !known.contains(&name) {
            bail!(
                "--vary `{text}`: unknown parameter `{name}`; this sweep varies {}",
                known.join(", ")
            );
        }
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            bail!("--vary `{text}`: no values after `=`");
        }
        Ok(Self {
            name: name.to_string(),
            values,
        })
    }
}

/// Parses every `--vary`, rejecting a parameter given twice.
pub fn parse_axes(texts: &[String], known: &[&str]) -> Result<Vec<Axis>> {
    let mut axes: Vec<Axis> = Vec::new();
    for t in texts {
        let axis = Axis::parse(t, known)?;
        if axes.iter().any(|a| a.name == axis.name) {
            bail!("--vary {} is given twice; list all its values in one flag", axis.name);
        }
        axes.push(axis);
    }
    Ok(axes)
}

/// One grid point: a value for each axis, in the axes' order.
pub type Point = Vec<(String, String)>;

/// The cartesian product of `axes`, the first axis varying slowest (one empty point when there
/// are no axes).
pub fn points(axes: &[Axis]) -> Vec<Point> {
    let mut out: Vec<Point> = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((axis.name.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_the_cartesian_product_first_axis_slowest() {
        let axes = parse_axes(&["a=1,2".into(), "b=x,y,z".into()], &["a", "b"]).unwrap();
        let p = points(&axes);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], vec![("a".into(), "1".into()), ("b".into(), "x".into())]);
        assert_eq!(p[5], vec![("a".into(), "2".into()), ("b".into(), "z".into())]);
        assert_eq!(points(&[]), vec![Vec::new()]);
    }

    #[test]
    fn bad_axes_are_named() {
        let e = |t: &str| format!("{:#}", parse_axes(&[t.to_string()], &["a", "b"]).unwrap_err());
        assert!(e("c=1").contains("unknown parameter `c`") && e("c=1").contains("a, b"));
        assert!(e("a").contains("expected name=v1,v2"));
        assert!(e("a=").contains("no values"));
        let twice = parse_axes(&["a=1".into(), "a=2".into()], &["a"]).unwrap_err();
        assert!(twice.to_string().contains("given twice"));
    }
}
