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

/// The data files that inputs name, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Files to read, in the order named (a directory's or a pattern's sorted), each once.
    pub files: Vec<PathBuf>,
    /// Files named again (the same file by another path, a pattern overlapping a directory,
    /// …), as named the second time; they are read once.
    pub duplicates: Vec<PathBuf>,
}

/// Files, directories (their data files, non-recursive) and glob patterns → sorted, de-duplicated
/// list of files. Order is sorted so results never depend on directory listing order.
/// A file reached twice (`data` and `data/orders.csv`, `./a.csv` and `a.csv`, a link to it) is
/// listed once; [`expand_sources_noting`] also says which were left out.
pub fn expand_sources(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    expand_sources_noting(inputs).map(|s| s.files)
}

/// [`expand_sources`], with the files named more than once.
pub fn expand_sources_noting(inputs: &[PathBuf]) -> Result<Sources, IngestError> {
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
    // the same file by any path: compared as the file system resolves them
    let mut seen = std::collections::HashSet::new();
    let mut sources = Sources::default();
    for p in out {
        let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.insert(key) {
            sources.files.push(p);
        } else {
            sources.duplicates.push(p);
        }
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_named_twice_is_listed_once_and_noted() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = d.path().join("data");
        std::fs::create_dir(&data).unwrap_or_else(|e| panic!("{e}"));
        for f in ["a.csv", "b.csv"] {
            std::fs::write(data.join(f), "x").unwrap_or_else(|e| panic!("{e}"));
        }
        let a = data.join("a.csv");
        let dotted = data.join(".").join("a.csv");
        let pattern = data.join("*.csv");
        let got = expand_sources_noting(&[data.clone(), a.clone(), pattern, dotted.clone()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.files, [a.clone(), data.join("b.csv")]);
        assert_eq!(got.duplicates, [a.clone(), a, data.join("b.csv"), dotted]);
    }
}
