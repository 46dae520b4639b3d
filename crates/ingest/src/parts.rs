//! One part of the customers folded on its own: the spilled run's second pass.
//!
//! [`read_validated`](crate::read_validated) splits the valid rows by customer-id hash, so
//! every customer's rows are in one part. A customer's row of the table depends on that
//! customer's rows alone, so folding each part by itself gives exactly the rows the whole fold
//! gives; only the accounting of the as-of date is summed over the parts ([`AsOfCounts`],
//! in micro-units, so the sums stay exact), and the optional columns a part lacks are put
//! back ([`fold_columns`], [`absent_column`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Date32Type, Int64Type};
use clientele_core::{ColumnData, CustomerTable, Day, Values};

use crate::accumulate::{Accumulator, Finish};
use crate::transactions::{Category, NO_ORDER, Row, RowBuffer};
use crate::{
    CategorySpend, IngestError, IngestOptions, IngestStats, MONEY_SCALE, MonthActivity, PeriodSums,
    PeriodTotals, Result, Seasonality, totals_of,
};

/// The as-of accounting of [`IngestStats`] for some of the customers, to be added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsOfCounts {
    /// Rows on or before the as-of date.
    pub used: u64,
    /// Rows after it.
    pub after_as_of: u64,
    /// Customers whose used rows are all returns.
    pub return_only_customers: u64,
    /// Σ used amounts, micro-units.
    pub total_micros: i128,
    /// Σ the return-only customers' amounts, micro-units.
    pub return_only_micros: i128,
}

impl AsOfCounts {
    /// Adds another part's counts.
    pub fn add(&mut self, o: &AsOfCounts) {
        self.used += o.used;
        self.after_as_of += o.after_as_of;
        self.return_only_customers += o.return_only_customers;
        self.total_micros += o.total_micros;
        self.return_only_micros += o.return_only_micros;
    }

    /// Writes the counts into `stats`, as a whole fold fills them.
    pub fn fill(&self, stats: &mut IngestStats) {
        stats.used = self.used;
        stats.after_as_of = self.after_as_of;
        stats.return_only_customers = self.return_only_customers;
        stats.total_amount = self.total_micros as f64 / MONEY_SCALE;
        stats.return_only_amount = self.return_only_micros as f64 / MONEY_SCALE;
    }
}

/// The customer table of one part, sorted by id, and its as-of accounting.
#[derive(Debug, Clone)]
pub struct PartTable {
    /// One row per customer of the part with a purchase up to as-of.
    pub table: CustomerTable,
    /// The part's share of the as-of accounting.
    pub counts: AsOfCounts,
    /// Lines per day, for [`plausible_end`].
    pub line_days: BTreeMap<i32, u64>,
    /// Months, category spend and seasonality, with [`IngestOptions::monthly_activity`].
    pub detail: Option<PartDetail>,
    /// Purchase days in `(as_of, holdout_end]` per customer of the table, with
    /// [`IngestOptions::holdout_end`] (as [`crate::Ingested::holdout`]).
    pub holdout: Option<Vec<f64>>,
}

/// The fold's detail beyond the table for one part: `customer` indexes the part's table,
/// `category` the part's own category names.
#[derive(Debug, Clone, Default)]
pub struct PartDetail {
    /// Per customer-month activity, by customer.
    pub months: Vec<MonthActivity>,
    /// Spend per customer and category, by customer then category.
    pub category_spend: Vec<CategorySpend>,
    /// The categories the part's spend refers to, in name order.
    pub categories: Vec<String>,
    /// Per weekday and calendar month, exact.
    pub seasonality: Seasonality,
}

/// The detail of all parts, as one fold of all the rows makes it.
#[derive(Debug, Clone, Default)]
pub struct MergedDetail {
    /// As [`crate::Ingested::months`].
    pub months: Vec<MonthActivity>,
    /// As [`crate::Ingested::category_spend`].
    pub category_spend: Vec<CategorySpend>,
    /// As [`crate::Ingested::categories`].
    pub categories: Vec<String>,
    /// As [`crate::Ingested::seasonality`].
    pub seasonality: ([PeriodTotals; 7], [PeriodTotals; 12]),
}

/// The parts' detail merged: `rows[k][c]` is the row of part `k`'s customer `c` in the merged
/// table (the parts' tables merged by customer id, which keeps each part's order). Categories
/// become the union of the parts' names in name order; everything stays ordered by customer
/// as a whole fold orders it, so the sums made from it later are the same to the bit.
pub fn merge_details(parts: Vec<PartDetail>, rows: &[Vec<u32>]) -> Result<MergedDetail> {
    merge_part_details(parts, rows).map(PartDetail::into_merged)
}

