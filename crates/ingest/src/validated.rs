//! Validated rows handed out as Arrow batches, for an engine that aggregates them elsewhere
//! (the cluster engine): reading, validation, rejects and the accounting stay exactly those
//! of [`crate::load`]; only the fold is left to the caller.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use clientele_core::Day;

use crate::accumulate::Accumulator;
use crate::partition::Partitioner;
use crate::transactions::{NO_CATEGORY, NO_ORDER, NO_VALUE, RowBuffer};
use crate::{ColumnHint, IngestError, IngestOptions, IngestStats, Progress, Reject, Result};

/// Where validated rows go, split into parts by customer id ([`RowSink::partitioner`]; all
/// rows of a customer in one part).
pub trait RowSink: Send {
    /// How the rows are split into parts.
    fn partitioner(&self) -> &Partitioner;
    /// Takes validated rows of one part ([`validated_schema`]).
    fn write(&mut self, partition: usize, rows: RecordBatch) -> std::result::Result<(), String>;
    /// Forgets every row written so far: the input is read again (a far-future date was set
    /// aside as implausible, see [`crate::load`]).
    fn restart(&mut self) -> std::result::Result<(), String>;
    /// Called once after the last rows (files closed here).
    fn finish(&mut self) -> std::result::Result<(), String>;
}

/// The part of `parts` that customer `id` is in: where [`RowSink`] gets its rows, and where a
/// side table's rows for that id belong ([`crate::join_side_part`]).
pub fn part_of(id: &str, parts: usize) -> usize {
    part_of_hash(crate::transactions::id_hash(id), parts)
}

pub(crate) fn part_of_hash(hash: u64, parts: usize) -> usize {
    ((hash >> 32) % parts.max(1) as u64) as usize
}

/// The columns of the validated rows: money in integer micro-units
/// ([`crate::MONEY_SCALE`]), the order id as the 64-bit fingerprint the fold counts (null
/// without one), profit and quantity null where the row had none.
pub fn validated_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("order_date", DataType::Date32, false),
        Field::new("amount", DataType::Int64, false),
        Field::new("order_fp", DataType::Int64, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("profit", DataType::Int64, true),
        Field::new("quantity", DataType::Int64, true),
    ]))
}

/// What reading the transactions found, as [`crate::load`] reports it.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Row accounting up to validation (the as-of counts are the aggregation's).
    pub stats: IngestStats,
    /// Rejected rows (also written to `IngestOptions::rejects_path` when set).
    pub rejects: Vec<Reject>,
    /// Optional fields the files seem to hold under another name.
    pub column_hints: Vec<ColumnHint>,
    /// The as-of date: the given one, or the last order date.
    pub as_of: Day,
}

/// The accumulator's tap: converts each buffer of rows into one batch per part.
pub(crate) struct Tap {
    sink: Box<dyn RowSink>,
    error: Option<String>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("partitioner", self.sink.partitioner())
            .field("error", &self.error)
            .finish()
    }
}

impl Tap {
    /// Hands `rows` to the sink, one batch per part; the first failure is kept and later
    /// rows are dropped (the read then fails with it).
    pub(crate) fn write(&mut self, rows: &RowBuffer) {
        if self.error.is_some() || rows.len() == 0 {
            return;
        }
        let split = self.sink.partitioner();
        let mut builders: Vec<Builders> = (0..split.parts()).map(|_| Builders::default()).collect();
        let names = rows.categories.list();
        for shard in &rows.shards {
            for p in shard {
                let bytes = p.prefix.to_be_bytes();
                let id = if p.len > 8 {
                    rows.long_id(p)
                } else {
                    // a short id is its prefix: valid UTF-8 by construction
                    std::str::from_utf8(&bytes[..p.len as usize]).unwrap_or_default()
                };
                let b = &mut builders[split.part_of_row(p.hash, id)];
                b.id.append_value(id);
                b.day.append_value(p.day);
                b.amount.append_value(p.amount);
                b.order
                    .append_option((p.order != NO_ORDER).then_some(p.order as i64));
                b.category.append_option(
                    (p.category != NO_CATEGORY)
                        .then(|| names.get(p.category as usize).map(String::as_str))
                        .flatten(),
                );
                b.profit
                    .append_option((p.profit != NO_VALUE).then_some(p.profit));
                b.quantity
                    .append_option((p.quantity != NO_VALUE).then_some(p.quantity));
            }
        }
        for (k, mut b) in builders.into_iter().enumerate() {
            if b.amount.len() == 0 {
                continue;
            }
            let cols: Vec<ArrayRef> = vec![
                Arc::new(b.id.finish()),
                Arc::new(b.day.finish()),
                Arc::new(b.amount.finish()),
                Arc::new(b.order.finish()),
                Arc::new(b.category.finish()),
                Arc::new(b.profit.finish()),
                Arc::new(b.quantity.finish()),
            ];
            let written = RecordBatch::try_new(validated_schema(), cols)
                .map_err(|e| e.to_string())
                .and_then(|batch| self.sink.write(k, batch));
            if let Err(e) = written {
                self.error = Some(e);
                return;
            }
        }
    }
}

