//! Sources → validated transactions → the per-customer table.
//!
//! Reading and validation are ours (so every rejected row keeps its file, line and reason).
//! Rows are folded into per-customer state as they are read ([`accumulate`]), so memory grows
//! with customers and their purchase lines, never with a copy of the file. The same
//! aggregation written as SQL (`tests/sql_reference.rs`, run on DataFusion) is the reference it
//! is tested against, and the plan to run on a cluster engine. Money is held as integer
//! micro-units while aggregating, which makes every sum exact and independent of row order
//! and partitioning.
//!
//! ```no_run
//! use clientele_ingest::{load, IngestOptions, NoProgress};
//! let mut opts = IngestOptions::new(vec!["orders.csv".into()]);
//! opts.csv.delimiter = clientele_ingest::Delimiter::Byte(b';');
//! let data = load(&opts, &NoProgress)?;
//! println!("{} customers, {}", data.table.len(), data.stats.reconciliation());
//! # Ok::<(), clientele_ingest::IngestError>(())
//! ```

mod accumulate;
mod activity;
mod dates;
mod delimited;
mod error;
mod hints;
mod options;
mod partition;
mod parts;
pub mod postgres;
mod progress;
mod reader;
mod rejects;
mod side_tables;
mod sniff;
mod source;
mod transactions;
mod unquoted;
mod validated;

pub use activity::{
    CategorySpend, MonthActivity, PeriodSums, PeriodTotals, Seasonality, totals_of,
};
pub use error::{ColumnAdvice, IngestError, io_zh, os_message_zh};
pub use hints::ColumnHint;
pub use options::{ColumnMapping, CsvOptions, Delimiter, Encoding, IngestOptions, OptionalColumn};
pub use partition::{Partitioner, sample_ids};
pub use parts::{
    AsOfCounts, InputSize, MergedDetail, PartDetail, PartTable, absent_column, fold_columns,
    fold_part, input_size, merge_details, merge_part_details, order_as_fold, plausible_end,
};
pub use postgres::{PgRelation, PgSource, PgUrl};
pub use progress::{NoProgress, Progress};
pub use rejects::{Reject, write_rejects};
pub use side_tables::{
    AttributeType, SideJoin, SideKind, SidePart, SideTableStats, TextTable, join_side_part,
    read_side_table, side_id_position, side_tables_of, typed_as,
};
pub use source::{SourceFormat, Sources, expand_sources, expand_sources_noting};
pub use transactions::MONEY_SCALE;
pub use validated::{
    RowSink, Validated, part_of, read_validated, read_validated_unfolded, validated_schema,
};

use clientele_core::{CustomerTable, Day, Lang};
use serde::{Deserialize, Serialize};

/// Result alias for this crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// Row accounting of one load: `read = accepted + rejected`, and `after_as_of` of the
/// accepted rows lie after the as-of date and are left out of the customer table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngestStats {
    /// Files read.
    pub files: Vec<String>,
    /// Files named more than once (as named again), read once: for a note such as
    /// "data/orders.csv named twice, read once".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<String>,
    /// Data rows read (header and blank lines not counted).
    pub read: u64,
    /// Rows that passed validation.
    pub accepted: u64,
    /// Rows rejected (see `rejects.csv`).
    pub rejected: u64,
    /// Accepted rows dated after the as-of date (excluded from the table).
    pub after_as_of: u64,
    /// Accepted rows that count (on or before as-of).
    pub used: u64,
    /// Customers whose rows up to as-of are all returns (negative amounts): not in the
    /// customer table (they never bought in the window), their rows counted here.
    pub return_only_customers: u64,
    /// Net amount of those customers' rows.
    pub return_only_amount: f64,
    /// Net amount of all used rows; equals Σ `monetary` + `return_only_amount`.
    pub total_amount: f64,
    /// First and last order date among accepted rows.
    pub first_date: Option<Day>,
    /// Last order date among accepted rows.
    pub last_date: Option<Day>,
}

