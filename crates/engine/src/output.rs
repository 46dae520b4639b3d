//! Writing an [`Analysis`] to an output directory, atomically: everything goes into a
//! temporary sibling directory that replaces the destination in one step at the end
//! ([`crate::out_dir`]), so a reader never sees a half-written result, a failed run leaves the
//! previous outputs intact, and nothing clientele did not write is ever replaced.

use clientele_core::columns as col;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema};
use clientele_core::{ColumnData, CustomerTable, Values};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

use crate::{Analysis, EngineError, Manifest, OutputDir, OutputFormat, ParquetCompression};

// Beside the writer, so that the config types do not depend on parquet.
impl ParquetCompression {
    fn codec(self) -> Compression {
        match self {
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Lz4 => Compression::LZ4_RAW,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        }
    }
}

/// Paths of the files written.
#[derive(Debug, Clone, Default)]
pub struct WrittenOutputs {
    /// The output directory.
    pub dir: PathBuf,
    /// Files in it, relative names.
    pub files: Vec<String>,
    /// Seconds each file (or group of files) took to write, for `--timings`.
    pub timings: Vec<crate::StepTiming>,
}

/// A file a surface made from the analysis (the HTML report) to be written with the rest.
#[derive(Debug, Clone)]
pub struct ExtraFile {
    /// Name relative to the output directory, e.g. `report.html`.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// Writes `customers.parquet`/`.csv`, `summary.json`, `rejects.csv`, the snapshot, the target
/// lists and the `extra` files (the report, rendered by its own crate) into `dir`, as a whole
/// ([`OutputDir`]): `dir` must be new, empty or an earlier clientele output, and hold none of
/// `inputs`.
pub fn write_outputs(
    a: &Analysis,
    dir: &Path,
    format: OutputFormat,
    compression: ParquetCompression,
    inputs: &[PathBuf],
    extra: &[ExtraFile],
) -> Result<WrittenOutputs, EngineError> {
    write_outputs_with(
        a,
        Customers::Kept,
        dir,
        (format, compression),
        inputs,
        extra,
    )
}

/// [`write_outputs`] by the last reader of the analysis' customer table (the run drops it
/// next): a table kept on disk gives back its files' space a row group at a time as
/// `customers.parquet` (or `.csv`) is written, once nothing else reads it, beside the
/// writing instead of all at once when the table is dropped (2.5–3 s at 18M customers on a
/// disk mounted with `discard`). The table's rows read afterwards would be zeros.
pub fn write_outputs_last(
    a: &Analysis,
    dir: &Path,
    format: OutputFormat,
    compression: ParquetCompression,
    inputs: &[PathBuf],
    extra: &[ExtraFile],
) -> Result<WrittenOutputs, EngineError> {
    write_outputs_with(
        a,
        Customers::LetGo,
        dir,
        (format, compression),
        inputs,
        extra,
    )
}

/// [`write_outputs`] for a spilled run ([`crate::analyze_spilled`]): the customer table comes
/// from its parts, merged in id order while it is written.
pub fn write_outputs_spilled(
    a: &Analysis,
    spilled: &crate::SpilledTable,
    dir: &Path,
    format: OutputFormat,
    compression: ParquetCompression,
    inputs: &[PathBuf],
    extra: &[ExtraFile],
) -> Result<WrittenOutputs, EngineError> {
    let customers = Customers::Spilled(spilled);
    write_outputs_with(a, customers, dir, (format, compression), inputs, extra)
}

/// Where the customer table written comes from, and whether it is read after.
#[derive(Clone, Copy)]
enum Customers<'a> {
    /// The analysis' table, read again after (a database written next, a server's memory).
    Kept,
    /// The analysis' table, not read after: a table kept on disk gives back its space as
    /// it is written.
    LetGo,
    /// A spilled run's parts, merged as they are written.
    Spilled(&'a crate::SpilledTable),
}

fn write_outputs_with(
    a: &Analysis,
    customers: Customers<'_>,
    dir: &Path,
    (format, compression): (OutputFormat, ParquetCompression),
    inputs: &[PathBuf],
    extra: &[ExtraFile],
) -> Result<WrittenOutputs, EngineError> {
    let out = OutputDir::begin(dir, inputs)?;
    let mut timings = Vec::new();
    let files = write_all(
        a,
        customers,
        out.path(),
        (format, compression),
        extra,
        &mut timings,
    )
    .map_err(|e| out.rename_error(e))?;
    let mut manifest = Manifest::new("analysis");
    manifest.config_hash = Some(a.summary.config_hash.clone());
    manifest.as_of = Some(a.summary.as_of.to_string());
    manifest.settings = Some(a.settings.clone());
    let clock = std::time::Instant::now();
    let dir = out.finish(manifest)?;
    timings.push(crate::StepTiming {
        step: clientele_core::Note::new("清单与替换到位", "manifest and the swap into place"),
        detail: None,
        seconds: clock.elapsed().as_secs_f64(),
    });
    Ok(WrittenOutputs {
        dir,
        files,
        timings,
    })
}

fn write_all(
    a: &Analysis,
    customers: Customers<'_>,
    dir: &Path,
    (format, compression): (OutputFormat, ParquetCompression),
    extra: &[ExtraFile],
    timings: &mut Vec<crate::StepTiming>,
) -> Result<Vec<String>, EngineError> {
    let spilled = match customers {
        Customers::Spilled(t) => Some(t),
        Customers::Kept | Customers::LetGo => None,
    };
    // The snapshots are serialized on a thread of their own while the customer table is
    // encoded: one JSON writer keeps one core busy, the Parquet encoder the rest. The
    // snapshot is streamed a column at a time, so a table kept on disk (a run within a memory
    // limit) holds one of its columns beside the table's row group, not every customer's
    // labels (1.8 GB at 18M customers).
    let timed_snapshots = || {
        let clock = std::time::Instant::now();
        write_snapshots(a, dir).map(|files| (files, clock.elapsed().as_secs_f64()))
    };
    std::thread::scope(|scope| {
        let snapshots = scope.spawn(timed_snapshots);
        // The last file read from the customer table, going through it in row order, lets
        // go of the rows it has written once the snapshot (read alongside) is written too;
        // the target lists read the table after it.
        let csv = spilled.is_none() && format.writes_csv(a.customers.len());
        let letting_go = matches!(customers, Customers::LetGo) && a.summary.target_lists.is_empty();
        let read_up_to = |row: usize| {
            if snapshots.is_finished() {
                a.customers.read_no_more_before(row);
            }
        };
        let no_more_before = |last: bool| -> &dyn Fn(usize) {
            if letting_go && last {
                &read_up_to
            } else {
                &|_| {}
            }
        };
        let mut files = Vec::new();
        let mut lap = FileLaps::new();
        if let Some(t) = spilled {
            let csv = format.writes_csv(t.customers());
            files.extend(write_spilled(
                t,
                dir,
                format.writes_parquet(),
                csv,
                compression,
            )?);
            timings.extend(lap.step(&files));
        } else if format.writes_parquet() {
            write_parquet(
                &a.customers,
                &dir.join("customers.parquet"),
                compression,
                no_more_before(!csv),
            )?;
            files.push("customers.parquet".to_string());
            timings.extend(lap.step(&files));
        }
        if let Some(f) = a.summary.clv.done().and_then(|c| c.forecast_file.as_ref()) {
            let table = forecast_table(&a.customers, f)?;
            write_parquet(
                &table,
                &dir.join("forecast.parquet"),
                compression,
                no_more_before(false),
            )?;
            files.push("forecast.parquet".to_string());
            timings.extend(lap.step(&files));
        }
        if csv {
            write_csv(
                &a.customers,
                &dir.join("customers.csv"),
                no_more_before(true),
            )?;
            files.push("customers.csv".to_string());
            timings.extend(lap.step(&files));
        }
        let p = dir.join("summary.json");
        let json = serde_json::to_vec_pretty(&a.summary).map_err(|e| EngineError::Output {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(&p, json).map_err(|e| EngineError::io(&p, e))?;
        files.push("summary.json".to_string());
        timings.extend(lap.step(&files));
        let p = dir.join("rejects.csv");
        clientele_ingest::write_rejects(&p, &a.rejects, a.summary.lang)?;
        files.push("rejects.csv".to_string());
        timings.extend(lap.step(&files));
        for f in extra {
            let p = dir.join(&f.name);
            // a surface's extra files may sit in folders (`history/0001-1998-06-30/summary.json`)
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
            }
            std::fs::write(&p, &f.bytes).map_err(|e| EngineError::io(&p, e))?;
            files.push(f.name.clone());
        }
        timings.extend(lap.step(&files));
        let (written, seconds) = snapshots
            .join()
            .map_err(|_| EngineError::Internal("the snapshot writer stopped".into()))??;
        // its own time, which overlapped the files above when written alongside
        if let Some(mut t) = FileLaps::new().step(&written) {
            t.detail = Some(clientele_core::Note::new("同时写入", "alongside"));
            t.seconds = seconds;
            timings.push(t);
        }
        files.extend(written);
        lap.skip(&files);
        if let Some(cmp) = &a.comparison {
            let p = dir.join("migration/moves.csv");
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
            }
            write_moves(cmp, &p)?;
            files.push("migration/moves.csv".to_string());
            timings.extend(lap.step(&files));
        }
        if !a.summary.target_lists.is_empty() {
            write_target_lists(a, dir)?;
            files.push("segments/".to_string());
            timings.extend(lap.step(&files));
        }
        Ok(files)
    })
}

/// The wall time of each step of the writing, named after the files written in it.
struct FileLaps {
    clock: std::time::Instant,
    /// Files named by a step already.
    done: usize,
}

impl FileLaps {
    fn new() -> FileLaps {
        FileLaps {
            clock: std::time::Instant::now(),
            done: 0,
        }
    }

