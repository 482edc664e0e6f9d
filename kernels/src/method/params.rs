//! Parsing of method specifications such as `vertical-slash:v=1000,s=6096`.

use crate::error::{KernelError, Result};

/// A method name with its `key=value` parameters, as typed by a user.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSpec {
    /// Method name before the colon.
    pub name: String,
    /// Parameters in the order given.
    pub params: Vec<(String, String)>,
}

impl MethodSpec {
    /// Parses `name` or `name:key=value,key=value`.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let (name, rest) = match spec.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (spec, None),
        };
        if name.is_empty() {
            return Err(KernelError::bad_param(
                spec,
                "name",
                "is empty; write e.g. `block-topk:k=100`",
            ));
        }
        let mut params = Vec::new();
        if let Some(rest) = rest {
            for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = item
                    .split_once('=')
                    .ok_or_else(|| KernelError::bad_param(name, item, "is not of the form key=value"))?;
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                if params.iter().any(|(pk, _): &(String, String)| *pk == k) {
                    return Err(KernelError::bad_param(name, &k, "is given twice"));
                }
                params.push((k, v));
            }
        }
        Ok(Self {
            name: name.to_string(),
            params,
        })
    }
}

/// Typed access to a method's parameters; every read marks the key as used,
/// and [`Params::finish`] rejects keys nobody read (typos, wrong method).
#[derive(Debug)]
pub struct Params {
    method: String,
    entries: Vec<(String, String, bool)>,
}

impl Params {
    /// Wraps the parameters of `spec`.
    pub fn new(spec: &MethodSpec) -> Self {
        Self {
            method: spec.name.clone(),
            entries: spec.params.iter().map(|(k, v)| (k.clone(), v.clone(), false)).collect(),
        }
    }

    fn raw(&mut self, key: &str) -> Option<String> {
        self.entries.iter_mut().find(|(k, _, _)| k == key).map(|(_, v, used)| {
            *used = true;
            v.clone()
        })
    }

    /// Whether the user gave `key` (does not mark it as read).
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _, _)| k == key)
    }

    /// A positive integer, or `default` when absent.
    pub fn usize_or(&mut self, key: &str, default: usize) -> Result<usize> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().map_err(|_| {
                KernelError::bad_param(&self.method, key, format!("= `{v}` is not a non-negative integer"))
            }),
        }
    }

    /// A finite number in `[lo, hi]`, or `default` when absent.
    pub fn f64_in(&mut self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        let value = match self.raw(key) {
            None => default,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| KernelError::bad_param(&self.method, key, format!("= `{v}` is not a number")))?,
        };
        if !(lo..=hi).contains(&value) {
            return Err(KernelError::bad_param(
                &self.method,
                key,
                format!("= {value} is outside [{lo}, {hi}]"),
            ));
        }
        Ok(value)
    }

    /// Errors on keys that were given but never read, listing the known ones.
    pub fn finish(self, known: &[&str]) -> Result<()> {
        if let Some((k, _, _)) = self.entries.iter().find(|(_, _, used)| !used) {
            return Err(KernelError::bad_param(
                &self.method,
                k,
                format!(
                    "is not a parameter of this method; known parameters: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_params() {
        let s = MethodSpec::parse(" vertical-slash: v=1000, s=6096 ").unwrap();
        assert_eq!(s.name, "vertical-slash");
        assert_eq!(s.params, vec![("v".into(), "1000".into()), ("s".into(), "6096".into())]);
        assert!(MethodSpec::parse("dense").unwrap().params.is_empty());
    }

    #[test]
    fn malformed_and_duplicate_params_are_errors() {
        assert!(MethodSpec::parse("a-shape:sink")
            .unwrap_err()
            .to_string()
            .contains("key=value"));
        assert!(MethodSpec::parse("a-shape:sink=1,sink=2")
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(MethodSpec::parse(":k=1").is_err());
    }

    #[test]
    fn unknown_and_bad_values_are_named() {
        let spec = MethodSpec::parse("block-topk:k=x").unwrap();
        let e = Params::new(&spec).usize_or("k", 100).unwrap_err().to_string();
        assert!(
            e.contains("block-topk") && e.contains("`k`") && e.contains("`x`"),
            "{e}"
        );
        let spec = MethodSpec::parse("block-topk:kk=3").unwrap();
        let mut p = Params::new(&spec);
        assert_eq!(p.usize_or("k", 100).unwrap(), 100);
        let e = p.finish(&["k", "block"]).unwrap_err().to_string();
        assert!(e.contains("`kk`") && e.contains("k, block"), "{e}");
        let spec = MethodSpec::parse("flexprefill:gamma=1.5").unwrap();
        assert!(Params::new(&spec).f64_in("gamma", 0.9, 0.0, 1.0).is_err());
    }
}
