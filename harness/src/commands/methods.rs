//! `sparselab methods`: the registered methods, their parameters and defaults.

use anyhow::Result;
use sparselab_kernels::method::method_catalog;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// Arguments of `sparselab methods` (none).
#[derive(Debug, clap::Args)]
pub struct MethodsArgs {}

#[derive(Tabled)]
struct Row {
    method: &'static str,
    #[tabled(rename = "defaults (override as name:key=value,...)")]
    defaults: &'static str,
    what: &'static str,
}

/// Prints the catalog.
pub fn run(_args: &MethodsArgs) -> Result<()> {
    let rows: Vec<Row> = method_catalog()
        .iter()
        .map(|e| Row {
            method: e.name,
            defaults: if e.defaults.is_empty() { "-" } else { e.defaults },
            what: e.summary,
        })
        .collect();
    println!("{}", Table::new(rows).with(Style::markdown()));
    Ok(())
}
