//! Expanding files, directories and globs into a sorted list of data files.

use std::path::{Path, PathBuf};

use crate::IngestError;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Delimited text.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl SourceFormat {
    /// By extension: `.parquet`/`.pq` → Parquet, anything else → CSV.
    pub fn of(path: &Path) -> SourceFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet" | "pq") => SourceFormat::Parquet,
            _ => SourceFormat::Csv,
        }
    }
}

const DATA_EXTENSIONS: [&str; 6] = ["csv", "txt", "tsv", "parquet", "pq", "dat"];

/// Files, directories (their data files, non-recursive) and glob patterns → sorted, de-duplicated
/// list of files. Order is sorted so results never depend on directory listing order.
pub fn expand_sources(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    if inputs.is_empty() {
        return Err(IngestError::NoInput);
    }
    let mut out = Vec::new();
    for input in inputs {
        let s = input.to_string_lossy();
        if s.contains(['*', '?', '[']) && !input.exists() {
            let paths = glob::glob(&s).map_err(|e| IngestError::BadGlob {
                pattern: s.to_string(),
                reason: e.to_string(),
            })?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(IngestError::NoFilesMatch(s.to_string()));
            }
            found.sort();
            out.extend(found);
        } else if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| IngestError::io(input, e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                            DATA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                        })
                })
                .collect();
            if found.is_empty() {
                return Err(IngestError::EmptyDirectory(input.clone()));
            }
            found.sort();
            out.extend(found);
        } else if input.is_file() {
            out.push(input.clone());
        } else {
            return Err(IngestError::NotFound(input.clone()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}
