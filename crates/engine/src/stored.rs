//! A finished analysis read back from its output folder: what `clientele serve`, `export` and
//! later runs work from without re-reading the transactions.
//!
//! The customer table comes back from `customers.parquet` column by column into the same typed
//! [`CustomerTable`] the run held (ids as written, text as codes, numbers and dates with their
//! missing values), so everything that reads a live analysis reads a stored one the same way.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Day, Ids, Texts, Values};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use crate::out_dir::read_manifest;
use crate::{Config, EngineError, Manifest, Summary};

/// The customer table file a stored run is read from.
pub const CUSTOMERS_PARQUET: &str = "customers.parquet";

/// A finished analysis, as its output folder holds it. The per-customer snapshot
/// (`snapshot/snapshot.json`, for `compare` and `--previous`) is not read: the table holds the
/// same grades, and at millions of customers the snapshot is hundreds of megabytes of JSON.
#[derive(Debug)]
pub struct StoredRun {
    /// The output folder.
    pub dir: PathBuf,
    /// What the folder holds and the settings of the run.
    pub manifest: Manifest,
    /// The typed summary (`summary.json`).
    pub summary: Summary,
    /// Every customer with every column the run wrote (`customers.parquet`).
    pub customers: Arc<CustomerTable>,
}

impl StoredRun {
    /// Reads the run in `dir`. Refuses a folder clientele did not write, and a run written
    /// without `customers.parquet` (`[output] format = "csv"`), naming the fix.
    pub fn open(dir: &Path) -> Result<StoredRun, EngineError> {
        let not_a_run = |reason: String| EngineError::NotARun {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(not_a_run("no such folder".into()));
        }
        let manifest = read_manifest(dir).ok_or_else(|| {
            not_a_run(format!(
                "it holds no {}: give the --out folder of `clientele analyze`",
                crate::MANIFEST_FILE
            ))
        })?;
        if manifest.kind != "analysis" {
            return Err(not_a_run(format!(
                "it holds a clientele {} output, not an analysis{}",
                manifest.kind,
                if manifest.kind == "sample shop" {
                    " (its analysis is in the `out` folder inside it)"
                } else {
                    ""
                }
            )));
        }
        let summary_path = dir.join("summary.json");
        let text = std::fs::read_to_string(&summary_path)
            .map_err(|e| EngineError::io(&summary_path, e))?;
        let summary = Summary::from_json(&text)?;
        let parquet = dir.join(CUSTOMERS_PARQUET);
        if !parquet.is_file() {
            return Err(not_a_run(format!(
                "it has no {CUSTOMERS_PARQUET} (the run wrote CSV only): analyze again with \
                 `--format parquet` or `both`"
            )));
        }
        let customers = read_customers(&parquet)?;
        if customers.len() != summary.kpis.customers {
            return Err(not_a_run(format!(
                "{CUSTOMERS_PARQUET} holds {} customers but summary.json counts {}: the folder \
                 was changed after the run; analyze again",
                customers.len(),
                summary.kpis.customers
            )));
        }
        Ok(StoredRun {
            dir: dir.to_path_buf(),
            manifest,
            summary,
            customers: Arc::new(customers),
        })
    }

    /// The run's config as recorded in its manifest (without the input paths, which are not
    /// recorded), when the run was written by a clientele that records its settings.
    pub fn config(&self) -> Option<Config> {
        self.manifest
            .settings
            .as_ref()
            .and_then(|s| Config::from_settings(s).ok())
    }
}