/// [`merge_details`] kept as one part's detail, its seasonality as exact sums: for parts made
/// of smaller ones (a cluster's buckets), merged again with other parts later.
pub fn merge_part_details(parts: Vec<PartDetail>, rows: &[Vec<u32>]) -> Result<PartDetail> {
    let bad = || IngestError::Engine("a part's detail names a customer it does not hold".into());
    let mut categories: Vec<String> = parts
        .iter()
        .flat_map(|p| p.categories.iter().cloned())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    let customers: usize = rows.iter().map(Vec::len).sum();
    let mut week = [PeriodSums::default(); 7];
    let mut year = [PeriodSums::default(); 12];
    let mut months = Vec::with_capacity(parts.len());
    let mut category_spend = Vec::with_capacity(parts.len());
    for (k, p) in parts.into_iter().enumerate() {
        for (a, b) in week
            .iter_mut()
            .chain(&mut year)
            .zip(p.seasonality.0.iter().chain(&p.seasonality.1))
        {
            a.add(b);
        }
        let global = |c: u32| -> Result<u32> {
            rows.get(k)
                .and_then(|r| r.get(c as usize))
                .copied()
                .filter(|&g| (g as usize) < customers)
                .ok_or_else(bad)
        };
        let mut m = p.months;
        for m in &mut m {
            m.customer = global(m.customer)?;
        }
        months.push(m);
        let names: Vec<u32> = p
            .categories
            .iter()
            .map(|n| categories.binary_search(n).map(|i| i as u32))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let mut spend = p.category_spend;
        for s in &mut spend {
            s.customer = global(s.customer)?;
            s.category = *names.get(s.category as usize).ok_or_else(bad)?;
        }
        category_spend.push(spend);
    }
    Ok(PartDetail {
        months: by_customer(months, customers, |m| m.customer),
        category_spend: by_customer(category_spend, customers, |s| s.customer),
        categories,
        seasonality: (week, year),
    })
}

impl PartDetail {
    /// The detail of all the parts, as one fold of all the rows makes it (the seasonality's
    /// sums turned into totals).
    pub fn into_merged(self) -> MergedDetail {
        MergedDetail {
            seasonality: totals_of(&self.seasonality),
            months: self.months,
            category_spend: self.category_spend,
            categories: self.categories,
        }
    }
}

/// The entries of all `lists` ordered by customer (`customers` of them), each customer's in
/// the order of its list: every list is ordered by customer and a customer is in one list,
/// so placing each entry after those of the customers before it keeps the whole fold's
/// order, in one pass and without a sort's extra copy.
fn by_customer<T: Copy>(
    lists: Vec<Vec<T>>,
    customers: usize,
    customer: impl Fn(&T) -> u32,
) -> Vec<T> {
    let mut next = vec![0usize; customers + 1];
    for e in lists.iter().flatten() {
        next[customer(e) as usize + 1] += 1;
    }
    for c in 1..next.len() {
        next[c] += next[c - 1];
    }
    let Some(&first) = lists.iter().flatten().next() else {
        return Vec::new();
    };
    let mut out = vec![first; next[customers]];
    for e in lists.into_iter().flatten() {
        let at = &mut next[customer(&e) as usize];
        out[*at] = e;
        *at += 1;
    }
    out
}

/// [`Accumulator::implausible_after`] from the line days of all parts added up: the same
/// last plausible day, or `None` when no line lies far beyond the bulk of the data.
pub fn plausible_end(first: Day, last: Day, line_days: &BTreeMap<i32, u64>) -> Option<Day> {
    if i64::from(last.0) - i64::from(first.0) <= 366 {
        return None;
    }
    let n: u64 = line_days.values().sum();
    let keep = (n / 1000).max(1) + 1;
    // the keep-th latest line day
    let mut seen = 0;
    let bulk_end = line_days.iter().rev().find_map(|(&day, &k)| {
        seen += k;
        (seen >= keep).then_some(i64::from(day))
    })?;
    let allowed = bulk_end + (bulk_end - i64::from(first.0)).max(366);
    (i64::from(last.0) > allowed).then_some(Day(allowed as i32))
}