    /// The time since the last step, under the files `files` gained since (a spilled table's
    /// Parquet and CSV are written in one pass; many month-end files are one step).
    fn step(&mut self, files: &[String]) -> Option<crate::StepTiming> {
        let new = files.get(self.done..).unwrap_or_default();
        let step = match new {
            [] => None,
            [one] => Some(clientele_core::Note::new(one.clone(), one.clone())),
            [a, b] => Some(clientele_core::Note::new(
                format!("{a} + {b}"),
                format!("{a} + {b}"),
            )),
            [first, rest @ ..] => Some(clientele_core::Note::new(
                format!("{first} 等 {} 个文件", rest.len() + 1),
                format!("{first} and {} more", rest.len()),
            )),
        };
        let seconds = self.clock.elapsed().as_secs_f64();
        self.skip(files);
        step.map(|step| crate::StepTiming {
            step,
            detail: None,
            seconds,
        })
    }

    /// Counts `files` as named and starts the next step's clock.
    fn skip(&mut self, files: &[String]) {
        self.done = files.len();
        self.clock = std::time::Instant::now();
    }
}

/// `snapshot/snapshot.json` and the month-end snapshots, when the run graded anyone; the names
/// to list.
fn write_snapshots(a: &Analysis, dir: &Path) -> Result<Vec<String>, EngineError> {
    let mut files = Vec::new();
    if a.summary.rfm.is_none() && a.summary.grades.is_empty() {
        return Ok(files);
    }
    write_json(
        dir,
        crate::SNAPSHOT_FILE,
        &crate::snapshot::StreamedSnapshot(a),
    )?;
    // a column of a table kept on disk that could not be read showed as absent: the run fails
    // (its outputs are not put in place)
    if let Some(e) = a.customers.store_failure() {
        return Err(e.into());
    }
    files.push(crate::SNAPSHOT_FILE.to_string());
    // month ends side by side: each is one JSON writer's core, and 24 of them took longer
    // than the customer table written alongside
    use rayon::prelude::*;
    a.history_snapshots.par_iter().try_for_each(|s| {
        write_json(
            dir,
            &format!("snapshot/history/{}.json", s.snapshot.as_of),
            s,
        )
    })?;
    let n = a.history_snapshots.len();
    if n > 0 {
        files.push(match a.summary.lang {
            clientele_core::Lang::Zh => format!("snapshot/history/（{n} 个月末）"),
            clientele_core::Lang::En => format!("snapshot/history/ ({n} month ends)"),
        });
    }
    Ok(files)
}

/// `value` as compact JSON in `dir/name`, its folder made when missing.
fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), EngineError> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
    }
    // streamed into the file: the snapshot of 18M customers is 1.2 GB of JSON, which held
    // in memory first was a gigabyte more at the run's peak
    let f = File::create(&p).map_err(|e| EngineError::io(&p, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, f);
    serde_json::to_writer(&mut out, value).map_err(|e| EngineError::Output {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    out.flush().map_err(|e| EngineError::io(&p, e))
}

/// `moves.csv`: one row per customer who changed grade (or appeared, or left) in a scheme or
/// in the lifecycle stages, as Excel opens it.
pub fn write_moves(cmp: &crate::Comparison, path: &Path) -> Result<(), EngineError> {
    let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
    let mut buf = BufWriter::new(f);
    buf.write_all(b"\xEF\xBB\xBF")
        .map_err(|e| EngineError::io(path, e))?;
    let mut w = csv::Writer::from_writer(buf);
    let err = |e: csv::Error| EngineError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    w.write_record([col::CUSTOMER_ID, "scheme", "from", "to"])
        .map_err(err)?;
    for m in cmp.schemes.iter().chain(cmp.lifecycle.iter()) {
        for mv in m.moves.iter().filter(|mv| mv.from != mv.to) {
            for c in &mv.customers {
                w.write_record([c.as_str(), &m.name, &mv.from, &mv.to])
                    .map_err(err)?;
            }
        }
    }
    w.flush().map_err(|e| EngineError::io(path, e))
}

/// The metrics that go into every target list, when the table has them.
const LIST_METRICS: [&str; 9] = [
    col::RECENCY_DAYS,
    col::ORDERS,
    col::MONETARY,
    col::AVG_ORDER_VALUE,
    col::P_ALIVE,
    col::CLV,
    col::R_SCORE,
    col::RFM_CODE,
    col::NEXT_BEST_CATEGORY,
];

/// `segments/<scheme>/<grade>.csv`: customer id, key metrics, the grade, the playbook
/// action, scheme, config hash and as-of date — ready for an SMS/email/ads upload. Money is
/// written to the cent and probabilities to 4 decimals (the full values are in
/// `customers.parquet` / `.csv`): lists are read by people and upload tools, and at millions
/// of rows the shortest round-trip digits were most of their size and writing time.
fn write_target_lists(a: &Analysis, dir: &Path) -> Result<(), EngineError> {
    let t = &a.customers;
    let metrics: Vec<&str> = LIST_METRICS
        .iter()
        .copied()
        .filter(|m| t.has_column(m))
        .collect();
    let lang = a.summary.lang;
    let playbook = clientele_grade::Playbook::with_overrides(&a.playbook_overrides);
    // rows per (column, grade), built once per column
    let mut by_column: std::collections::HashMap<
        &str,
        std::collections::HashMap<String, Vec<usize>>,
    > = std::collections::HashMap::new();
    for l in &a.summary.target_lists {
        if by_column.contains_key(l.column.as_str()) {
            continue;
        }
        let mut groups: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        if let Ok(values) = t.texts(&l.column) {
            match &l.tag_separator {
                Some(sep) => {
                    for (i, v) in values.iter().enumerate() {
                        for g in v.into_iter().flat_map(|v| v.split(sep.as_str())) {
                            if !g.is_empty() {
                                groups.entry(g.to_string()).or_default().push(i);
                            }
                        }
                    }
                }
                // by the column's codes: no string hashed per customer
                None => {
                    let mut rows = vec![Vec::new(); values.labels().len()];
                    for i in 0..values.len() {
                        if let Some(c) = values.code(i) {
                            rows[c as usize].push(i);
                        }
                    }
                    for (label, rows) in values.labels().iter().zip(rows) {
                        if !rows.is_empty() {
                            groups.entry(label.clone()).or_default().extend(rows);
                        }
                    }
                }
            }
        }
        by_column.insert(l.column.as_str(), groups);
    }
    let as_of = a.summary.as_of.to_string();
    // The lists are independent files: written in parallel.
    a.summary.target_lists.par_iter().try_for_each(|l| {
        let path = dir.join(&l.file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
        }
        let f = File::create(&path).map_err(|e| EngineError::io(&path, e))?;
        let mut buf = BufWriter::new(f);
        buf.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| EngineError::io(&path, e))?;
        let mut w = csv::Writer::from_writer(buf);
        let err = |e: csv::Error| EngineError::Output {
            path: path.clone(),
            reason: e.to_string(),
        };
        let mut header = vec![col::CUSTOMER_ID];
        header.extend(&metrics);
        header.extend(["grade", "action", "scheme", "config_hash", "as_of"]);
        w.write_record(&header).map_err(err)?;
        let action = playbook.action(&l.grade, lang).unwrap_or("").to_string();
        let rows = by_column
            .get(l.column.as_str())
            .and_then(|g| g.get(&l.grade))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let cols: Vec<(&ColumnData, u32)> = metrics
            .iter()
            .filter_map(|m| t.get(m).map(|c| (c, list_decimals(m))))
            .collect();
        let mut cell = String::new();
        for &i in rows {
            w.write_field(&t.ids()[i]).map_err(err)?;
            for &(c, decimals) in &cols {
                list_cell(c, i, decimals, &mut cell);
                w.write_field(&cell).map_err(err)?;
            }
            for f in [&l.grade, &action, &l.scheme, &a.summary.config_hash, &as_of] {
                w.write_field(f).map_err(err)?;
            }
            w.write_record(None::<&[u8]>).map_err(err)?;
        }
        w.flush().map_err(|e| EngineError::io(&path, e))
    })
}

/// Decimals of a float metric in target lists: 4 for probabilities, 2 (cents) for money.
fn list_decimals(metric: &str) -> u32 {
    if metric == col::P_ALIVE { 4 } else { 2 }
}

/// Cell `i` of a target-list column: floats rounded to `decimals` (half away from zero),
/// written through integers; anything else as [`ColumnData::write_text`] writes it.
fn list_cell(c: &ColumnData, i: usize, decimals: u32, buf: &mut String) {
    let scale = 10i64.pow(decimals);
    match c {
        ColumnData::Float(v) => {
            buf.clear();
            let Some(x) = v.get(i) else { return };
            let scaled = (x * scale as f64).round();
            if !scaled.is_finite() || scaled.abs() >= 9.0e15 {
                c.write_text(i, buf); // not finite, or too large to round through an i64
                return;
            }
            let n = scaled as i64;
            let (whole, frac) = (
                n.unsigned_abs() / scale as u64,
                n.unsigned_abs() % scale as u64,
            );
            // integers through itoa: `write!` was a tenth of writing the lists
            let mut digits = itoa::Buffer::new();
            if n < 0 {
                buf.push('-');
            }
            buf.push_str(digits.format(whole));
            buf.push('.');
            let frac = digits.format(frac);
            for _ in frac.len()..decimals as usize {
                buf.push('0');
            }
            buf.push_str(frac);
        }
        _ => {
            c.write_text(i, buf);
        }
    }
}

/// The Arrow type and array of rows `range` of one column. Numbers and dates are copied as
/// they are stored (values plus validity), with no per-value work.
pub(crate) fn column_array(c: &ColumnData, r: std::ops::Range<usize>) -> (DataType, ArrayRef) {
    fn nulls<T: Copy + Default>(v: &Values<T>, r: &std::ops::Range<usize>) -> Option<NullBuffer> {
        v.validity().map(|ok| NullBuffer::from(&ok[r.clone()]))
    }
    match c {
        ColumnData::Int(v) => (
            DataType::Int64,
            Arc::new(Int64Array::new(
                ScalarBuffer::from(v.values()[r.clone()].to_vec()),
                nulls(v, &r),
            )),
        ),
        ColumnData::Float(v) => (
            DataType::Float64,
            Arc::new(Float64Array::new(
                ScalarBuffer::from(v.values()[r.clone()].to_vec()),
                nulls(v, &r),
            )),
        ),
        ColumnData::Text(v) => (
            DataType::Utf8,
            Arc::new(r.map(|i| v.get(i)).collect::<StringArray>()),
        ),
        ColumnData::Date(v) => (
            DataType::Date32,
            Arc::new(Date32Array::new(
                v.values()[r.clone()].iter().map(|d| d.0).collect(),
                nulls(v, &r),
            )),
        ),
    }
}

/// The Arrow schema of the customer table (dates → Date32, ints → Int64, floats → Float64).
pub(crate) fn arrow_schema(t: &CustomerTable) -> Schema {
    let mut fields = vec![Field::new(col::CUSTOMER_ID, DataType::Utf8, false)];
    // by type name: a table kept on disk reads no column for its schema
    for (name, ty) in t.column_types() {
        let ty = match ty {
            "int" => DataType::Int64,
            "float" => DataType::Float64,
            "date" => DataType::Date32,
            _ => DataType::Utf8,
        };
        fields.push(Field::new(name, ty, true));
    }
    Schema::new(fields)
}

/// How the customer table is encoded in Parquet.
fn writer_properties(schema: &Schema, compression: ParquetCompression) -> WriterProperties {
    // Dictionary encoding for text but the customer id: grades, segments, stages, tiers and
    // attributes repeat a few labels, which a dictionary turns into a few bits a customer
    // (written plain, each grade column was 20–60 MB of text for zstd at 1.8M customers);
    // ids and measures are nearly all distinct, so a dictionary there costs time and is then
    // dropped anyway. Whole numbers and dates are delta-encoded: counts and days are small
    // and close together, which leaves zstd a fifth less to do than their plain 8 bytes.
    let mut props = WriterProperties::builder()
        .set_compression(compression.codec())
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for f in schema.fields() {
        if f.data_type() == &DataType::Utf8 && f.name() != col::CUSTOMER_ID {
            props = props.set_column_dictionary_enabled(f.name().as_str().into(), true);
        }
        if matches!(f.data_type(), DataType::Int64 | DataType::Date32) {
            props = props.set_column_encoding(
                f.name().as_str().into(),
                parquet::basic::Encoding::DELTA_BINARY_PACKED,
            );
        }
    }
    props.build()
}

/// `customers.parquet` and `customers.csv` of a spilled run, from one merge of its parts.
fn write_spilled(
    t: &crate::SpilledTable,
    dir: &Path,
    parquet_too: bool,
    csv_too: bool,
    compression: ParquetCompression,
) -> Result<Vec<String>, EngineError> {
    let pq_path = dir.join("customers.parquet");
    let csv_path = dir.join("customers.csv");
    let err = |p: &Path, e: &dyn std::fmt::Display| EngineError::Output {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    // both files open before the merge, so a table without customers is a schema and a header
    let mut pq = if parquet_too {
        Some(GroupWriter::create(&pq_path, &t.schema, compression)?)
    } else {
        None
    };
    let mut csv = if csv_too {
        let f = File::create(&csv_path).map_err(|e| EngineError::io(&csv_path, e))?;
        let mut out = BufWriter::new(f);
        let empty = arrow::array::RecordBatch::new_empty(Arc::clone(&t.schema));
        let empty = crate::stored::table_of_batch(&empty).map_err(|e| err(&csv_path, &e))?;
        out.write_all(&csv_header(&empty).map_err(|e| err(&csv_path, &e))?)
            .map_err(|e| EngineError::io(&csv_path, e))?;
        Some(out)
    } else {
        None
    };
    t.merged(|b| {
        if let Some(w) = &mut pq {
            w.push(b)?;
        }
        if let Some(out) = &mut csv {
            let chunk = crate::stored::table_of_batch(b).map_err(|e| err(&csv_path, &e))?;
            let text = csv_rows(&chunk, 0..chunk.len()).map_err(|e| err(&csv_path, &e))?;
            out.write_all(&text)
                .map_err(|e| EngineError::io(&csv_path, e))?;
        }
        Ok(())
    })?;
    let mut files = Vec::new();
    if let Some(w) = pq {
        w.close()?;
        files.push("customers.parquet".to_string());
    }
    if let Some(mut out) = csv {
        out.flush().map_err(|e| EngineError::io(&csv_path, e))?;
        files.push("customers.csv".to_string());
    }
    Ok(files)
}

/// Rows per Parquet row group (and per slice of a table kept on disk). Small in tests, so
/// the test shops' tables have several.
const ROW_GROUP_ROWS: usize = if cfg!(test) { 1 << 11 } else { 1 << 20 };

/// Writes the table as Parquet (zstd by default), encoding the columns of every row group
/// in parallel (each column is converted to Arrow only while its own encoder runs) while
/// this thread appends the finished ones in order.
/// `forecast.parquet`: one row per customer (the order of `customers.parquet`), with the
/// expected purchases and, with a spend model, the expected value in each month of the
/// horizon (`expected_purchases_month_01`, …, `expected_value_month_01`, …).
fn forecast_table(
    customers: &CustomerTable,
    f: &crate::customer_value::ForecastFile,
) -> Result<CustomerTable, EngineError> {
    let mut t = CustomerTable::from_ids(customers.ids().clone());
    let n = customers.len();
    if f.by_customer.len() != n * f.months {
        return Err(EngineError::Internal(format!(
            "the forecast has {} values for {n} customers and {} months",
            f.by_customer.len(),
            f.months
        )));
    }
    for k in 0..f.months {
        let month: Vec<Option<f64>> = (0..n)
            .map(|i| Some(f.by_customer[i * f.months + k]))
            .collect();
        t.push(
            format!("expected_purchases_month_{:02}", k + 1),
            ColumnData::Float(month.into_iter().collect()),
        )?;
    }
    if let Some(value) = &f.value {
        for k in 0..f.months {
            let month: Vec<Option<f64>> = (0..n)
                .map(|i| Some(f.by_customer[i * f.months + k] * value[i]))
                .collect();
            t.push(
                format!("expected_value_month_{:02}", k + 1),
                ColumnData::Float(month.into_iter().collect()),
            )?;
        }
    }
    Ok(t)
}

/// `customers.parquet` (or another table's file); `read_up_to` is told the rows written
/// so far of a table kept on disk, after each row group.
fn write_parquet(
    t: &CustomerTable,
    path: &Path,
    compression: ParquetCompression,
    read_up_to: &dyn Fn(usize),
) -> Result<(), EngineError> {
    let schema = Arc::new(arrow_schema(t));
    let mut w = GroupWriter::create(path, &schema, compression)?;
    let groups: Vec<std::ops::Range<usize>> = (0..t.len())
        .step_by(ROW_GROUP_ROWS)
        .map(|start| start..(start + ROW_GROUP_ROWS).min(t.len()))
        .collect();
    if t.is_stored() {
        // a table kept on disk: one row group's rows in memory at a time (reading the next
        // one while this one is encoded was about 1 s less at 100M rows, but a run within a
        // tight limit then held two row groups: past 700 MB with 1.8M customers)
        for rows in groups {
            let slice = t.slice_rows(rows.clone())?;
            w.encode(&table_columns(&slice), std::iter::once(0..slice.len()))?;
            read_up_to(rows.end);
        }
    } else {
        // every row group at once: encoding jobs of several row groups overlap
        w.encode(&table_columns(t), groups)?;
    }
    w.close()
}

/// `customers.parquet` written a row group at a time, each row group's columns encoded in
/// parallel ([`encode_groups`]): the same file whether the table is in memory, kept on disk,
/// or merged from a spilled run's parts in batches (which [`GroupWriter::push`] gathers into
/// whole row groups, so the pages fall where they fall for a table in memory).
struct GroupWriter {
    path: PathBuf,
    schema: Arc<Schema>,
    writer: parquet::file::writer::SerializedFileWriter<BufWriter<File>>,
    factory: parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    /// Row groups written so far.
    groups: usize,
    /// Merged rows not yet a whole row group.
    pending: Vec<arrow::array::RecordBatch>,
    pending_rows: usize,
}

impl GroupWriter {
    fn create(
        path: &Path,
        schema: &Arc<Schema>,
        compression: ParquetCompression,
    ) -> Result<GroupWriter, EngineError> {
        use parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory;
        use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
        use parquet::file::writer::SerializedFileWriter;
        let err = |e: &dyn std::fmt::Display| EngineError::Output {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut props = writer_properties(schema, compression);
        add_encoded_arrow_schema_to_metadata(schema, &mut props);
        let props = Arc::new(props);
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(schema)
            .map_err(|e| err(&e))?;
        let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
        let writer =
            SerializedFileWriter::new(BufWriter::new(f), parquet_schema.root_schema_ptr(), props)
                .map_err(|e| err(&e))?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(schema));
        Ok(GroupWriter {
            path: path.to_path_buf(),
            schema: Arc::clone(schema),
            writer,
            factory,
            groups: 0,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    fn err(&self) -> impl Fn(&dyn std::fmt::Display) -> EngineError + use<> {
        let path = self.path.clone();
        move |e: &dyn std::fmt::Display| EngineError::Output {
            path: path.clone(),
            reason: e.to_string(),
        }
    }

    /// The rows `groups` of the columns `column` gives, as the next row groups.
    fn encode(
        &mut self,
        column: &ColumnSource<'_>,
        groups: impl IntoIterator<Item = std::ops::Range<usize>>,
    ) -> Result<(), EngineError> {
        let err = self.err();
        let first = self.groups;
        let numbered: Vec<_> = groups
            .into_iter()
            .enumerate()
            .map(|(g, rows)| (first + g, rows))
            .collect();
        self.groups += numbered.len();
        encode_groups(
            &mut self.writer,
            &self.factory,
            &self.schema,
            column,
            numbered,
            &err,
        )
    }

    /// Merged rows, in order; a row group is written each time [`ROW_GROUP_ROWS`] are in.
    fn push(&mut self, b: &arrow::array::RecordBatch) -> Result<(), EngineError> {
        let mut at = 0;
        while at < b.num_rows() {
            let take = (ROW_GROUP_ROWS - self.pending_rows).min(b.num_rows() - at);
            self.pending.push(b.slice(at, take));
            self.pending_rows += take;
            at += take;
            if self.pending_rows == ROW_GROUP_ROWS {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// The pending rows as the next row group, each column copied into one array only while
    /// it is encoded: fed in pieces, the encoders cut their pages elsewhere than for a table
    /// in memory.
    fn flush(&mut self) -> Result<(), EngineError> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let rows = std::mem::replace(&mut self.pending_rows, 0);
        let column = |k: usize, _: std::ops::Range<usize>| {
            let pieces: Vec<&dyn arrow::array::Array> =
                pending.iter().map(|b| b.column(k).as_ref()).collect();
            arrow::compute::concat(&pieces)
        };
        self.encode(&column, std::iter::once(0..rows))
    }

    fn close(mut self) -> Result<(), EngineError> {
        self.flush()?;
        let err = self.err();
        self.writer.close().map_err(|e| err(&e))?;
        Ok(())
    }
}

/// Column `k` of the file (0: the customer id), rows `rows` of it, as Arrow: made only while
/// its encoder runs.
type ColumnSource<'a> =
    dyn Fn(usize, std::ops::Range<usize>) -> Result<ArrayRef, arrow::error::ArrowError> + Sync + 'a;

/// The columns of `t` for [`encode_groups`].
fn table_columns(
    t: &CustomerTable,
) -> impl Fn(usize, std::ops::Range<usize>) -> Result<ArrayRef, arrow::error::ArrowError> + Sync + '_
{
    move |k, rows| {
        Ok(if k == 0 {
            Arc::new(StringArray::from_iter_values(rows.map(|i| &t.ids()[i])))
        } else {
            column_array(&t.columns()[k - 1].data, rows).1
        })
    }
}

/// Encodes rows `groups` (row group number, rows) of the columns `column` gives and appends
/// them to `writer`.
/// Every column of every row group is an encoding job. Workers take them in file order, and
/// this thread appends each finished chunk as soon as the ones before it are in, so copying
/// the encoded pages into the file overlaps the encoding instead of following it.
fn encode_groups(
    writer: &mut parquet::file::writer::SerializedFileWriter<BufWriter<File>>,
    factory: &parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: &Schema,
    column: &ColumnSource<'_>,
    groups: Vec<(usize, std::ops::Range<usize>)>,
    err: &dyn Fn(&dyn std::fmt::Display) -> EngineError,
) -> Result<(), EngineError> {
    use parquet::arrow::arrow_writer::{ArrowColumnWriter, compute_leaves};
    use std::sync::{Mutex, mpsc};
    let mut jobs = Vec::new();
    for (g, rows) in &groups {
        let writers = factory.create_column_writers(*g).map_err(|e| err(&e))?;
        jobs.extend(
            writers
                .into_iter()
                .enumerate()
                .map(|(k, w)| (rows.clone(), k, w)),
        );
    }
    let encode = |(rows, k, mut w): (std::ops::Range<usize>, usize, ArrowColumnWriter)| {
        let array = column(k, rows)?;
        for leaf in compute_leaves(schema.field(k), &array)? {
            w.write(&leaf)?;
        }
        w.close()
    };
    let columns = schema.fields().len();
    let jobs = Mutex::new(jobs.into_iter().enumerate());
    std::thread::scope(|s| -> Result<(), EngineError> {
        let (done, finished) = mpsc::channel();
        for _ in 0..rayon::current_num_threads().max(1) {
            let (done, jobs, encode) = (done.clone(), &jobs, &encode);
            s.spawn(move || {
                loop {
                    let job = match jobs.lock() {
                        Ok(mut jobs) => jobs.next(),
                        Err(_) => None,
                    };
                    let Some((j, job)) = job else { break };
                    // a closed channel means the writer stopped at an error
                    if done.send((j, encode(job))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        // an empty table gets no row group: a valid file with the schema only
        for _ in &groups {
            let mut rg = writer.next_row_group().map_err(|e| err(&e))?;
            for _ in 0..columns {
                let chunk = loop {
                    if let Some(c) = waiting.remove(&next) {
                        break c;
                    }
                    let Ok((j, c)) = finished.recv() else {
                        return Err(err(&"an encoding thread stopped"));
                    };
                    waiting.insert(j, c);
                };
                next += 1;
                chunk
                    .map_err(|e| err(&e))?
                    .append_to_row_group(&mut rg)
                    .map_err(|e| err(&e))?;
            }
            rg.close().map_err(|e| err(&e))?;
        }
        Ok(())
    })
}

/// Rows of `customers.csv` formatted by one task.
const CSV_CHUNK_ROWS: usize = 32 * 1024;

/// UTF-8 with a byte-order mark so Excel shows Chinese text correctly. Chunks of rows are
/// formatted in parallel, a few per thread at a time, and written in order: formatting
/// numbers is most of the work, and one thread did it all before.
/// `customers.csv`; `read_up_to` as for [`write_parquet`].
fn write_csv(
    t: &CustomerTable,
    path: &Path,
    read_up_to: &dyn Fn(usize),
) -> Result<(), EngineError> {
    let err = |e: csv::Error| EngineError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
    let mut out = BufWriter::new(f);
    out.write_all(&csv_header(t).map_err(err)?)
        .map_err(|e| EngineError::io(path, e))?;
    if t.is_stored() {
        // a table kept on disk is taken a row group's rows at a time
        for start in (0..t.len()).step_by(ROW_GROUP_ROWS) {
            let end = (start + ROW_GROUP_ROWS).min(t.len());
            let slice = t.slice_rows(start..end)?;
            write_csv_rows(&mut out, &slice, path)?;
            read_up_to(end);
        }
    } else {
        write_csv_rows(&mut out, t, path)?;
    }
    out.flush().map_err(|e| EngineError::io(path, e))?;
    Ok(())
}

/// Every row of `t` as CSV lines into `out`: chunks formatted in parallel, a few per thread
/// at a time, written in order.
fn write_csv_rows(
    out: &mut BufWriter<File>,
    t: &CustomerTable,
    path: &Path,
) -> Result<(), EngineError> {
    let err = |e: csv::Error| EngineError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let chunks: Vec<std::ops::Range<usize>> = (0..t.len())
        .step_by(CSV_CHUNK_ROWS)
        .map(|start| start..(start + CSV_CHUNK_ROWS).min(t.len()))
        .collect();
    let wave = 2 * rayon::current_num_threads().max(1);
    for w in chunks.chunks(wave) {
        let texts = w
            .par_iter()
            .map(|rows| csv_rows(t, rows.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        for text in texts {
            out.write_all(&text).map_err(|e| EngineError::io(path, e))?;
        }
    }
    Ok(())
}

/// The byte-order mark (so Excel shows Chinese text correctly) and the header line.
fn csv_header(t: &CustomerTable) -> Result<Vec<u8>, csv::Error> {
    let mut header = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    header.write_record(t.column_names())?;
    header.into_inner().map_err(|e| e.into_error().into())
}

/// Rows `rows` of the table as CSV text.
fn csv_rows(t: &CustomerTable, rows: std::ops::Range<usize>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 256));
    let mut cell = String::new();
    // money to the cent, measures without float noise (full precision is in the Parquet file)
    let rounding: Vec<clientele_core::Rounding> = t
        .columns()
        .iter()
        .map(|c| clientele_core::Rounding::of_column(&c.name))
        .collect();
    for i in rows {
        w.write_field(&t.ids()[i])?;
        for (c, &r) in t.columns().iter().zip(&rounding) {
            c.data.write_rounded(i, r, &mut cell);
            w.write_field(&cell)?;
        }
        w.write_record(None::<&[u8]>)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--timings` names each writing step after the files written in it: one, two written in
    /// one pass, or the first of many; files counted elsewhere (`skip`) are named by no step.
    #[test]
    fn writing_steps_are_named_after_their_files() {
        use clientele_core::Lang;
        let mut lap = FileLaps::new();
        let mut files: Vec<String> = Vec::new();
        assert!(lap.step(&files).is_none());
        let name = |t: Option<crate::StepTiming>, lang| t.unwrap().step.text(lang).to_string();
        files.extend(["customers.parquet".into(), "customers.csv".into()]);
        let both = "customers.parquet + customers.csv";
        assert_eq!(name(lap.step(&files), Lang::En), both);
        files.push("summary.json".into());
        assert_eq!(name(lap.step(&files), Lang::Zh), "summary.json");
        files.extend((1..=3).map(|k| format!("history/{k}.json")));
        lap.skip(&files);
        assert!(lap.step(&files).is_none());
        files.extend((1..=24).map(|k| format!("x/{k}.json")));
        let many = lap.step(&files);
        assert_eq!(name(many.clone(), Lang::En), "x/1.json and 23 more");
        assert_eq!(name(many, Lang::Zh), "x/1.json 等 24 个文件");
    }

    #[test]
    fn customers_csv_in_parallel_chunks_equals_one_pass() {
        let n = 2 * CSV_CHUNK_ROWS + 7;
        let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:06}")).collect());
        let f = |i: usize| (!i.is_multiple_of(11)).then_some(i as f64 / 7.0);
        t.push("monetary", ColumnData::Float((0..n).map(f).collect()))
            .unwrap();
        let name = |i: usize| {
            (!i.is_multiple_of(5)).then(|| ["甲,乙", "plain", "\"q\""][i % 3].to_string())
        };
        t.push("top_category", ColumnData::Text((0..n).map(name).collect()))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("customers.csv");
        write_csv(&t, &p, &|_| {}).unwrap();
        // one pass, row after row
        let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        w.write_record(t.column_names()).unwrap();
        for i in 0..n {
            let mut row = vec![t.ids()[i].to_string()];
            row.extend(t.columns().iter().map(|c| {
                let mut s = String::new();
                let r = clientele_core::Rounding::of_column(&c.name);
                c.data.write_rounded(i, r, &mut s);
                s
            }));
            w.write_record(&row).unwrap();
        }
        assert!(std::fs::read(&p).unwrap() == w.into_inner().unwrap());
    }

    #[test]
    fn customers_parquet_in_each_compression_reads_back_the_same() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let n = 3000;
        let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:05}")).collect());
        let f = |i: usize| (!i.is_multiple_of(7)).then_some(i as f64 / 3.0);
        t.push("monetary", ColumnData::Float((0..n).map(f).collect()))
            .unwrap();
        t.push(
            "orders",
            ColumnData::Int((0..n).map(|i| Some(i as i64 % 9)).collect()),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut tables = Vec::new();
        for (name, codec) in [
            ("zstd", Compression::ZSTD(ZstdLevel::default())),
            ("snappy", Compression::SNAPPY),
            ("lz4", Compression::LZ4_RAW),
            ("none", Compression::UNCOMPRESSED),
        ] {
            let p = dir.path().join(format!("{name}.parquet"));
            let compression = serde_json::from_value(serde_json::json!(name)).unwrap();
            write_parquet(&t, &p, compression, &|_| {}).unwrap();
            let r = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).unwrap()).unwrap();
            let meta = r.metadata().clone();
            for g in meta.row_groups() {
                assert!(
                    g.columns().iter().all(|c| c.compression() == codec),
                    "{name}"
                );
            }
            let batches: Vec<_> = r.build().unwrap().map(|b| b.unwrap()).collect();
            tables.push(arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap());
        }
        assert_eq!(tables[0].num_rows(), n);
        assert!(tables.iter().all(|b| b == &tables[0]));
    }

    #[test]
    fn list_cells_round_money_and_probabilities() {
        let money = ColumnData::Float(
            vec![
                Some(26.575499999999998),
                Some(-0.004),
                Some(-12.345),
                Some(7.0),
                None,
                Some(f64::NAN),
                Some(1e300),
            ]
            .into(),
        );
        let mut buf = String::new();
        let cells: Vec<String> = (0..7)
            .map(|i| {
                list_cell(&money, i, list_decimals("monetary"), &mut buf);
                buf.clone()
            })
            .collect();
        // too large to round through an i64: written as the table writes it
        assert_eq!(
            cells,
            ["26.58", "0.00", "-12.35", "7.00", "", "NaN", "1e300"]
        );
        let p = ColumnData::Float(vec![Some(0.829604540747322)].into());
        list_cell(&p, 0, list_decimals("p_alive"), &mut buf);
        assert_eq!(buf, "0.8296");
        let ints = ColumnData::Int(vec![Some(42)].into());
        list_cell(&ints, 0, 2, &mut buf);
        assert_eq!(buf, "42");
    }
}
