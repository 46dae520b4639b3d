//! What to read and how: files, CSV dialect, column mapping, as-of.

use std::path::PathBuf;

use clientele_core::{DateFormat, Day, TimeUnit};
use serde::{Deserialize, Serialize};

/// Text encoding of CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8; a byte-order mark is detected and skipped.
    #[default]
    #[serde(alias = "utf8", rename = "utf-8")]
    Utf8,
    /// GBK (as written by Excel on Chinese Windows); decoded as its superset GB18030.
    Gbk,
    /// GB18030.
    Gb18030,
    /// Windows-1252, the superset of Latin-1 (ISO-8859-1) that Western European Windows and
    /// Excel write; every byte is a character, so only a UTF-8 file declared as it is caught.
    #[serde(
        rename = "windows-1252",
        alias = "latin1",
        alias = "iso-8859-1",
        alias = "cp1252"
    )]
    Windows1252,
}

impl Encoding {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gbk => "GBK",
            Encoding::Gb18030 => "GB18030",
            Encoding::Windows1252 => "Windows-1252",
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "gbk" | "cp936" | "gb2312" => Ok(Encoding::Gbk),
            "gb18030" => Ok(Encoding::Gb18030),
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => {
                Ok(Encoding::Windows1252)
            }
            _ => Err(format!(
                "unknown encoding `{s}`: use utf-8, gbk, gb18030 or windows-1252 (latin1)"
            )),
        }
    }
}

/// Field separator of CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// One byte, e.g. `,` `;` `\t` `|`.
    Byte(u8),
    /// Runs of spaces and tabs, as in CDNOW's files (no quoting).
    Whitespace,
}

impl Default for Delimiter {
    fn default() -> Self {
        Delimiter::Byte(b',')
    }
}

impl std::str::FromStr for Delimiter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "whitespace" | "space" | "spaces" => Ok(Delimiter::Whitespace),
            "tab" | "\\t" | "\t" => Ok(Delimiter::Byte(b'\t')),
            "comma" => Ok(Delimiter::Byte(b',')),
            "semicolon" => Ok(Delimiter::Byte(b';')),
            "pipe" => Ok(Delimiter::Byte(b'|')),
            s if s.len() == 1 => Ok(Delimiter::Byte(s.as_bytes()[0])),
            _ => Err(format!(
                "delimiter `{s}` must be one ASCII character, `tab` or `whitespace`"
            )),
        }
    }
}

/// CSV dialect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Text encoding.
    pub encoding: Encoding,
    /// Field separator.
    pub delimiter: Delimiter,
    /// False when the file has no header line; columns are then named `column_1`, `column_2`, ….
    pub no_header: bool,
}

/// Which input columns hold which field. Optional fields are used when mapped and present;
/// a name given explicitly that is missing from the file is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMapping {
    /// Customer id (required).
    pub customer_id: String,
    /// Order date or datetime (required).
    pub order_date: String,
    /// Net amount of the row (required); negative = return.
    pub amount: String,
    /// Order id: orders are distinct ids; without it an order is a customer-day.
    pub order_id: OptionalColumn,
    /// Product category.
    pub category: OptionalColumn,
    /// Profit of the row.
    pub profit: OptionalColumn,
    /// Cost of the row (profit = amount − cost when no profit column).
    pub cost: OptionalColumn,
    /// Quantity (items).
    pub quantity: OptionalColumn,
    /// Date format of `order_date`.
    pub date_format: DateFormat,
}

/// An optional input column: used when present. When the user named it explicitly
/// (`required`), a file without it is an error instead of silently going without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalColumn {
    /// Column name in the file; empty = do not use this field.
    pub name: String,
    /// Missing column is an error.
    pub required: bool,
}

impl OptionalColumn {
    /// A default name, used only if the file has it.
    pub fn default_name(name: &str) -> OptionalColumn {
        OptionalColumn {
            name: name.to_string(),
            required: false,
        }
    }
    /// A name the user chose: the file must have it.
    pub fn explicit(name: &str) -> OptionalColumn {
        OptionalColumn {
            name: name.to_string(),
            required: true,
        }
    }
}

