//! Reading CSV and Parquet files into validated rows, with every bad row rejected and located.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use clientele_core::{DateFormat, Day};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::options::{ColumnMapping, CsvOptions, Delimiter, Encoding, OptionalColumn};
use crate::rejects::{Reject, write_rejects};
use crate::transactions::{BatchBuilder, Row, parse_scaled, to_scaled};
use crate::{IngestError, IngestOptions, IngestStats, Progress, SourceFormat};

/// Reads every file; returns the valid rows as Arrow batches, the accounting and the rejects.
pub(crate) fn read_transactions(
    files: &[PathBuf],
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<(Vec<RecordBatch>, IngestStats, Vec<Reject>), IngestError> {
    let mut sink = Sink {
        builder: BatchBuilder::new(),
        stats: IngestStats::default(),
        rejects: Vec::new(),
        strict: opts.strict,
        min_day: i32::MAX,
        max_day: i32::MIN,
    };
    for path in files {
        sink.stats.files.push(path.display().to_string());
        match SourceFormat::of(path) {
            SourceFormat::Csv => read_csv(path, &opts.csv, &opts.columns, &mut sink, progress)?,
            SourceFormat::Parquet => read_parquet(path, &opts.columns, &mut sink, progress)?,
        }
    }
    sink.builder.flush();
    if let Some(p) = &opts.rejects_path {
        write_rejects(p, &sink.rejects)?;
    }
    if sink.min_day <= sink.max_day {
        sink.stats.first_date = Some(Day(sink.min_day));
        sink.stats.last_date = Some(Day(sink.max_day));
    }
    Ok((sink.builder.batches, sink.stats, sink.rejects))
}

struct Sink {
    builder: BatchBuilder,
    stats: IngestStats,
    rejects: Vec<Reject>,
    strict: bool,
    min_day: i32,
    max_day: i32,
}

impl Sink {
    fn accept(&mut self, row: Row<'_>) {
        self.stats.read += 1;
        self.stats.accepted += 1;
        self.min_day = self.min_day.min(row.day);
        self.max_day = self.max_day.max(row.day);
        self.builder.push(row);
    }

    fn reject(
        &mut self,
        path: &Path,
        line: u64,
        column: &str,
        reason: String,
        raw: String,
    ) -> Result<(), IngestError> {
        if self.strict {
            return Err(IngestError::StrictReject {
                path: path.to_path_buf(),
                line,
                column: column.to_string(),
                reason,
            });
        }
        self.stats.read += 1;
        self.stats.rejected += 1;
        self.rejects.push(Reject {
            file: path.display().to_string(),
            line,
            column: column.to_string(),
            reason,
            raw,
        });
        Ok(())
    }
}

/// Column positions of the mapped fields in one file.
struct Positions {
    customer_id: usize,
    order_date: usize,
    amount: usize,
    order_id: Option<usize>,
    category: Option<usize>,
    profit: Option<usize>,
    cost: Option<usize>,
    quantity: Option<usize>,
    width: usize,
}

fn find(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name).or_else(|| {
        let lower = name.trim().to_lowercase();
        header.iter().position(|h| h.trim().to_lowercase() == lower)
    })
}

fn resolve(path: &Path, header: &[String], m: &ColumnMapping) -> Result<Positions, IngestError> {
    let found = || header.join(", ");
    let req = |name: &str, field: &'static str, flag: &'static str| {
        find(header, name).ok_or_else(|| IngestError::MissingColumn {
            path: path.to_path_buf(),
            field,
            column: name.to_string(),
            flag,
            found: found(),
        })
    };
    let opt = |c: &OptionalColumn, field: &'static str, flag: &'static str| {
        if c.name.is_empty() {
            return Ok(None);
        }
        match find(header, &c.name) {
            Some(i) => Ok(Some(i)),
            None if c.required => Err(IngestError::MissingColumn {
                path: path.to_path_buf(),
                field,
                column: c.name.clone(),
                flag,
                found: found(),
            }),
            None => Ok(None),
        }
    };
    Ok(Positions {
        customer_id: req(&m.customer_id, "customer_id", "customer-id-col")?,
        order_date: req(&m.order_date, "order_date", "date-col")?,
        amount: req(&m.amount, "amount", "amount-col")?,
        order_id: opt(&m.order_id, "order_id", "order-id-col")?,
        category: opt(&m.category, "category", "category-col")?,
        profit: opt(&m.profit, "profit", "profit-col")?,
        cost: opt(&m.cost, "cost", "cost-col")?,
        quantity: opt(&m.quantity, "quantity", "quantity-col")?,
        width: header.len(),
    })
}