/// Folds rows of [`crate::validated_schema`] holding every row of their customers into their
/// customer table at `as_of`, with the column conventions of `opts` (unit, calendar periods).
/// Side tables are not joined: the caller joins them part by part. With
/// [`IngestOptions::monthly_activity`] the part's months, category spend and seasonality come
/// too ([`PartDetail`], merged over the parts by [`merge_details`]); with
/// [`IngestOptions::holdout_end`] each customer's purchase days in the holdout.
pub fn fold_part<'a>(
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    as_of: Day,
    opts: &IngestOptions,
) -> Result<PartTable> {
    let mut acc = Accumulator::new(Some(as_of), opts.holdout_end.is_some());
    let batches: Vec<&RecordBatch> = batches.into_iter().collect();
    // The rows are turned back into buffers by two threads, a group of batches each, and
    // folded a pair of buffers at a time (one thread's turning was a quarter of a part's
    // fold, the other core idle meanwhile); the fold does not depend on how rows are split.
    let mut bufs = [RowBuffer::default(), RowBuffer::default()];
    for group in batches.chunks(FILL_GROUP) {
        let (first, second) = group.split_at(group.len().div_ceil(2));
        let [a, b] = &mut bufs;
        let (filled_a, filled_b) = rayon::join(|| fill_all(a, first), || fill_all(b, second));
        filled_a?;
        filled_b?;
        for buf in &mut bufs {
            acc.absorb(buf);
            buf.clear();
        }
    }
    let line_days = acc.line_days();
    let mut stats = IngestStats::default();
    let detail = opts.monthly_activity;
    let agg = acc.finish(
        Finish {
            as_of,
            // an open end (`Day(i32::MAX)`) counts every later day, as the whole fold's
            // end at the data's last date does
            holdout_end: opts.holdout_end,
            unit_days: opts.unit.days(),
            calendar: opts.calendar_periods.then_some(opts.unit),
            detail,
        },
        &mut stats,
    )?;
    Ok(PartTable {
        counts: AsOfCounts {
            used: stats.used,
            after_as_of: stats.after_as_of,
            return_only_customers: stats.return_only_customers,
            total_micros: agg.total_micros,
            return_only_micros: agg.return_only_micros,
        },
        table: agg.table,
        line_days,
        detail: detail.then(|| PartDetail {
            months: agg.months,
            category_spend: agg.category_spend,
            categories: agg.categories,
            seasonality: agg.seasonality.unwrap_or_default(),
        }),
        holdout: agg.holdout,
    })
}

