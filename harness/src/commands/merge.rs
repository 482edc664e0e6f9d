//! `sparselab merge OUT.csv A.csv B.csv ...`: joins the CSVs of a sharded run
//! (`--shard i/n`) into one, as the unsharded run would have written it.
//!
//! The files must share one header. Rows are matched by the default key of
//! `compare` (every column that is not a measurement, provenance or wall time);
//! a key found twice is an error. With a `work_index` column the rows are sorted
//! by it (the unsharded order), otherwise kept in input order. Where the header
//! has the recall table's `pareto`, `recall_mean` and `speedup` columns, the
//! Pareto marks (left empty by each shard) are set over all rows, as `mark_pareto`
//! sets them in an unsharded run.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::PathBuf;

use crate::compare::columns::{default_key, ORDER};
use crate::compare::key::KeyColumns;
use crate::compare::{CompareError, CsvTable};
use crate::output::write_atomic;
use crate::pareto::pareto_front_by_group;
use crate::study::recall::{PARETO_RECALL, PARETO_SPEED, WORKLOAD_COLUMNS};

/// Arguments of `sparselab merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The merged CSV to write (atomically).
    pub out: PathBuf,
    /// The shards' CSVs, in any order.
    #[arg(required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
}

/// One merged row: its fields, and where it came from (for messages).
struct Row {
    fields: Vec<String>,
    file: usize,
    line: u64,
}

/// Reads, checks and joins the inputs; writes OUT.
pub fn run(args: &MergeArgs) -> Result<()> {
    // A shard with no work items writes an empty file (no header): it adds no rows.
    let mut tables = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        match CsvTable::read(path) {
            Ok(t) => tables.push(t),
            Err(CompareError::Empty { .. }) => eprintln!("{} is empty (a shard without work): no rows", path.display()),
            Err(e) => return Err(e.into()),
        }
    }
    let Some(first) = tables.first() else {
        bail!("every input is empty: nothing to merge (expected at least one CSV with a header)");
    };
    for t in &tables[1..] {
        if t.header != first.header {
            return Err(CompareError::HeaderMismatch {
                path: t.path.clone(),
                found: t.header_line(),
                first_path: first.path.clone(),
                expected: first.header_line(),
            }
            .into());
        }
    }
    let key = KeyColumns::locate(first, &default_key(&first.header))?;
    let mut seen: HashMap<Vec<String>, (usize, u64)> = HashMap::new();
    let mut rows = Vec::new();
    for (file, t) in tables.iter().enumerate() {
        for (fields, &line) in t.rows.iter().zip(&t.lines) {
            let k = key.values(fields);
            if let Some(&(f, l)) = seen.get(&k) {
                return Err(CompareError::DuplicateKey {
                    path: t.path.clone(),
                    line,
                    key: key.describe(&k),
                    first: format!("{} line {l}", tables[f].path.display()),
                }
                .into());
            }
            seen.insert(k, (file, line));
            rows.push(Row {
                fields: fields.clone(),
                file,
                line,
            });
        }
    }
    if let Some(c) = first.column(ORDER) {
        let mut order = Vec::with_capacity(rows.len());
        for r in &rows {
            let v: u64 = r.fields[c].trim().parse().map_err(|_| CompareError::BadValue {
                path: tables[r.file].path.clone(),
                line: r.line,
                column: ORDER.into(),
                expected: "a whole number".into(),
                value: r.fields[c].clone(),
            })?;
            order.push(v);
        }
        let mut idx: Vec<usize> = (0..rows.len()).collect();
        idx.sort_by_key(|&i| order[i]);
        let mut sorted: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        rows = idx.into_iter().filter_map(|i| sorted[i].take()).collect();
    }
    set_pareto(first, &tables, &mut rows)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&first.header).context("writing the CSV header")?;
    for r in &rows {
        w.write_record(&r.fields).context("writing a CSV row")?;
    }
    let bytes = w.into_inner().context("finishing the CSV")?;
    write_atomic(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "merged {} rows from {} files into {}",
        rows.len(),
        tables.len(),
        args.out.display()
    );
    Ok(())
}

/// Sets the `pareto` column over all merged rows, grouped by workload, when the header has the
/// recall table's columns; leaves other files alone.
fn set_pareto(first: &CsvTable, tables: &[CsvTable], rows: &mut [Row]) -> Result<()> {
    let Some(mark) = first.column("pareto") else {
        return Ok(());
    };
    let (Some(rc), Some(sc)) = (first.column(PARETO_RECALL), first.column(PARETO_SPEED)) else {
        return Ok(());
    };
    let group_cols: Vec<usize> = WORKLOAD_COLUMNS.iter().filter_map(|c| first.column(c)).collect();
    // An empty speed cell (no model ran for that row) is never on the front, as in `mark_pareto`.
    let number = |r: &Row, c: usize| -> Result<f64> {
        if c == sc && r.fields[c].trim().is_empty() {
            return Ok(f64::NAN);
        }
        r.fields[c].trim().parse::<f64>().map_err(|_| {
            CompareError::BadValue {
                path: tables[r.file].path.clone(),
                line: r.line,
                column: first.header[c].clone(),
                expected: "a number".into(),
                value: r.fields[c].clone(),
            }
            .into()
        })
    };
    let points = rows
        .iter()
        .map(|r| Ok((number(r, rc)?, number(r, sc)?)))
        .collect::<Result<Vec<_>>>()?;
    let groups: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| group_cols.iter().map(|&c| r.fields[c].as_str()).collect())
        .collect();
    let marks = pareto_front_by_group(&points, &groups);
    for (r, m) in rows.iter_mut().zip(marks) {
        r.fields[mark] = m.to_string();
    }
    Ok(())
}