/// Validates one text row. `get(i)` returns field `i`.
fn validate_text_row<'a>(
    pos: &Positions,
    fields: &[&'a str],
    date_format: &DateFormat,
) -> Result<Row<'a>, (String, String)> {
    if fields.len() < pos.width {
        return Err((
            String::new(),
            format!(
                "row has {} fields, the header has {}",
                fields.len(),
                pos.width
            ),
        ));
    }
    let get = |i: usize| fields[i].trim();
    let id = get(pos.customer_id);
    let bad = |col: &str, reason: String| (col.to_string(), reason);
    if id.is_empty() {
        return Err(bad("customer_id", "missing customer id".into()));
    }
    let d = get(pos.order_date);
    if d.is_empty() {
        return Err(bad("order_date", "missing order date".into()));
    }
    let day = date_format.parse(d).ok_or_else(|| {
        bad(
            "order_date",
            format!("`{d}` is not a date (expected {})", date_format.describe()),
        )
    })?;
    let a = get(pos.amount);
    if a.is_empty() {
        return Err(bad("amount", "missing amount".into()));
    }
    let amount = parse_scaled(a).map_err(|why| bad("amount", format!("`{a}` {why}")))?;
    let opt_num = |i: Option<usize>, col: &str| -> Result<Option<i64>, (String, String)> {
        match i.map(get) {
            None | Some("") => Ok(None),
            Some(v) => parse_scaled(v)
                .map(Some)
                .map_err(|why| bad(col, format!("`{v}` {why}"))),
        }
    };
    let mut profit = opt_num(pos.profit, "profit")?;
    if profit.is_none() {
        if let Some(cost) = opt_num(pos.cost, "cost")? {
            profit = Some(amount - cost);
        }
    }
    let quantity = opt_num(pos.quantity, "quantity")?;
    let opt_text = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty());
    Ok(Row {
        customer_id: id,
        day: day.0,
        amount,
        order_id: opt_text(pos.order_id),
        category: opt_text(pos.category),
        profit,
        quantity,
    })
}

/// Counts bytes read for the progress bar.
struct Counting<'p, R> {
    inner: R,
    progress: &'p dyn Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Opens a text file decoded to UTF-8 (BOM stripped; GBK/GB18030 transcoded).
pub(crate) fn open_text<'p>(
    path: &Path,
    encoding: Encoding,
    progress: &'p dyn Progress,
) -> Result<(Box<dyn BufRead + 'p>, u64), IngestError> {
    let f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = Counting { inner: f, progress };
    let enc = match encoding {
        Encoding::Utf8 => None,
        Encoding::Gbk => Some(encoding_rs::GBK),
        Encoding::Gb18030 => Some(encoding_rs::GB18030),
    };
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(enc)
        .bom_sniffing(enc.is_none())
        .strip_bom(true)
        .utf8_passthru(true)
        .build(counted);
    Ok((Box::new(BufReader::with_capacity(1 << 20, decoded)), size))
}

fn encoding_error(path: &Path, line: u64, raw: &[u8], declared: Encoding) -> IngestError {
    let (guess, hint) = match declared {
        Encoding::Utf8 => {
            let (_, _, had_errors) = encoding_rs::GB18030.decode(raw);
            if had_errors {
                ("neither UTF-8 nor GBK", "gb18030")
            } else {
                ("GBK/GB18030 (Chinese Excel export)", "gbk")
            }
        }
        _ => ("UTF-8", "utf-8"),
    };
    IngestError::Encoding {
        path: path.to_path_buf(),
        line,
        encoding: match declared {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gbk => "GBK",
            Encoding::Gb18030 => "GB18030",
        },
        guess,
        hint,
    }
}

fn read_csv(
    path: &Path,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    // A GBK file read as UTF-8 is caught by the UTF-8 check below; a UTF-8 file declared as
    // GBK decodes into mojibake, so check for that up front on the first bytes.
    if csv_opts.encoding != Encoding::Utf8 {
        let mut head = vec![0u8; 64 * 1024];
        let mut f = File::open(path).map_err(|e| IngestError::io(path, e))?;
        let n = f.read(&mut head).map_err(|e| IngestError::io(path, e))?;
        head.truncate(n);
        let looks_utf8 = std::str::from_utf8(&head)
            .map(|s| !s.is_ascii())
            .unwrap_or_else(|e| {
                // the 64 KiB cut may split a character
                e.valid_up_to() + 4 > head.len() && !head[..e.valid_up_to()].is_ascii()
            });
        if looks_utf8 || head.starts_with(b"\xEF\xBB\xBF") {
            return Err(encoding_error(path, 1, &head, csv_opts.encoding));
        }
    }
    let (reader, size) = open_text(path, csv_opts.encoding, progress)?;
    progress.start(&format!("reading {}", path.display()), Some(size));
    let r = match csv_opts.delimiter {
        Delimiter::Whitespace => read_whitespace(path, reader, csv_opts, mapping, sink),
        Delimiter::Byte(b) => read_delimited(path, reader, b, csv_opts, mapping, sink),
    };
    progress.finish();
    r
}