/// Reads a `customers.parquet` written by clientele back into the customer table. Columns are
/// read in parallel, each by its own reader over the file: the table of a few million customers
/// is tens of columns, and a server is ready when the slowest one is in.
pub fn read_customers(path: &Path) -> Result<CustomerTable, EngineError> {
    use rayon::prelude::*;
    let bad = |reason: String| EngineError::Output {
        path: path.to_path_buf(),
        reason,
    };
    // the footer is read once; each column's reader opens the file with it
    let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let meta = ArrowReaderMetadata::load(&file, Default::default())
        .map_err(|e| bad(format!("not a Parquet file: {e}")))?;
    let open = || -> Result<ParquetRecordBatchReaderBuilder<File>, EngineError> {
        let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file,
            meta.clone(),
        ))
    };
    let builder = open()?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let schema = builder.schema().clone();
    let flat = schema.fields().iter().all(|f| !f.data_type().is_nested());
    if !flat {
        return Err(bad(
            "a column is nested; clientele writes flat tables".into()
        ));
    }
    let id_at = schema
        .index_of(col::CUSTOMER_ID)
        .map_err(|_| bad(format!("no {} column", col::CUSTOMER_ID)))?;
    // one reader per column (flat schema: column i is leaf i)
    let read_column = |i: usize| -> Result<Vec<arrow::array::RecordBatch>, EngineError> {
        let b = open()?;
        let mask = parquet::arrow::ProjectionMask::leaves(b.parquet_schema(), [i]);
        let reader = b
            .with_projection(mask)
            .with_batch_size(1 << 16)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        reader.map(|r| r.map_err(|e| bad(e.to_string()))).collect()
    };
    let columns: Vec<Result<Column, EngineError>> = (0..schema.fields().len())
        .into_par_iter()
        .map(|i| {
            let f = schema.field(i);
            let batches = read_column(i)?;
            if i == id_at {
                let mut ids = Ids::with_capacity(rows, rows * 8);
                for b in &batches {
                    let a = text_array(b.column(0))
                        .ok_or_else(|| bad("customer_id is not text".into()))?;
                    for k in 0..a.len() {
                        if a.is_null(k) {
                            return Err(bad("a customer_id is missing".into()));
                        }
                        ids.push(a.value(k));
                    }
                }
                return Ok(Column::Ids(ids));
            }
            let mut c = ColumnBuilder::of(f.data_type(), rows)
                .ok_or_else(|| bad(format!("column {} has type {}", f.name(), f.data_type())))?;
            for b in &batches {
                c.append(b.column(0)).map_err(bad)?;
            }
            Ok(Column::Data(f.name().clone(), c.finish().map_err(bad)?))
        })
        .collect();
    let mut ids = None;
    let mut data = Vec::new();
    for c in columns {
        match c? {
            Column::Ids(i) => ids = Some(i),
            Column::Data(name, d) => data.push((name, d)),
        }
    }
    let mut table = CustomerTable::from_ids(ids.unwrap_or_default());
    for (name, d) in data {
        table.push(name, d)?;
    }
    Ok(table)
}

/// A batch of customer-table rows (as [`crate::output`] writes them) back as a table: the
/// spilled run's merged rows, for `customers.csv`.
pub(crate) fn table_of_batch(b: &arrow::array::RecordBatch) -> Result<CustomerTable, String> {
    let mut t = TableBuilder::new(&b.schema(), b.num_rows())?;
    t.append(b)?;
    t.finish()
}

/// Customer-table rows (as [`crate::output`] writes them) gathered batch by batch into one
/// table: a spilled run's parts merged for the models.
pub(crate) struct TableBuilder {
    ids: Ids,
    /// Position of `customer_id` in the batches.
    id_at: usize,
    columns: Vec<(String, ColumnBuilder)>,
}

impl TableBuilder {
    /// A table of batches of `schema`, with room for `rows`.
    pub(crate) fn new(
        schema: &arrow::datatypes::Schema,
        rows: usize,
    ) -> Result<TableBuilder, String> {
        let id_at = schema
            .index_of(col::CUSTOMER_ID)
            .map_err(|_| format!("no {} column", col::CUSTOMER_ID))?;
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != id_at)
            .map(|(_, f)| {
                ColumnBuilder::of(f.data_type(), rows)
                    .map(|c| (f.name().clone(), c))
                    .ok_or_else(|| format!("column {} has type {}", f.name(), f.data_type()))
            })
            .collect::<Result<_, _>>()?;
        Ok(TableBuilder {
            ids: Ids::with_capacity(rows, rows * 8),
            id_at,
            columns,
        })
    }

    /// Appends the rows of `b`.
    pub(crate) fn append(&mut self, b: &arrow::array::RecordBatch) -> Result<(), String> {
        let a = b
            .columns()
            .get(self.id_at)
            .and_then(text_array)
            .ok_or("customer_id is not text")?;
        for k in 0..a.len() {
            if a.is_null(k) {
                return Err("a customer_id is missing".into());
            }
            self.ids.push(a.value(k));
        }
        let others = b
            .columns()
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != self.id_at);
        for ((_, c), (_, a)) in self.columns.iter_mut().zip(others) {
            c.append(a)?;
        }
        Ok(())
    }

    /// The table.
    pub(crate) fn finish(self) -> Result<CustomerTable, String> {
        let mut table = CustomerTable::from_ids(self.ids);
        for (name, c) in self.columns {
            table.push(name, c.finish()?).map_err(|e| e.to_string())?;
        }
        Ok(table)
    }
}

