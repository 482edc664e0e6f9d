//! A result CSV held as text: header, rows and the line each row came from.
//! Fields stay strings so that exact comparison sees what was written.

use std::path::{Path, PathBuf};

use super::error::CompareError;

/// One CSV file: its header and its rows, fields as written.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// Where it was read from (named in every error).
    pub path: PathBuf,
    /// Column names, in file order.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
    /// 1-based line number of each row in the file.
    pub lines: Vec<u64>,
}

impl CsvTable {
    /// Reads and checks `path`: a header, then rows with as many fields as the header.
    pub fn read(path: &Path) -> Result<Self, CompareError> {
        let bytes = std::fs::read(path).map_err(|source| CompareError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &bytes)
    }

    /// Parses CSV `bytes` as if read from `path`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, CompareError> {
        let malformed = |e: csv::Error| CompareError::Malformed {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("{len} fields where the header has {expected_len}")
                }
                _ => e.to_string(),
            },
        };
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(malformed)?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() || header.iter().all(|h| h.is_empty()) {
            return Err(CompareError::Empty {
                path: path.to_path_buf(),
            });
        }
        if let Some(dup) = header.iter().enumerate().find(|(i, h)| header[..*i].contains(h)) {
            return Err(CompareError::Malformed {
                path: path.to_path_buf(),
                line: 1,
                message: format!("column `{}` appears twice in the header", dup.1),
            });
        }
        let (mut rows, mut lines) = (Vec::new(), Vec::new());
        for record in reader.records() {
            let record = record.map_err(malformed)?;
            lines.push(record.position().map(|p| p.line()).unwrap_or(0));
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            rows,
            lines,
        })
    }

    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The header as one comma-separated line.
    pub fn header_line(&self) -> String {
        self.header.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_with_their_lines() {
        let t = CsvTable::parse(Path::new("a.csv"), b"method,ms\ndense,1.5\n\"a,b\",2\n").unwrap();
        assert_eq!(t.header, ["method", "ms"]);
        assert_eq!(t.rows[1], ["a,b", "2"]);
        assert_eq!(t.lines, [2, 3]);
        assert_eq!(t.column("ms"), Some(1));
    }

    #[test]
    fn short_row_names_file_and_line() {
        let e = CsvTable::parse(Path::new("base.csv"), b"method,ms\ndense,1\nx\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("base.csv line 3") && msg.contains("1 fields where the header has 2"),
            "{msg}"
        );
    }

    #[test]
    fn empty_and_repeated_columns_are_refused() {
        assert!(matches!(
            CsvTable::parse(Path::new("e.csv"), b""),
            Err(CompareError::Empty { .. })
        ));
        let e = CsvTable::parse(Path::new("d.csv"), b"a,b,a\n1,2,3\n").unwrap_err();
        assert!(e.to_string().contains("column `a` appears twice"), "{e}");
    }
}