fn header_names(fields: Vec<String>, no_header: bool) -> Vec<String> {
    if no_header {
        (1..=fields.len()).map(|i| format!("column_{i}")).collect()
    } else {
        fields.into_iter().map(|s| s.trim().to_string()).collect()
    }
}

fn read_delimited(
    path: &Path,
    reader: Box<dyn BufRead + '_>,
    delimiter: u8,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut rec = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        IngestError::Csv {
            path: path.to_path_buf(),
            line,
            reason: e.to_string(),
        }
    };
    // header (or the first row, which also fixes the width without a header)
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Err(IngestError::EmptyFile(path.to_path_buf()));
    }
    let first_line = rec.position().map(|p| p.line()).unwrap_or(1);
    let first = utf8_fields(path, &rec, first_line, csv_opts.encoding)?;
    let header = header_names(
        first.iter().map(|s| s.to_string()).collect(),
        csv_opts.no_header,
    );
    let pos = resolve(path, &header, mapping)?;
    let mut pending = csv_opts.no_header.then(|| rec.clone());
    loop {
        let r = match pending.take() {
            Some(r) => r,
            None => {
                if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
                    break;
                }
                rec.clone()
            }
        };
        let line = r.position().map(|p| p.line()).unwrap_or(0);
        if r.len() == 1 && r[0].iter().all(u8::is_ascii_whitespace) {
            continue; // a blank line with stray spaces
        }
        let fields = utf8_fields(path, &r, line, csv_opts.encoding)?;
        match validate_text_row(&pos, &fields, &mapping.date_format) {
            Ok(row) => sink.accept(row),
            Err((col, why)) => {
                let raw = fields.join(&char::from(delimiter).to_string());
                sink.reject(path, line, &col, why, raw)?;
            }
        }
    }
    Ok(())
}

fn utf8_fields<'r>(
    path: &Path,
    rec: &'r csv::ByteRecord,
    line: u64,
    enc: Encoding,
) -> Result<Vec<&'r str>, IngestError> {
    rec.iter()
        .map(|f| {
            std::str::from_utf8(f).map_err(|_| encoding_error(path, line, rec.as_slice(), enc))
        })
        .collect()
}

fn read_whitespace(
    path: &Path,
    mut reader: Box<dyn BufRead + '_>,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut pos: Option<Positions> = None;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = std::str::from_utf8(&buf)
            .map_err(|_| encoding_error(path, line_no, &buf, csv_opts.encoding))?;
        let fields: Vec<&str> = text.split_ascii_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let p = match &pos {
            Some(p) => p,
            None => {
                let header = header_names(
                    fields.iter().map(|s| s.to_string()).collect(),
                    csv_opts.no_header,
                );
                pos = Some(resolve(path, &header, mapping)?);
                if !csv_opts.no_header {
                    continue;
                }
                pos.as_ref()
                    .ok_or(IngestError::EmptyFile(path.to_path_buf()))?
            }
        };
        match validate_text_row(p, &fields, &mapping.date_format) {
            Ok(row) => sink.accept(row),
            Err((col, why)) => sink.reject(path, line_no, &col, why, fields.join(" "))?,
        }
    }
    if pos.is_none() {
        return Err(IngestError::EmptyFile(path.to_path_buf()));
    }
    Ok(())
}

