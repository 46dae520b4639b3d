//! Rejected rows: where, why, and the raw text, so nothing is lost silently.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::IngestError;

/// One rejected input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reject {
    /// File it came from.
    pub file: String,
    /// Line number (CSV, 1-based, header = line 1) or row number (Parquet, 1-based).
    pub line: u64,
    /// Column at fault.
    pub column: String,
    /// Why it was rejected.
    pub reason: String,
    /// The row as read (fields joined by the delimiter).
    pub raw: String,
}

/// Writes rejects as UTF-8 CSV with a BOM (opens in Excel).
pub fn write_rejects(path: &Path, rejects: &[Reject]) -> Result<(), IngestError> {
    let f = std::fs::File::create(path).map_err(|e| IngestError::io(path, e))?;
    let mut buf = std::io::BufWriter::new(f);
    buf.write_all(b"\xEF\xBB\xBF")
        .map_err(|e| IngestError::io(path, e))?;
    let mut w = csv::Writer::from_writer(buf);
    let err = |e: csv::Error| IngestError::Csv {
        path: path.to_path_buf(),
        line: 0,
        reason: e.to_string(),
    };
    w.write_record(["file", "line", "column", "reason", "raw"])
        .map_err(err)?;
    for r in rejects {
        w.write_record([
            r.file.as_str(),
            &r.line.to_string(),
            &r.column,
            &r.reason,
            &r.raw,
        ])
        .map_err(err)?;
    }
    w.flush().map_err(|e| IngestError::io(path, e))?;
    Ok(())
}
