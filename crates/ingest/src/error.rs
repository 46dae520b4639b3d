//! The one error type of this crate. Every message says what, where and how to fix it.

use std::path::{Path, PathBuf};

use clientele_core::Day;

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// No input was given.
    #[error("no transaction files given: pass one or more files, directories or glob patterns")]
    NoInput,
    /// A path that does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// A directory with no data files in it.
    #[error("{}: directory has no data files (.csv, .txt, .tsv, .parquet)", .0.display())]
    EmptyDirectory(PathBuf),
    /// A glob pattern that matched nothing.
    #[error("{0}: no files match this pattern")]
    NoFilesMatch(String),
    /// A malformed glob pattern.
    #[error("{pattern}: bad glob pattern: {reason}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// The glob library's reason.
        reason: String,
    },
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file with no header and no rows.
    #[error("{}: the file is empty (no header line and no rows)", .0.display())]
    EmptyFile(PathBuf),
    /// A required column is not in the file.
    #[error(
        "{}: required column `{column}` ({field}) not found; columns found: {found}. \
         Map it with --{flag} NAME or `{field} = \"NAME\"` in the [columns] section of the config{hint}",
        path.display()
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The field (customer_id, order_date, amount, …).
        field: &'static str,
        /// The column name looked for.
        column: String,
        /// The CLI flag that maps it.
        flag: &'static str,
        /// Columns in the file.
        found: String,
        /// More advice, e.g. on the delimiter (empty, or starts with `. `).
        hint: Box<str>,
    },
    /// Two columns share the name of a mapped field.
    #[error(
        "{}: columns {first} and {second} are both named `{column}` ({field}): rename one in \
         the header, so that it is clear which one holds the {field}",
        path.display()
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The field (customer_id, order_date, amount, …).
        field: &'static str,
        /// The name, as in the header's first column with it.
        column: String,
        /// Position of the first column with that name (1-based).
        first: usize,
        /// Position of the second (1-based).
        second: usize,
    },
    /// A custom date format that cannot be used.
    #[error(
        "date format `{format}` {reason}: fix --date-format (or `date_format` in [columns]); \
         e.g. `%d.%m.%Y` for 31.12.2024, `%m/%d/%Y %H:%M` for 12/31/2024 08:15"
    )]
    BadDateFormat {
        /// The format given.
        format: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is not in the declared encoding.
    #[error(
        "{}:{line}: text is not valid {encoding}; the file looks like {guess}: pass --encoding {hint} \
         (or `encoding = \"{hint}\"` in [source])",
        path.display()
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// Line where it was found.
        line: u64,
        /// The declared encoding.
        encoding: &'static str,
        /// Our guess.
        guess: &'static str,
        /// The flag value to use.
        hint: &'static str,
    },
    /// A malformed CSV file (e.g. an unterminated quote).
    #[error("{}:{line}: malformed CSV: {reason}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line.
        line: u64,
        /// The parser's reason.
        reason: String,
    },
    /// A Parquet file that cannot be read or has unsupported column types.
    #[error("{}: {reason}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file named `.parquet` that is not a readable Parquet file (cut short, another
    /// format, damaged).
    #[error(
        "{}: not a readable Parquet file ({cause}): check the file is complete, or pass a CSV \
         with its extension",
        path.display()
    )]
    NotParquet {
        /// The file.
        path: PathBuf,
        /// What was found instead, in a few words.
        cause: String,
    },
    /// `--strict` and a bad row.
    #[error("{}:{line}: column `{column}`: {reason} (stopped because of --strict; without it the row is written to rejects.csv)", path.display())]
    StrictReject {
        /// The file.
        path: PathBuf,
        /// Line (CSV) or row number (Parquet).
        line: u64,
        /// Column at fault.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// No valid rows at all.
    #[error("{}", no_rows(files, *rejected, first.as_deref(), rejects.as_deref()))]
    NoRows {
        /// Files read.
        files: String,
        /// Rows rejected.
        rejected: u64,
        /// The first rejected row: `file:line: column `c`: reason`.
        first: Option<String>,
        /// Where the rejected rows were written, if anywhere.
        rejects: Option<PathBuf>,
    },
    /// As-of date before the first purchase.
    #[error(
        "as-of date {as_of} is before the first order date in the data ({first}): choose a later --as-of"
    )]
    AsOfBeforeData {
        /// As-of given.
        as_of: Day,
        /// First date in the data.
        first: Day,
    },
    /// A side table problem (attributes, satisfaction, leads).
    #[error("{}: {reason}", path.display())]
    SideTable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A PostgreSQL source or sink: connection, authentication, permission, unknown table or
    /// column, SQL error. `at` names the server, database and table, never the password.
    #[error("{at}: {reason}")]
    Postgres {
        /// `postgresql://user@host:5432/db table orders (reading rows)`.
        at: String,
        /// What went wrong and the fix.
        reason: String,
    },
    /// The data's sums do not fit the exact integer arithmetic: a unit problem of the input
    /// (amounts in the wrong unit), not a bug.
    #[error("{0}")]
    TooLarge(String),
    /// Arrow or the table builder failed (a bug or resource problem, not bad input).
    #[error("internal: {0}")]
    Engine(String),
    /// The validated rows could not be handed to the engine that aggregates them elsewhere
    /// (the cluster engine's staging files): the environment's fault (disk full, a path
    /// not writable), said in the message.
    #[error("handing the validated rows on: {0}")]
    Sink(String),
}

/// The message of [`IngestError::NoRows`].
fn no_rows(files: &str, rejected: u64, first: Option<&str>, rejects: Option<&Path>) -> String {
    if rejected == 0 {
        return format!("no transaction rows in {files}: there is a header line but no data rows");
    }
    let mut s = format!("no valid transaction rows in {files}: all {rejected} rows were rejected");
    if let Some(first) = first {
        s.push_str(&format!("; the first: {first}"));
    }
    if let Some(p) = rejects {
        s.push_str(&format!(" (all of them are in {})", p.display()));
    }
    s
}

impl IngestError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> IngestError {
        IngestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<arrow::error::ArrowError> for IngestError {
    fn from(e: arrow::error::ArrowError) -> Self {
        IngestError::Engine(e.to_string())
    }
}
