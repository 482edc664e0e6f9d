//! Rows matched by their key: the values of the key columns, unique within a file.

use std::collections::HashMap;

use super::error::CompareError;
use super::table::CsvTable;

/// Positions of the key columns in one file.
#[derive(Debug, Clone)]
pub struct KeyColumns {
    /// Column names.
    pub names: Vec<String>,
    /// Their indices in the file's header.
    pub indices: Vec<usize>,
}

impl KeyColumns {
    /// Finds `names` in `table`'s header; a missing one is an error naming the file.
    pub fn locate(table: &CsvTable, names: &[String]) -> Result<Self, CompareError> {
        let indices = names
            .iter()
            .map(|n| {
                table.column(n).ok_or_else(|| CompareError::MissingKeyColumn {
                    path: table.path.clone(),
                    column: n.clone(),
                    available: table.header_line(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            names: names.to_vec(),
            indices,
        })
    }

    /// The key values of `row`.
    pub fn values(&self, row: &[String]) -> Vec<String> {
        self.indices.iter().map(|&i| row[i].clone()).collect()
    }

    /// `column=value` pairs of a key, for messages.
    pub fn describe(&self, key: &[String]) -> String {
        self.names
            .iter()
            .zip(key)
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Maps each key of `table` to its row index; two rows with one key are an error naming both lines.
pub fn index_rows(table: &CsvTable, key: &KeyColumns) -> Result<HashMap<Vec<String>, usize>, CompareError> {
    let mut map = HashMap::with_capacity(table.rows.len());
    for (i, row) in table.rows.iter().enumerate() {
        let k = key.values(row);
        if let Some(&first) = map.get(&k) {
            return Err(CompareError::DuplicateKey {
                path: table.path.clone(),
                line: table.lines[i],
                key: key.describe(&k),
                first: format!("line {}", table.lines[first]),
            });
        }
        map.insert(k, i);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn duplicate_keys_name_both_lines() {
        let t = CsvTable::parse(Path::new("b.csv"), b"method,seq_len,ms\nx,1,2\ny,1,2\nx,1,3\n").unwrap();
        let key = KeyColumns::locate(&t, &["method".into(), "seq_len".into()]).unwrap();
        let e = index_rows(&t, &key).unwrap_err().to_string();
        assert!(
            e.contains("b.csv line 4") && e.contains("method=x seq_len=1") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn missing_key_column_lists_the_header() {
        let t = CsvTable::parse(Path::new("n.csv"), b"method,ms\nx,1\n").unwrap();
        let e = KeyColumns::locate(&t, &["device".into()]).unwrap_err().to_string();
        assert!(
            e.contains("n.csv has no column `device`") && e.contains("method,ms"),
            "{e}"
        );
    }
}
