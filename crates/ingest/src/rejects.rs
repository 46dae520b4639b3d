//! Rejected rows: where, why, and the raw text, so nothing is lost silently.

use std::io::Write;
use std::path::Path;

use clientele_core::Lang;
use serde::{Deserialize, Serialize};

use crate::IngestError;

/// Why a row is rejected, in both languages: `rejects.csv` is written in the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Why {
    pub en: String,
    pub zh: String,
}

impl Why {
    pub(crate) fn new(en: impl Into<String>, zh: impl Into<String>) -> Why {
        Why {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// What is wrong with value `v`: "`abc` is not a number". Out of line, so that the
    /// per-row paths that may reject stay small.
    #[cold]
    #[inline(never)]
    pub(crate) fn value(v: &dyn std::fmt::Display, what: Said) -> Why {
        Why::new(format!("`{v}` {}", what.en), format!("`{v}` {}", what.zh))
    }
}

impl From<Said> for Why {
    fn from(s: Said) -> Why {
        Why::new(s.en, s.zh)
    }
}

// A reason fixed in both languages: in `transactions`, whose parsing gives them and which
// the benchmarks build on its own.
pub(crate) use crate::transactions::Said;

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
    /// Why it was rejected, in Chinese (a run in Chinese writes this one).
    #[serde(default)]
    pub reason_zh: String,
    /// The row as read (fields joined by the delimiter).
    pub raw: String,
}

impl Reject {
    /// Why it was rejected, in `lang` (English where no Chinese was given).
    pub fn reason_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh if !self.reason_zh.is_empty() => &self.reason_zh,
            _ => &self.reason,
        }
    }
}

/// Writes rejects as UTF-8 CSV with a BOM (opens in Excel), the reasons in `lang`.
pub fn write_rejects(path: &Path, rejects: &[Reject], lang: Lang) -> Result<(), IngestError> {
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
            r.reason_in(lang),
            &r.raw,
        ])
        .map_err(err)?;
    }
    w.flush().map_err(|e| IngestError::io(path, e))?;
    Ok(())
}