fn read_parquet(
    path: &Path,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    let f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let pq_err = |e: &dyn std::fmt::Display| IngestError::Parquet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(&e))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let pos = resolve(path, &header, mapping)?;
    let total_rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
    let reader = builder
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| pq_err(&e))?;
    progress.start(&format!("reading {}", path.display()), Some(size));
    let mut row_no = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| pq_err(&e))?;
        let n = batch.num_rows();
        let text = |i: usize| -> Result<datafusion::arrow::array::StringArray, IngestError> {
            let c = cast(batch.column(i), &DataType::Utf8)
                .map_err(|e| pq_err(&format!("column `{}`: {e}", header[i])))?;
            Ok(c.as_string::<i32>().clone())
        };
        let num = |i: Option<usize>| -> Result<Option<NumCol>, IngestError> {
            let Some(i) = i else { return Ok(None) };
            let c = batch.column(i);
            Ok(Some(match c.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => NumCol::Text(text(i)?),
                _ => {
                    let f = cast(c, &DataType::Float64)
                        .map_err(|e| pq_err(&format!("column `{}`: {e}", header[i])))?;
                    NumCol::Float(
                        f.as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                            .clone(),
                    )
                }
            }))
        };
        let ids = text(pos.customer_id)?;
        let dates = DateCol::new(batch.column(pos.order_date))
            .map_err(|e| pq_err(&format!("column `{}`: {e}", header[pos.order_date])))?;
        let amount = num(Some(pos.amount))?.ok_or_else(|| pq_err(&"amount column"))?;
        let order_id = pos.order_id.map(text).transpose()?;
        let category = pos.category.map(text).transpose()?;
        let profit = num(pos.profit)?;
        let cost = num(pos.cost)?;
        let quantity = num(pos.quantity)?;
        for r in 0..n {
            row_no += 1;
            let result = (|| -> Result<Row<'_>, (String, String)> {
                let id = if ids.is_null(r) {
                    ""
                } else {
                    ids.value(r).trim()
                };
                if id.is_empty() {
                    return Err(("customer_id".into(), "missing customer id".into()));
                }
                let day = dates
                    .get(r, &mapping.date_format)
                    .map_err(|why| ("order_date".to_string(), why))?;
                let amount = amount
                    .get(r)
                    .ok_or_else(|| ("amount".to_string(), "missing amount".to_string()))?
                    .map_err(|why| ("amount".to_string(), why))?;
                let opt =
                    |c: &Option<NumCol>, name: &str| -> Result<Option<i64>, (String, String)> {
                        match c.as_ref().and_then(|c| c.get(r)) {
                            None => Ok(None),
                            Some(v) => v.map(Some).map_err(|why| (name.to_string(), why)),
                        }
                    };
                let mut p = opt(&profit, "profit")?;
                if p.is_none() {
                    p = opt(&cost, "cost")?.map(|c| amount - c);
                }

                Ok(Row {
                    customer_id: id,
                    day: day.0,
                    amount,
                    order_id: opt_text(&order_id, r),
                    category: opt_text(&category, r),
                    profit: p,
                    quantity: opt(&quantity, "quantity")?,
                })
            })();
            match result {
                Ok(row) => sink.accept(row),
                Err((col, why)) => {
                    let raw = format!("row {row_no} of {total_rows}");
                    sink.reject(path, row_no, &col, why, raw)?;
                }
            }
        }
    }
    progress.advance(size);
    progress.finish();
    Ok(())
}

/// A numeric Parquet column, typed or as text.
enum NumCol {
    Float(datafusion::arrow::array::Float64Array),
    Text(datafusion::arrow::array::StringArray),
}

impl NumCol {
    /// `None` = null; `Some(Err)` = bad value.
    fn get(&self, r: usize) -> Option<Result<i64, String>> {
        match self {
            NumCol::Float(a) => (!a.is_null(r)).then(|| {
                let v = a.value(r);
                to_scaled(v).map_err(|why| format!("`{v}` {why}"))
            }),
            NumCol::Text(a) => {
                if a.is_null(r) || a.value(r).trim().is_empty() {
                    return None;
                }
                let v = a.value(r);
                Some(parse_scaled(v).map_err(|why| format!("`{v}` {why}")))
            }
        }
    }
}

/// A date Parquet column: native dates/timestamps, `YYYYMMDD` integers or text.
enum DateCol {
    Days(datafusion::arrow::array::Date32Array),
    Text(datafusion::arrow::array::StringArray),
}

impl DateCol {
    fn new(c: &dyn Array) -> Result<DateCol, String> {
        match c.data_type() {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
                let d = cast(c, &DataType::Date32).map_err(|e| e.to_string())?;
                Ok(DateCol::Days(
                    d.as_primitive::<datafusion::arrow::datatypes::Date32Type>()
                        .clone(),
                ))
            }
            DataType::Int32
            | DataType::Int64
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View => {
                let t = cast(c, &DataType::Utf8).map_err(|e| e.to_string())?;
                Ok(DateCol::Text(t.as_string::<i32>().clone()))
            }
            other => Err(format!(
                "type {other} cannot hold dates; use a date, timestamp, YYYYMMDD integer or text column"
            )),
        }
    }

    fn get(&self, r: usize, fmt: &DateFormat) -> Result<Day, String> {
        match self {
            DateCol::Days(a) => {
                if a.is_null(r) {
                    Err("missing order date".into())
                } else {
                    Ok(Day(a.value(r)))
                }
            }
            DateCol::Text(a) => {
                if a.is_null(r) || a.value(r).trim().is_empty() {
                    return Err("missing order date".into());
                }
                let v = a.value(r);
                fmt.parse(v)
                    .ok_or_else(|| format!("`{v}` is not a date (expected {})", fmt.describe()))
            }
        }
    }
}

/// Trimmed non-empty text at row `r` of an optional column.
fn opt_text(c: &Option<datafusion::arrow::array::StringArray>, r: usize) -> Option<&str> {
    let a = c.as_ref()?;
    if a.is_null(r) {
        return None;
    }
    Some(a.value(r).trim()).filter(|s| !s.is_empty())
}