/// One column read back: the ids, or a named column.
enum Column {
    Ids(Ids),
    Data(String, ColumnData),
}

fn text_array(a: &ArrayRef) -> Option<arrow::array::StringArray> {
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            arrow::compute::cast(a, &DataType::Utf8)
                .ok()
                .map(|c| c.as_string::<i32>().clone())
        }
        _ => None,
    }
}

/// One column being read back.
pub(crate) enum ColumnBuilder {
    Int(Values<i64>),
    Float(Values<f64>),
    Date(Values<Day>),
    Text {
        labels: Vec<String>,
        index: std::collections::HashMap<String, u32, foldhash::fast::FixedState>,
        codes: Vec<Option<u32>>,
    },
}

impl ColumnBuilder {
    pub(crate) fn of(t: &DataType, rows: usize) -> Option<ColumnBuilder> {
        Some(match t {
            DataType::Int64 | DataType::Int32 => ColumnBuilder::Int(Values::with_capacity(rows)),
            DataType::Float64 => ColumnBuilder::Float(Values::with_capacity(rows)),
            DataType::Date32 => ColumnBuilder::Date(Values::with_capacity(rows)),
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(..) => ColumnBuilder::Text {
                labels: Vec::new(),
                index: Default::default(),
                codes: Vec::with_capacity(rows),
            },
            _ => return None,
        })
    }

    pub(crate) fn append(&mut self, a: &ArrayRef) -> Result<(), String> {
        let mismatch = || format!("a row group has type {}", a.data_type());
        match self {
            ColumnBuilder::Int(v) => match a.data_type() {
                // without gaps (most columns), the values are copied in one go
                DataType::Int64 if a.null_count() == 0 => {
                    v.extend_present(a.as_primitive::<Int64Type>().values());
                }
                DataType::Int64 => {
                    let a = a.as_primitive::<Int64Type>();
                    (0..a.len()).for_each(|i| v.push(a.is_valid(i).then(|| a.value(i))));
                }
                DataType::Int32 => {
                    let a = a.as_primitive::<Int32Type>();
                    (0..a.len()).for_each(|i| v.push(a.is_valid(i).then(|| a.value(i) as i64)));
                }
                _ => return Err(mismatch()),
            },
            ColumnBuilder::Float(v) => {
                let a = a.as_primitive_opt::<Float64Type>().ok_or_else(mismatch)?;
                if a.null_count() == 0 {
                    v.extend_present(a.values());
                } else {
                    (0..a.len()).for_each(|i| v.push(a.is_valid(i).then(|| a.value(i))));
                }
            }
            ColumnBuilder::Date(v) => {
                let a = a.as_primitive_opt::<Date32Type>().ok_or_else(mismatch)?;
                (0..a.len()).for_each(|i| v.push(a.is_valid(i).then(|| Day(a.value(i)))));
            }
            ColumnBuilder::Text {
                labels,
                index,
                codes,
            } => {
                let a = text_array(a).ok_or_else(mismatch)?;
                for i in 0..a.len() {
                    if a.is_null(i) {
                        codes.push(None);
                        continue;
                    }
                    let s = a.value(i);
                    // grades, stages and segments have a handful of values: comparing with
                    // each is faster than hashing
                    if labels.len() <= 16
                        && let Some(c) = labels.iter().position(|l| l == s)
                    {
                        codes.push(Some(c as u32));
                        continue;
                    }
                    let code = match index.get(s) {
                        Some(&c) => c,
                        None => {
                            let c = labels.len() as u32;
                            labels.push(s.to_string());
                            index.insert(s.to_string(), c);
                            c
                        }
                    };
                    codes.push(Some(code));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<ColumnData, String> {
        Ok(match self {
            ColumnBuilder::Int(v) => ColumnData::Int(v),
            ColumnBuilder::Float(v) => ColumnData::Float(v),
            ColumnBuilder::Date(v) => ColumnData::Date(v),
            ColumnBuilder::Text { labels, codes, .. } => ColumnData::Text(
                Texts::from_codes(labels, codes)
                    .ok_or_else(|| "a text column with 4 billion distinct values".to_string())?,
            ),
        })
    }
}