/// The columns [`fold_part`] makes, in its order, when its customers have every optional
/// field. A fold adds the category, profit and quantity columns only when some customer of
/// its rows has the field, so parts folded apart can lack some that the whole has: a merge
/// of parts orders their columns by this list and fills the missing ones with
/// [`absent_column`], which gives the table one fold of all the rows gives.
pub fn fold_columns(opts: &IngestOptions) -> Result<Vec<String>> {
    let one = |a: arrow::array::ArrayRef| a;
    let row = RecordBatch::try_new(
        crate::validated_schema(),
        vec![
            one(Arc::new(StringArray::from(vec!["c"]))),
            one(Arc::new(Date32Array::from(vec![0]))),
            one(Arc::new(Int64Array::from(vec![1]))),
            one(Arc::new(Int64Array::from(vec![1]))),
            one(Arc::new(StringArray::from(vec!["k"]))),
            one(Arc::new(Int64Array::from(vec![1]))),
            one(Arc::new(Int64Array::from(vec![1]))),
        ],
    )
    .map_err(|e| IngestError::Engine(e.to_string()))?;
    let mut opts = opts.clone();
    opts.monthly_activity = false;
    let full = fold_part([&row], Day(1), &opts)?;
    Ok(full
        .table
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// Sorts `items` (the columns of folded parts, each once) into the order one fold of all the
/// rows has them: the fold's own in [`fold_columns`] order, then any others (the side
/// tables') in the order given. How many of them are the fold's own.
pub fn order_as_fold<T>(
    items: &mut [T],
    name: impl Fn(&T) -> &str,
    opts: &IngestOptions,
) -> Result<usize> {
    let fold = fold_columns(opts)?;
    let rank = |t: &T| fold.iter().position(|f| f == name(t));
    items.sort_by_key(|t| rank(t).unwrap_or(usize::MAX));
    Ok(items.iter().filter(|t| rank(t).is_some()).count())
}

/// The column `name` (of `template`'s type) for `n` customers of a part that lacks it: what
/// a fold gives a customer without the field (no category is 0 categories; no profit or
/// quantity is missing).
pub fn absent_column(name: &str, template: &ColumnData, n: usize) -> ColumnData {
    match template {
        ColumnData::Int(_) if name == "categories" => ColumnData::Int(vec![Some(0); n].into()),
        ColumnData::Int(_) => ColumnData::Int(Values::from(vec![None; n])),
        ColumnData::Float(_) => ColumnData::Float(Values::from(vec![None; n])),
        ColumnData::Date(_) => ColumnData::Date(Values::from(vec![None; n])),
        ColumnData::Text(_) => ColumnData::Text(vec![None::<String>; n].into()),
    }
}

/// Batches of spilled rows turned back into buffers at a time: two groups, one for each
/// thread, of the small batches that the reading hands each part (a few thousand rows each).
const FILL_GROUP: usize = 64;

/// The rows of `batches` into `buf`.
fn fill_all(buf: &mut RowBuffer, batches: &[&RecordBatch]) -> Result<()> {
    batches.iter().try_for_each(|b| fill(buf, b))
}

/// The rows of `b` into `buf`.
fn fill(buf: &mut RowBuffer, b: &RecordBatch) -> Result<()> {
    let bad =
        |what: &str| IngestError::Engine(format!("a spilled part's {what} column is unreadable"));
    let col = |i: usize| b.columns().get(i).ok_or_else(|| bad("missing"));
    let ids = col(0)?
        .as_string_opt::<i32>()
        .ok_or_else(|| bad("customer_id"))?;
    let days = col(1)?
        .as_primitive_opt::<Date32Type>()
        .ok_or_else(|| bad("order_date"))?;
    let amounts = col(2)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("amount"))?;
    let orders = col(3)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("order_fp"))?;
    let cats = col(4)?
        .as_string_opt::<i32>()
        .ok_or_else(|| bad("category"))?;
    let profits = col(5)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("profit"))?;
    let quantities = col(6)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("quantity"))?;
    let opt =
        |a: &arrow::array::PrimitiveArray<Int64Type>, i: usize| (!a.is_null(i)).then(|| a.value(i));
    buf.reserve(b.num_rows());
    for i in 0..b.num_rows() {
        buf.push(Row {
            customer_id: ids.value(i),
            day: days.value(i),
            amount: amounts.value(i),
            order: opt(orders, i).map_or(NO_ORDER, |v| v as u64),
            category: if cats.is_null(i) {
                Category::None
            } else {
                Category::Name(cats.value(i))
            },
            profit: opt(profits, i),
            quantity: opt(quantities, i),
        });
    }
    Ok(())
}

/// What the input's files say of its size without reading them, to size a spilled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSize {
    /// Rows: Parquet footers' row counts; for delimited text the file's size over the bytes a
    /// line takes in its first mebibyte, plus a quarter (rows vary in length; more parts cost
    /// little, too few cost the limit).
    pub rows: u64,
    /// Memory one reading thread holds at once: its chunk's rows as parsed, buffered and
    /// handed on. Measured: about 300 bytes a row of a Parquet row group (two threads on row
    /// groups of a million rows peak near 0.6 GB), and about eight times the 8 MiB chunk of
    /// delimited text.
    pub bytes_per_reading_thread: u64,
}

/// [`InputSize`] of these files (each Parquet footer read once); `None` when one cannot be
/// read.
pub fn input_size(files: &[std::path::PathBuf]) -> Option<InputSize> {
    let mut size = InputSize {
        rows: 0,
        bytes_per_reading_thread: (crate::reader::CHUNK_BYTES as u64) * 8,
    };
    for f in files {
        if crate::SourceFormat::of(f) == crate::SourceFormat::Parquet {
            let file = std::fs::File::open(f).ok()?;
            let meta = parquet::file::metadata::ParquetMetaDataReader::new()
                .parse_and_finish(&file)
                .ok()?;
            size.rows += meta.file_metadata().num_rows().max(0) as u64;
            let group = meta
                .row_groups()
                .iter()
                .map(|g| g.num_rows().max(0) as u64)
                .max();
            size.bytes_per_reading_thread = size
                .bytes_per_reading_thread
                .max(group.unwrap_or(0).saturating_mul(300));
        } else {
            size.rows += text_rows(f)?;
        }
    }
    Some(size)
}

