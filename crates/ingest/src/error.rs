//! The one error type of this crate. Every message says what, where and how to fix it.

use std::path::{Path, PathBuf};

use clientele_core::Day;

/// More advice on a missing column (the delimiter, the header's names that look like it):
/// each empty, or sentences to append.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ColumnAdvice {
    /// In English (starts with `. `).
    pub en: String,
    /// In Chinese (starts with `。`).
    pub zh: String,
}

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
         Map it with --{flag} NAME or `{field} = \"NAME\"` in the [columns] section of the config{}",
        path.display(),
        advice.en
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
        /// More advice, e.g. on the delimiter.
        advice: Box<ColumnAdvice>,
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
        /// Our guess, in Chinese.
        guess_zh: &'static str,
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
        /// What is wrong, in Chinese.
        reason_zh: String,
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
        /// The same in Chinese.
        first_zh: Option<String>,
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

/// An operating-system error in Chinese, by its kind (the system's own words otherwise).
pub fn io_zh(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "没有这个文件或目录".to_string(),
        K::PermissionDenied => "没有权限".to_string(),
        K::AlreadyExists => "已经存在".to_string(),
        K::IsADirectory => "是一个目录，不是文件".to_string(),
        K::NotADirectory => "不是目录".to_string(),
        K::StorageFull => "磁盘已满".to_string(),
        K::ReadOnlyFilesystem => "文件系统是只读的".to_string(),
        K::UnexpectedEof => "文件意外结束（可能不完整）".to_string(),
        K::InvalidData => format!("数据无效（{e}）"),
        _ => format!("系统错误：{e}"),
    }
}

/// Another library's message that ends in an operating-system error (`… (os error 28)`, as
/// Rust's I/O errors print), led by that error in Chinese ([`io_zh`]) and kept after it for
/// whoever looks further; the message as it is otherwise.
pub fn os_message_zh(message: &str) -> String {
    let code = message
        .trim_end()
        .strip_suffix(')')
        .and_then(|m| m.rsplit_once("(os error "))
        .and_then(|(_, code)| code.parse::<i32>().ok());
    match code {
        Some(code) => format!(
            "{}（{message}）",
            io_zh(&std::io::Error::from_raw_os_error(code))
        ),
        None => message.to_string(),
    }
}

/// The message of [`IngestError::NoRows`] in Chinese.
fn no_rows_zh(files: &str, rejected: u64, first: Option<&str>, rejects: Option<&Path>) -> String {
    if rejected == 0 {
        return format!("{files} 中没有交易行：只有表头，没有数据行");
    }
    let mut s = format!("{files} 中没有有效的交易行：全部 {rejected} 行都被拒绝");
    if let Some(first) = first {
        s.push_str(&format!("；第一行：{first}"));
    }
    if let Some(p) = rejects {
        s.push_str(&format!("（全部写在 {}）", p.display()));
    }
    s
}

impl IngestError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]);
    /// what a library or the system said (a CSV parser's, PostgreSQL's reason) is quoted as
    /// it said it.
    pub fn zh(&self) -> String {
        use IngestError as E;
        match self {
            E::NoInput => "没有给出交易数据文件：请给出一个或多个文件、目录或通配模式".to_string(),
            E::NotFound(p) => format!("{}：没有这个文件或目录", p.display()),
            E::EmptyDirectory(p) => {
                format!(
                    "{}：目录中没有数据文件（.csv、.txt、.tsv、.parquet）",
                    p.display()
                )
            }
            E::NoFilesMatch(p) => format!("{p}：没有文件匹配这个模式"),
            E::BadGlob { pattern, reason } => format!("{pattern}：通配模式有误：{reason}"),
            E::Io { path, source } => format!("{}：{}", path.display(), io_zh(source)),
            E::EmptyFile(p) => format!("{}：文件是空的（没有表头，也没有数据行）", p.display()),
            E::MissingColumn {
                path,
                field,
                column,
                flag,
                found,
                advice,
            } => format!(
                "{}：找不到必需的列 `{column}`（{field}）；文件中的列：{found}。\
                 请用 --{flag} 列名 或在配置的 [columns] 中写 `{field} = \"列名\"` 指定{}",
                path.display(),
                advice.zh
            ),
            E::DuplicateColumn {
                path,
                field,
                column,
                first,
                second,
            } => format!(
                "{}：第 {first} 列和第 {second} 列都叫 `{column}`（{field}）：请在表头中改掉其中一个，\
                 以明确哪一列是 {field}",
                path.display()
            ),
            E::BadDateFormat { format, reason } => format!(
                "日期格式 `{format}` {reason}：请修改 --date-format（或 [columns] 中的 `date_format`）；\
                 例如 31.12.2024 用 `%d.%m.%Y`，12/31/2024 08:15 用 `%m/%d/%Y %H:%M`"
            ),
            E::Encoding {
                path,
                line,
                encoding,
                guess_zh,
                hint,
                ..
            } => format!(
                "{}:{line}：文本不是有效的 {encoding}；文件看起来是 {guess_zh}：请加上 --encoding {hint}\
                 （或在 [source] 中写 `encoding = \"{hint}\"`）",
                path.display()
            ),
            E::Csv { path, line, reason } => {
                format!("{}:{line}：CSV 格式有误：{reason}", path.display())
            }
            E::Parquet { path, reason } => format!("{}：{reason}", path.display()),
            E::NotParquet { path, cause } => format!(
                "{}：不是可读的 Parquet 文件（{cause}）：请检查文件是否完整，或给出带扩展名的 CSV",
                path.display()
            ),
            E::StrictReject {
                path,
                line,
                column,
                reason_zh: reason,
                ..
            } => format!(
                "{}:{line}：列 `{column}`：{reason}（因 --strict 而停止；不加它时这一行写入 rejects.csv）",
                path.display()
            ),
            E::NoRows {
                files,
                rejected,
                first_zh,
                rejects,
                ..
            } => no_rows_zh(files, *rejected, first_zh.as_deref(), rejects.as_deref()),
            E::AsOfBeforeData { as_of, first } => {
                format!("基准日 {as_of} 早于数据中的第一个订单日期（{first}）：请用更晚的 --as-of")
            }
            E::SideTable { path, reason } => format!("{}：{reason}", path.display()),
            E::Postgres { at, reason } => format!("{at}：{reason}"),
            E::TooLarge(m) => m.clone(),
            E::Engine(m) => format!("内部错误：{m}"),
            E::Sink(m) => format!("传出已校验的行时出错：{m}"),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_librarys_os_error_is_worded_in_chinese() {
        let full = "External: No space left on device (os error 28)";
        assert_eq!(
            os_message_zh(full),
            format!("磁盘已满（{full}）"),
            "ENOSPC is StorageFull on Linux"
        );
        let gone = "Io error: No such file or directory (os error 2)";
        assert_eq!(os_message_zh(gone), format!("没有这个文件或目录（{gone}）"));
        for other in [
            "schema mismatch",
            "bad (os error x)",
            "(os error 28) later",
            "",
        ] {
            assert_eq!(os_message_zh(other), other);
        }
    }
}
