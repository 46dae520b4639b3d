//! The engine's error type.

use std::path::PathBuf;

/// Why an analysis could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Reading or aggregating the input failed.
    #[error(transparent)]
    Ingest(#[from] clientele_ingest::IngestError),
    /// The config file is not valid TOML or has unknown/mistyped keys.
    #[error("{path}: {message}")]
    Config {
        /// The config file (or `<config>` for a string).
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A config value that parses but makes no sense.
    #[error("config: {0}")]
    InvalidConfig(String),
    /// Writing outputs failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a Parquet or CSV output failed.
    #[error("{}: {reason}", path.display())]
    Output {
        /// The path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The output destination is something clientele must not replace (the user's own
    /// file or folder, or a folder holding an input).
    #[error("--out {}: {reason}: {fix}", out.display())]
    OutputRefused {
        /// The destination as given.
        out: PathBuf,
        /// What is there.
        reason: String,
        /// What to do instead.
        fix: &'static str,
    },
    /// A model step failed.
    #[error("{step}: {reason}")]
    Model {
        /// The step (clv, rfm, cluster, grade…).
        step: &'static str,
        /// Why.
        reason: String,
    },
}

impl EngineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}
