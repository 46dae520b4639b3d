/// Errors from building or reading a [`crate::CustomerTable`] and other core types.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// A column was added whose length differs from the table's customer count.
    #[error("column `{name}` has {got} values but the table has {expected} customers")]
    ColumnLength {
        /// Column name.
        name: String,
        /// Rows in the table.
        expected: usize,
        /// Values in the new column.
        got: usize,
    },
    /// Two columns with the same name.
    #[error("column `{0}` already exists in the customer table")]
    DuplicateColumn(String),
    /// A column that is needed is not in the table.
    #[error("column `{name}` is not in the customer table; columns are: {available}")]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// Comma-separated list of the table's columns.
        available: String,
    },
    /// A column has a different type than the caller needs.
    #[error("column `{name}` is {actual}, expected {expected}")]
    ColumnType {
        /// Column name.
        name: String,
        /// The type needed.
        expected: &'static str,
        /// The column's type.
        actual: &'static str,
    },
    /// A date string that none of the accepted formats matches.
    #[error("`{value}` is not a date ({expected})")]
    BadDate {
        /// The text that failed.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A time unit that is not days, weeks, months, quarters, years or "N days".
    #[error(
        "unknown time unit `{0}`: use days, weeks, months, quarters, years or \"N days\" (e.g. \"14 days\")"
    )]
    UnknownTimeUnit(String),
    /// A length of time that is not a positive count and a unit.
    #[error(
        "`{0}` is not a length of time: write a count and a unit, e.g. \"2 years\", \"95 weeks\" or \"30 days\""
    )]
    BadSpan(String),
    /// A column of a table kept on disk could not be read or written (the disk's or the
    /// folder's fault, not the data's).
    #[error("the customer table kept on disk: column `{name}`: {reason}")]
    Store {
        /// Column name.
        name: String,
        /// What the store said.
        reason: String,
    },
    /// A language name that is not zh or en.
    #[error("unknown language `{0}` (use zh or en)")]
    UnknownLang(String),
}

impl CoreError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]).
    pub fn zh(&self) -> String {
        match self {
            CoreError::ColumnLength {
                name,
                expected,
                got,
            } => format!("列 `{name}` 有 {got} 个值，而客户表有 {expected} 位客户"),
            CoreError::DuplicateColumn(name) => format!("客户表中已有列 `{name}`"),
            CoreError::MissingColumn { name, available } => {
                format!("客户表中没有列 `{name}`；现有的列：{available}")
            }
            CoreError::ColumnType {
                name,
                expected,
                actual,
            } => {
                let kind = |t: &str| {
                    match t {
                        "a number" => "数值",
                        "text" => "文本",
                        "a date" => "日期",
                        other => other,
                    }
                    .to_string()
                };
                format!("列 `{name}` 是{}，应为{}", kind(actual), kind(expected))
            }
            CoreError::BadDate { value, expected } => {
                format!("`{value}` 不是日期（{expected}）")
            }
            CoreError::UnknownTimeUnit(u) => format!(
                "未知的时间单位 `{u}`：请用 days、weeks、months、quarters、years 或 \"N days\"（例如 \"14 days\"）"
            ),
            CoreError::BadSpan(s) => format!(
                "`{s}` 不是一段时长：请写数量和单位，例如 \"2 years\"、\"95 weeks\" 或 \"30 days\""
            ),
            CoreError::Store { name, reason } => {
                format!("保存在磁盘上的客户表：列 `{name}`：{reason}")
            }
            CoreError::UnknownLang(l) => format!("未知的语言 `{l}`（请用 zh 或 en）"),
        }
    }
}
