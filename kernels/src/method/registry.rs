//! The catalog of methods: names, parameters, defaults, constructors.

use super::params::{MethodSpec, Params};
use super::{AShape, BlockTopK, Dense, FlexPrefill, Method, OracleBlocks, OracleKeys, VerticalSlash, XAttention};
use crate::error::{KernelError, Result};

/// One registered method.
pub struct MethodEntry {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line on what it is and where it comes from.
    pub summary: &'static str,
    /// Parameters with their defaults, e.g. `v=1000,s=6096`.
    pub defaults: &'static str,
    /// Builds the method from parsed parameters (and rejects unknown ones).
    pub build: fn(Params) -> Result<Box<dyn Method>>,
}

fn build_dense(p: Params) -> Result<Box<dyn Method>> {
    p.finish(&[])?;
    Ok(Box::new(Dense))
}

/// Every registered method, in table order (dense first, oracles last).
pub fn method_catalog() -> &'static [MethodEntry] {
    &[
        MethodEntry {
            name: "dense",
            summary: "full attention (the baseline)",
            defaults: "",
            build: build_dense,
        },
        MethodEntry {
            name: "a-shape",
            summary: "attention sinks + local window (StreamingLLM; MInference's A-shape)",
            defaults: "sink=128,local=3968",
            build: |p| Ok(Box::new(AShape::from_params(p)?)),
        },
        MethodEntry {
            name: "vertical-slash",
            summary: "top columns and diagonals estimated from the last 64 queries (MInference)",
            defaults: "v=1000,s=6096",
            build: |p| Ok(Box::new(VerticalSlash::from_params(p)?)),
        },
        MethodEntry {
            name: "block-topk",
            summary: "top-k key blocks per query block by mean-pooled Q K^T (MInference block-sparse)",
            defaults: "k=100,block=64",
            build: |p| Ok(Box::new(BlockTopK::from_params(p)?)),
        },
        MethodEntry {
            name: "flexprefill",
            summary: "per-head query-aware or vertical-slash blocks covering gamma of the attention (FlexPrefill)",
            defaults: "gamma=0.9,tau=0.1,block=128",
            build: |p| Ok(Box::new(FlexPrefill::from_params(p)?)),
        },
        MethodEntry {
            name: "xattention",
            summary: "blocks by strided antidiagonal sums until tau of the mass (XAttention)",
            defaults: "tau=0.9,stride=8,block=128",
            build: |p| Ok(Box::new(XAttention::from_params(p)?)),
        },
        MethodEntry {
            name: "oracle-blocks",
            summary: "exact top-k key blocks by true attention mass (upper bound for block methods)",
            defaults: "k=100,block=64",
            build: |p| Ok(Box::new(OracleBlocks::from_params(p)?)),
        },
        MethodEntry {
            name: "oracle-keys",
            summary: "exact top-k keys per row by true score (upper bound for every method)",
            defaults: "k=2048",
            build: |p| Ok(Box::new(OracleKeys::from_params(p)?)),
        },
    ]
}

/// Builds a method from `name` or `name:key=value,...`.
pub fn parse_method(spec: &str) -> Result<Box<dyn Method>> {
    let spec = MethodSpec::parse(spec)?;
    let entry = method_catalog()
        .iter()
        .find(|e| e.name == spec.name)
        .ok_or_else(|| KernelError::UnknownMethod {
            name: spec.name.clone(),
            known: method_catalog().iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })?;
    (entry.build)(Params::new(&spec))
}

/// Parses a comma-separated method list where each method may carry parameters,
/// e.g. `dense,vertical-slash:v=1000,s=6096,a-shape`; `all` expands to every
/// method at its defaults. A segment without `=` starts a new method.
pub fn parse_methods(list: &str) -> Result<Vec<Box<dyn Method>>> {
    let mut specs: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match specs.last_mut() {
            Some(last) if part.contains('=') && !part.contains(':') => {
                last.push(',');
                last.push_str(part);
            }
            _ => specs.push(part.to_string()),
        }
    }
    let mut methods = Vec::new();
    for s in specs {
        if s == "all" {
            methods.extend(all_default_methods()?);
        } else {
            methods.push(parse_method(&s)?);
        }
    }
    if methods.is_empty() {
        return Err(KernelError::UnknownMethod {
            name: list.to_string(),
            known: method_catalog().iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(methods)
}

/// Every method at its default parameters.
pub fn all_default_methods() -> Result<Vec<Box<dyn Method>>> {
    method_catalog()
        .iter()
        .map(|e| (e.build)(Params::new(&MethodSpec::parse(e.name)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_method_lists_the_known_ones() {
        let e = parse_method("minference")
            .expect_err("unknown method must fail")
            .to_string();
        assert!(e.contains("`minference`") && e.contains("dense"), "{e}");
    }

    #[test]
    fn dense_rejects_parameters() {
        assert!(parse_method("dense:k=1").err().is_some());
        assert_eq!(parse_method("dense").unwrap().label(), "dense");
    }

    #[test]
    fn lists_split_on_method_boundaries() {
        let ms = parse_methods("dense, dense").unwrap();
        assert_eq!(ms.len(), 2);
        assert!(parse_methods("").err().is_some());
        assert!(parse_methods("all").unwrap().len() == method_catalog().len());
    }

    #[test]
    fn effective_params_show_capped_defaults_and_keep_given_budgets() {
        let vs = parse_method("vertical-slash").unwrap();
        assert_eq!(vs.effective_params(4096), "v=1000,s=4096");
        assert_eq!(vs.effective_params(16384), vs.params());
        let given = parse_method("a-shape:sink=4,local=100").unwrap();
        assert_eq!(
            given.effective_params(50),
            "sink=4,local=100",
            "a given budget is never silently capped"
        );
        assert_eq!(
            parse_method("block-topk").unwrap().effective_params(1000),
            "k=16,block=64"
        );
        assert_eq!(parse_method("dense").unwrap().effective_params(10), "");
    }
}