impl IngestStats {
    /// The line a run prints: `read N = accepted A + rejected R (+ after as-of E)`.
    pub fn reconciliation(&self) -> String {
        format!(
            "read {} = accepted {} + rejected {} (+ after as-of {})",
            self.read, self.accepted, self.rejected, self.after_as_of
        )
    }
}

/// Everything a load produces.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// One row per customer with a purchase up to as-of, sorted by customer id.
    pub table: CustomerTable,
    /// The as-of date used (given, or the last order date in the data).
    pub as_of: Day,
    /// Row accounting.
    pub stats: IngestStats,
    /// Rejected rows (also written to `IngestOptions::rejects_path` when set).
    pub rejects: Vec<Reject>,
    /// Side tables joined, with their own accounting.
    pub side_tables: Vec<SideTableStats>,
    /// Lead ids (from the leads table) that have no purchase up to as-of.
    pub leads_without_purchase: Vec<String>,
    /// Per customer-month activity (when `IngestOptions::monthly_activity`), for trends and
    /// cohorts; `customer` indexes `table` rows.
    pub months: Vec<MonthActivity>,
    /// Purchase days per customer after as-of up to `IngestOptions::holdout_end`, when set
    /// (for calibration/holdout validation; `as_of` is then the calibration end).
    pub holdout: Option<Vec<f64>>,
    /// Spend per customer and category (with `monthly_activity`).
    pub category_spend: Vec<CategorySpend>,
    /// Category names, indexed by `CategorySpend::category`.
    pub categories: Vec<String>,
    /// Totals per weekday (Monday first) and calendar month (with `monthly_activity`).
    pub seasonality: Option<([PeriodTotals; 7], [PeriodTotals; 12])>,
    /// Optional fields the files seem to hold under another name (`商品类别` for the
    /// category), with the flag that maps each: nothing is mapped by guess.
    pub column_hints: Vec<ColumnHint>,
    /// The validated rows, with [`IngestOptions::keep_rows`].
    pub rows: Option<KeptRows>,
}

/// The validated rows of a [`load`] with [`IngestOptions::keep_rows`], with what reading them
/// found, for [`refold`].
#[derive(Debug, Clone)]
pub struct KeptRows {
    buffers: Vec<transactions::RowBuffer>,
    /// The reading's accounting (rows read, accepted, rejected; first and last date).
    stats: IngestStats,
    column_hints: Vec<ColumnHint>,
}

impl KeptRows {
    /// Rows kept.
    pub fn len(&self) -> usize {
        self.buffers.iter().map(|b| b.len()).sum()
    }