/// [`InputSize::rows`] of one delimited text file.
fn text_rows(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let size = std::fs::metadata(path).ok()?.len();
    let mut head = Vec::with_capacity(1 << 20);
    std::fs::File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut head)
        .ok()?;
    let lines = head.iter().filter(|&&b| b == b'\n').count() as u64;
    if lines < 100 {
        // a short file, or lines too long to tell: 20 bytes a row, more than any real line
        return Some(size / 20);
    }
    let per_line = head.len() as u64 / lines;
    Some((size / per_line.max(1)).saturating_mul(5) / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One far-future typo among a hundred days is set aside at a year after the bulk.
    #[test]
    fn a_typo_far_beyond_the_bulk_is_implausible() {
        let mut days: BTreeMap<i32, u64> = (0..=100).map(|d| (d, 1)).collect();
        days.insert(30_000, 1);
        assert_eq!(plausible_end(Day(0), Day(30_000), &days), Some(Day(466)));
        days.remove(&30_000);
        assert_eq!(plausible_end(Day(0), Day(100), &days), None);
    }

    proptest! {
        /// The last plausible day from the line days added up over parts is the one the whole
        /// fold finds, whatever the days and however the customers are split.
        #[test]
        fn plausible_end_of_parts_equals_the_whole_folds(
            days in proptest::collection::vec(
                prop_oneof![8 => 0i32..800, 1 => 800i32..40_000],
                1..400,
            ),
            parts in 1usize..5,
        ) {
            let mut whole = Accumulator::new(None, false);
            let mut split: Vec<Accumulator> =
                (0..parts).map(|_| Accumulator::new(None, false)).collect();
            for (i, &day) in days.iter().enumerate() {
                let id = format!("c{}", i % 37);
                let b = crate::transactions::one_row(&id, day, i as u64);
                whole.absorb(&b);
                split[(i % 37) % parts].absorb(&b);
            }
            let (first, last) = (
                Day(*days.iter().min().unwrap()),
                Day(*days.iter().max().unwrap()),
            );
            let mut added = BTreeMap::new();
            for acc in &split {
                for (d, n) in acc.line_days() {
                    *added.entry(d).or_insert(0) += n;
                }
            }
            prop_assert_eq!(
                plausible_end(first, last, &added),
                whole.implausible_after(first, last)
            );
        }

        /// Months, category spend, categories and seasonality folded part by part and merged
        /// equal the whole fold's, entry for entry and in the same order, whatever the rows
        /// (returns, rows without a category, days across months and weekdays) and however
        /// the customers are split.
        #[test]
        fn details_of_parts_merged_equal_the_whole_folds(
            rows in proptest::collection::vec(
                (0u8..40, 0i32..900, -3_000_000i64..9_000_000, 0u8..6),
                1..300,
            ),
            parts in 1usize..6,
        ) {
            const CATEGORIES: [&str; 5] = ["书", "toys", "Books", "z", "a b"];
            let finish = |acc: Accumulator| {
                let f = Finish {
                    as_of: Day(850),
                    holdout_end: None,
                    unit_days: 7.0,
                    calendar: None,
                    detail: true,
                };
                acc.finish(f, &mut IngestStats::default()).unwrap()
            };
            let mut whole = Accumulator::new(Some(Day(850)), false);
            let mut split: Vec<Accumulator> =
                (0..parts).map(|_| Accumulator::new(Some(Day(850)), false)).collect();
            for (i, &(c, day, amount, cat)) in rows.iter().enumerate() {
                let id = format!("c{c}");
                let mut b = RowBuffer::default();
                b.push(Row {
                    customer_id: &id,
                    day,
                    amount,
                    order: i as u64 / 2,
                    category: CATEGORIES.get(cat as usize).map_or(Category::None, |n| Category::Name(n)),
                    profit: None,
                    quantity: None,
                });
                whole.absorb(&b);
                split[crate::part_of(&id, parts)].absorb(&b);
            }
            let whole = finish(whole);
            let row_of: std::collections::HashMap<&str, u32> =
                (0..whole.table.len()).map(|r| (&whole.table.ids()[r], r as u32)).collect();
            let mut details = Vec::new();
            let mut rows_of = Vec::new();
            for acc in split {
                let a = finish(acc);
                rows_of.push((0..a.table.len()).map(|r| row_of[&a.table.ids()[r]]).collect::<Vec<u32>>());
                details.push(PartDetail {
                    months: a.months,
                    category_spend: a.category_spend,
                    categories: a.categories,
                    seasonality: a.seasonality.unwrap(),
                });
            }
            let merged = merge_details(details, &rows_of).unwrap();
            prop_assert_eq!(merged.months, whole.months);
            prop_assert_eq!(merged.category_spend, whole.category_spend);
            prop_assert_eq!(merged.categories, whole.categories);
            prop_assert_eq!(merged.seasonality, totals_of(&whole.seasonality.unwrap()));
        }
    }
}