impl Default for ColumnMapping {
    fn default() -> Self {
        ColumnMapping {
            customer_id: "customer_id".into(),
            order_date: "order_date".into(),
            amount: "amount".into(),
            order_id: OptionalColumn::default_name("order_id"),
            category: OptionalColumn::default_name("category"),
            profit: OptionalColumn::default_name("profit"),
            cost: OptionalColumn::default_name("cost"),
            quantity: OptionalColumn::default_name("quantity"),
            date_format: DateFormat::Auto,
        }
    }
}

/// Everything [`crate::load`] needs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Transaction files, directories or glob patterns.
    pub transactions: Vec<PathBuf>,
    /// CSV dialect (all CSV inputs, side tables included).
    pub csv: CsvOptions,
    /// Column mapping of the transactions.
    pub columns: ColumnMapping,
    /// The analysis date; default = the last order date in the data.
    pub as_of: Option<Day>,
    /// Stop at the first bad row instead of rejecting it.
    pub strict: bool,
    /// Time unit of the CLV-convention columns (`recency`, `T`).
    pub unit: TimeUnit,
    /// Count `frequency`, `recency` and `T` in calendar periods of `unit` (one purchase
    /// opportunity per period, for BG/BB) instead of elapsed time.
    pub calendar_periods: bool,
    /// Where to write rejected rows as CSV (written even when empty).
    pub rejects_path: Option<PathBuf>,
    /// The language of the reasons in that file.
    pub lang: clientele_core::Lang,
    /// Customer attributes (any columns), joined on customer id.
    pub attributes: Option<PathBuf>,
    /// Satisfaction scores: customer id, `score`; mean per customer.
    pub satisfaction: Option<PathBuf>,
    /// Column holding the score in the satisfaction table.
    pub satisfaction_score: String,
    /// Leads: potential customers (customer id + any columns).
    pub leads: Option<PathBuf>,
    /// Also compute per customer-month activity (trends, cohorts).
    pub monthly_activity: bool,
    /// End of a holdout period after `as_of`: count each customer's purchase days in it.
    pub holdout_end: Option<Day>,
    /// `,` is the decimal separator of amounts, profits, costs and quantities (`12,50`,
    /// `1.234,56`), and `.`, `'` or a space groups thousands. Without it `,` only groups
    /// thousands (`1,234.56`), and a value that only reads with a decimal comma is rejected.
    pub decimal_comma: bool,
    /// Rows dated after this day are rejected as implausible. [`crate::load`] sets it (and
    /// reads the files again) when, without an as-of date, a few rows lie far beyond the bulk
    /// of the data, so that a typo such as 9999-12-31 cannot become the as-of date.
    pub latest_plausible: Option<Day>,
    /// Keep the validated rows in memory ([`crate::Ingested::rows`], 64 bytes a row) so that
    /// the customer table at other dates (month ends, a calibration end) is folded from them
    /// ([`crate::refold`]) instead of reading and parsing the input again.
    pub keep_rows: bool,
    /// Read the transactions from this PostgreSQL table or query instead of `transactions`.
    pub postgres: Option<crate::PgSource>,
    /// Threads that parse CSV chunks and Parquet row groups at once; `None`: every core. Each
    /// holds its chunk's rows ([`InputSize::bytes_per_reading_thread`](crate::InputSize)),
    /// so a run under a memory limit may read with fewer.
    pub reading_threads: Option<usize>,
}

impl IngestOptions {
    /// Defaults for these transaction sources.
    pub fn new(transactions: Vec<PathBuf>) -> IngestOptions {
        IngestOptions {
            transactions,
            csv: CsvOptions::default(),
            columns: ColumnMapping::default(),
            as_of: None,
            strict: false,
            unit: TimeUnit::default(),
            calendar_periods: false,
            rejects_path: None,
            lang: clientele_core::Lang::En,
            attributes: None,
            satisfaction: None,
            satisfaction_score: "score".into(),
            leads: None,
            monthly_activity: false,
            holdout_end: None,
            decimal_comma: false,
            latest_plausible: None,
            keep_rows: false,
            postgres: None,
            reading_threads: None,
        }
    }
}