    /// True when no row was kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the transactions (and side tables) and builds the customer table.
pub fn load(opts: &IngestOptions, progress: &dyn Progress) -> Result<Ingested> {
    dates::check_format(&opts.columns.date_format)?;
    let Sources { files, duplicates } = match opts.postgres {
        Some(_) => Sources::default(),
        None => expand_sources_noting(&opts.transactions)?,
    };
    let fresh = || {
        let acc = accumulate::Accumulator::new(opts.as_of, opts.holdout_end.is_some());
        if opts.keep_rows { acc.keep_rows() } else { acc }
    };
    let (mut acc, mut stats, mut rejects, column_hints) =
        reader::read_transactions(&files, opts, fresh(), progress)?;
    // Without an as-of date the last date becomes "now": a few rows far beyond the rest (a
    // typo) are read again as located rejects instead. Only such data pays for the second read.
    if opts.as_of.is_none()
        && opts.latest_plausible.is_none()
        && let (Some(first), Some(last)) = (stats.first_date, stats.last_date)
        && let Some(latest) = acc.implausible_after(first, last)
    {
        let again = IngestOptions {
            latest_plausible: Some(latest),
            ..opts.clone()
        };
        (acc, stats, rejects, _) = reader::read_transactions(&files, &again, fresh(), progress)?;
    }
    stats.duplicates = duplicates.iter().map(|p| p.display().to_string()).collect();
    let rows = acc.take_kept().map(|buffers| KeptRows {
        buffers,
        stats: stats.clone(),
        column_hints: column_hints.clone(),
    });
    let mut ingested = fold(acc, stats, rejects, column_hints, opts, progress)?;
    ingested.rows = rows;
    Ok(ingested)
}

/// The customer table (and the rest of [`Ingested`]) at the dates of `opts` (`as_of`,
/// `holdout_end`) from rows kept by an earlier [`load`], without reading the input again:
/// equal to a [`load`] of the same input with these dates. Side tables are read again (they
/// are joined to the customers of this date); rejects were reported by the first reading.
pub fn refold(rows: &KeptRows, opts: &IngestOptions, progress: &dyn Progress) -> Result<Ingested> {
    dates::check_format(&opts.columns.date_format)?;
    let mut acc = accumulate::Accumulator::new(opts.as_of, opts.holdout_end.is_some());
    for b in &rows.buffers {
        acc.absorb(b);
    }
    fold(
        acc,
        rows.stats.clone(),
        Vec::new(),
        rows.column_hints.clone(),
        opts,
        progress,
    )
}

/// The as-of date of a reading: the given one, else the last order date; an error when no
/// row is valid or the date lies before the data.
fn as_of_of(stats: &IngestStats, rejects: &[Reject], opts: &IngestOptions) -> Result<Day> {
    let as_of = match opts.as_of {
        Some(d) => d,
        None => stats.last_date.ok_or_else(|| IngestError::NoRows {
            files: stats.files.join(", "),
            rejected: stats.rejected,
            first: rejects.first().map(|r| {
                let column = if r.column.is_empty() {
                    String::new()
                } else {
                    format!(" column `{}`:", r.column)
                };
                format!("{}:{}:{column} {}", r.file, r.line, r.reason)
            }),
            first_zh: rejects.first().map(|r| {
                let column = if r.column.is_empty() {
                    String::new()
                } else {
                    format!("列 `{}`：", r.column)
                };
                format!("{}:{}：{column}{}", r.file, r.line, r.reason_in(Lang::Zh))
            }),
            rejects: opts.rejects_path.clone(),
        })?,
    };
    if let Some(first) = stats.first_date
        && as_of < first
    {
        return Err(IngestError::AsOfBeforeData { as_of, first });
    }
    Ok(as_of)
}

/// Joins the side tables of `opts` (attributes, satisfaction, leads) onto a customer table
/// built elsewhere, as [`load`] does: their accounting, and the lead ids without a purchase.
pub fn join_side_tables(
    table: &mut CustomerTable,
    opts: &IngestOptions,
) -> Result<(Vec<SideTableStats>, Vec<String>)> {
    let (mut side, mut leads) = (Vec::new(), Vec::new());
    side_tables::join_all(table, opts, &mut side, &mut leads)?;
    Ok((side, leads))
}

/// The customer table from the rows folded into `acc`, at the dates of `opts`.
fn fold(
    acc: accumulate::Accumulator,
    mut stats: IngestStats,
    rejects: Vec<Reject>,
    column_hints: Vec<ColumnHint>,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Ingested> {
    let as_of = as_of_of(&stats, &rejects, opts)?;
    // an open holdout end (Day(i32::MAX)) means "to the last date in the data"
    let holdout_end = opts
        .holdout_end
        .map(|end| stats.last_date.map_or(end, |last| end.min(last)));
    progress.start(
        &clientele_core::Note::new("构建顾客表", "building the customer table"),
        None,
    );
    let agg = acc.finish(
        accumulate::Finish {
            as_of,
            holdout_end,
            unit_days: opts.unit.days(),
            calendar: opts.calendar_periods.then_some(opts.unit),
            detail: opts.monthly_activity,
        },
        &mut stats,
    );
    progress.finish();
    let accumulate::Aggregates {
        mut table,
        months,
        category_spend,
        categories,
        seasonality,
        holdout,
        ..
    } = agg?;
    let mut side = Vec::new();
    let mut leads = Vec::new();
    side_tables::join_all(&mut table, opts, &mut side, &mut leads)?;
    Ok(Ingested {
        table,
        as_of,
        stats,
        rejects,
        side_tables: side,
        leads_without_purchase: leads,
        months,
        holdout,
        category_spend,
        categories,
        seasonality: seasonality.as_ref().map(totals_of),
        column_hints,
        rows: None,
    })
}