#[derive(Default)]
struct Builders {
    id: StringBuilder,
    day: Date32Builder,
    amount: Int64Builder,
    order: Int64Builder,
    category: StringBuilder,
    profit: Int64Builder,
    quantity: Int64Builder,
}

/// Reads and validates the transactions exactly as [`crate::load`] does (rejects, accounting,
/// the second reading that sets a far-future typo aside) and hands the valid rows to `sink`
/// instead of folding them. The rows are folded here only when no as-of date is given, for
/// the implausible-date check, which [`crate::load`] makes on the folded lines.
pub fn read_validated(
    opts: &IngestOptions,
    sink: Box<dyn RowSink>,
    progress: &dyn Progress,
) -> Result<Validated> {
    read_validated_with(opts, sink, true, progress)
}

/// [`read_validated`] without folding a single row: without an as-of date the caller makes the
/// implausible-date check itself, from the line days of its parts ([`crate::plausible_end`]),
/// and reads again with [`IngestOptions::latest_plausible`] when it finds one. Memory then
/// stays that of the reading alone, whatever the number of customers.
pub fn read_validated_unfolded(
    opts: &IngestOptions,
    sink: Box<dyn RowSink>,
    progress: &dyn Progress,
) -> Result<Validated> {
    read_validated_with(opts, sink, false, progress)
}

fn read_validated_with(
    opts: &IngestOptions,
    sink: Box<dyn RowSink>,
    check: bool,
    progress: &dyn Progress,
) -> Result<Validated> {
    crate::dates::check_format(&opts.columns.date_format)?;
    let crate::Sources { files, duplicates } = match opts.postgres {
        Some(_) => crate::Sources::default(),
        None => crate::expand_sources_noting(&opts.transactions)?,
    };
    let check_dates = check && opts.as_of.is_none() && opts.latest_plausible.is_none();
    let acc = Accumulator::new(opts.as_of, false).tapped(sink, check_dates);
    let (mut acc, mut stats, mut rejects, column_hints) =
        crate::reader::read_transactions(&files, opts, acc, progress)?;
    let mut sink = acc.take_tap()?;
    if check_dates
        && let (Some(first), Some(last)) = (stats.first_date, stats.last_date)
        && let Some(latest) = acc.implausible_after(first, last)
    {
        drop(acc);
        sink.restart().map_err(IngestError::Sink)?;
        let again = IngestOptions {
            latest_plausible: Some(latest),
            ..opts.clone()
        };
        let acc = Accumulator::new(opts.as_of, false).tapped(sink, false);
        let (mut acc, s, r, _) = crate::reader::read_transactions(&files, &again, acc, progress)?;
        sink = acc.take_tap()?;
        (stats, rejects) = (s, r);
    }
    sink.finish().map_err(IngestError::Sink)?;
    stats.duplicates = duplicates.iter().map(|p| p.display().to_string()).collect();
    let as_of = crate::as_of_of(&stats, &rejects, opts)?;
    Ok(Validated {
        stats,
        rejects,
        column_hints,
        as_of,
    })
}

impl Accumulator {
    /// Hands every buffer to `sink`; folds it too only with `fold`.
    pub(crate) fn tapped(mut self, sink: Box<dyn RowSink>, fold: bool) -> Accumulator {
        self.tap = Some(Tap { sink, error: None });
        self.fold = fold;
        self
    }

    /// The sink given to [`Accumulator::tapped`], or the first error it returned.
    pub(crate) fn take_tap(&mut self) -> Result<Box<dyn RowSink>> {
        match self.tap.take() {
            Some(Tap { error: Some(e), .. }) => Err(IngestError::Sink(e)),
            Some(Tap { sink, .. }) => Ok(sink),
            None => Err(IngestError::Engine("the row sink went missing".into())),
        }
    }
}
