//! Reading CSV and Parquet files into validated rows, with every bad row rejected and located.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};
use clientele_core::{DateFormat, Day};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};

use crate::accumulate::Accumulator;
use crate::dates::{self, DateError};
use crate::delimited::{Record, Records};
use crate::hints::{self, ColumnHint};
use crate::options::{ColumnMapping, CsvOptions, Delimiter, Encoding, OptionalColumn};
use crate::rejects::{Reject, Said, Why, write_rejects};
use crate::sniff::{Sniff, Utf8Lines};
use crate::transactions::{
    Category, NO_ORDER, Row, RowBuffer, TOO_LARGE, order_fingerprint, order_fingerprint_of_number,
    parse_scaled, to_scaled, to_scaled_all,
};
use crate::{ColumnAdvice, IngestError, IngestOptions, IngestStats, Progress, SourceFormat};
use crate::{delimited, unquoted};

/// Reads every file, folding the valid rows into `acc` as they come; returns it with the
/// accounting and the rejects.
pub(crate) fn read_transactions(
    files: &[PathBuf],
    opts: &IngestOptions,
    acc: Accumulator,
    progress: &dyn Progress,
) -> Result<(Accumulator, IngestStats, Vec<Reject>, Vec<ColumnHint>), IngestError> {
    let mut sink = Sink::new(opts.strict);
    sink.decimal_comma = opts.decimal_comma;
    sink.latest_day = opts.latest_plausible.map_or(i32::MAX, |d| d.0);
    sink.threads = opts.reading_threads.unwrap_or_else(parse_threads).max(1);
    sink.acc = Some(acc);
    if let Some(pg) = &opts.postgres {
        sink.stats.files.push(pg.describe());
        crate::postgres::read(pg, &opts.columns, &mut sink, progress)?;
    }
    for path in files {
        sink.stats.files.push(path.display().to_string());
        match SourceFormat::of(path) {
            SourceFormat::Csv => {
                let (read, bad) = (sink.stats.read, sink.encoding_rejects);
                sink.first_encoding = None;
                read_csv(path, &opts.csv, &opts.columns, &mut sink, progress)?;
                // Most rows not in the declared encoding: the file is in another one.
                let (read, bad) = (sink.stats.read - read, sink.encoding_rejects - bad);
                if bad > 0
                    && bad * 2 > read
                    && let Some((line, bytes)) = sink.first_encoding.take()
                {
                    return Err(encoding_error(path, line, &bytes, opts.csv.encoding));
                }
            }
            SourceFormat::Parquet => read_parquet(path, &opts.columns, &mut sink, progress)?,
        }
    }
    sink.flush();
    if let Some(p) = &opts.rejects_path {
        write_rejects(p, &sink.rejects, opts.lang)?;
    }
    if sink.min_day <= sink.max_day {
        sink.stats.first_date = Some(Day(sink.min_day));
        sink.stats.last_date = Some(Day(sink.max_day));
    }
    // set above and only ever taken here
    let acc = sink
        .acc
        .take()
        .ok_or_else(|| IngestError::Engine("the row accumulator went missing".into()))?;
    Ok((acc, sink.stats, sink.rejects, sink.hints))
}

/// Row buffers kept for reuse (enough for every reading thread and the parts waiting).
const MAX_SPARE: usize = 8;

/// Emptied buffers kept for reuse, at most `max`: filling a kept buffer again spares
/// allocating, growing and page-faulting a fresh one.
struct Pool<T> {
    kept: Mutex<Vec<T>>,
    max: usize,
}

impl<T> Pool<T> {
    fn new(max: usize) -> Pool<T> {
        Pool {
            kept: Mutex::new(Vec::new()),
            max,
        }
    }

    /// A kept buffer, if there is one.
    fn take(&self) -> Option<T> {
        self.kept.lock().ok()?.pop()
    }

    /// Keeps `t` for reuse, unless `max` are kept already.
    fn give(&self, t: T) {
        if let Ok(mut kept) = self.kept.lock()
            && kept.len() < self.max
        {
            kept.push(t);
        }
    }
}

/// Rows buffered before the main sink folds them into its accumulator.
const FLUSH_ROWS: usize = 64 * 1024;

/// Where validated rows and rejects go. The main sink folds rows into its accumulator as they
/// come; a part read on another thread buffers them until the main sink absorbs it, in order.
pub(crate) struct Sink {
    rows: RowBuffer,
    /// Emptied row buffers, handed back by the main sink for the parts read next: reusing
    /// them spares allocating, growing and page-faulting tens of megabytes per part.
    spare: Spare,
    acc: Option<Accumulator>,
    stats: IngestStats,
    rejects: Vec<Reject>,
    strict: bool,
    /// `,` is the decimal separator of amounts ([`IngestOptions::decimal_comma`]).
    pub(crate) decimal_comma: bool,
    /// Rows dated after this day are rejected as implausible
    /// ([`IngestOptions::latest_plausible`]; `i32::MAX` without one).
    latest_day: i32,
    min_day: i32,
    max_day: i32,
    /// Rows rejected because their bytes are not in the declared encoding.
    encoding_rejects: u64,
    /// The first of them: its line and bytes (for the advice on which encoding to use).
    first_encoding: Option<(u64, Vec<u8>)>,
    /// Optional fields the files seem to hold under another name.
    hints: Vec<ColumnHint>,
    /// Threads that parse CSV chunks and Parquet row groups at once
    /// ([`IngestOptions::reading_threads`]).
    threads: usize,
}

/// Row buffers shared by a main sink and its parts.
type Spare = Arc<Pool<RowBuffer>>;

impl Sink {
    fn new(strict: bool) -> Sink {
        Sink::sharing(strict, &Arc::new(Pool::new(MAX_SPARE)))
    }

    /// A sink (for a part) that takes a spare row buffer if there is one.
    fn sharing(strict: bool, spare: &Spare) -> Sink {
        let rows = spare.take().unwrap_or_default();
        Sink {
            rows,
            spare: Arc::clone(spare),
            acc: None,
            stats: IngestStats::default(),
            rejects: Vec::new(),
            strict,
            decimal_comma: false,
            latest_day: i32::MAX,
            min_day: i32::MAX,
            max_day: i32::MIN,
            encoding_rejects: 0,
            first_encoding: None,
            hints: Vec::new(),
            threads: 1,
        }
    }

    /// Keeps the hints of one file's columns: one per field, with the candidates of every
    /// file (the first file's first).
    pub(crate) fn note_hints(&mut self, pos: &Positions) {
        for h in &pos.hints {
            match self.hints.iter_mut().find(|k| k.field == h.field) {
                Some(k) => {
                    for c in &h.candidates {
                        if !k.candidates.contains(c) {
                            k.candidates.push(c.clone());
                        }
                    }
                }
                None => self.hints.push(h.clone()),
            }
        }
    }

    /// Makes room in the accumulator for about `rows` more rows (an estimate).
    fn expect_rows(&mut self, rows: usize) {
        if let Some(acc) = &mut self.acc {
            acc.reserve(rows);
        }
    }

    /// Folds the buffered rows into the accumulator (kept buffered without one).
    fn flush(&mut self) {
        if let Some(acc) = &mut self.acc {
            acc.absorb(&self.rows);
            self.rows.clear();
        }
    }

    /// Takes in the rows and accounting of a part read on another thread, in order.
    fn absorb(&mut self, mut part: Sink) {
        self.flush();
        match &mut self.acc {
            Some(acc) => acc.absorb(&part.rows),
            None => self.rows.append(&part.rows),
        }
        part.rows.clear();
        self.spare.give(std::mem::take(&mut part.rows));
        self.stats.read += part.stats.read;
        self.stats.accepted += part.stats.accepted;
        self.stats.rejected += part.stats.rejected;
        self.rejects.append(&mut part.rejects);
        self.min_day = self.min_day.min(part.min_day);
        self.max_day = self.max_day.max(part.max_day);
        self.encoding_rejects += part.encoding_rejects;
        if self.first_encoding.is_none() {
            self.first_encoding = part.first_encoding.take();
        }
    }

    fn accept(&mut self, row: Row<'_>) {
        self.hold(row);
        self.flush_when_full();
    }

    /// Takes a row without folding the buffer, so that category numbers given out by the
    /// buffer stay valid ([`Sink::flush_when_full`] follows).
    fn hold(&mut self, row: Row<'_>) {
        self.stats.read += 1;
        self.stats.accepted += 1;
        self.min_day = self.min_day.min(row.day);
        self.max_day = self.max_day.max(row.day);
        self.rows.push(row);
    }

    fn flush_when_full(&mut self) {
        if self.acc.is_some() && self.rows.len() >= FLUSH_ROWS {
            self.flush();
        }
    }

    fn reject(
        &mut self,
        path: &Path,
        line: u64,
        column: &str,
        why: Why,
        raw: String,
    ) -> Result<(), IngestError> {
        if self.strict {
            return Err(IngestError::StrictReject {
                path: path.to_path_buf(),
                line,
                column: column.to_string(),
                reason: why.en,
                reason_zh: why.zh,
            });
        }
        self.stats.read += 1;
        self.stats.rejected += 1;
        self.rejects.push(Reject {
            file: path.display().to_string(),
            line,
            column: column.to_string(),
            reason: why.en,
            reason_zh: why.zh,
            raw,
        });
        Ok(())
    }

    /// Rejects a row whose bytes are not in the declared encoding (stops with the advice on
    /// the encoding under `--strict`).
    fn reject_encoding(
        &mut self,
        path: &Path,
        line: u64,
        bytes: &[u8],
        raw: String,
        declared: Encoding,
    ) -> Result<(), IngestError> {
        if self.strict {
            return Err(encoding_error(path, line, bytes, declared));
        }
        let (guess, hint) = encoding_guess(bytes, declared);
        let reason = Why::new(
            format!(
                "bytes that are not valid {}; the line looks like {}: if the file is, pass \
                 --encoding {hint}",
                declared.name(),
                guess.en
            ),
            format!(
                "字节不是有效的 {}；这一行看起来是 {}：如果文件确是如此，请加上 --encoding {hint}",
                declared.name(),
                guess.zh
            ),
        );
        self.encoding_rejects += 1;
        if self.first_encoding.is_none() {
            self.first_encoding = Some((line, bytes.to_vec()));
        }
        self.reject(path, line, "", reason, raw)
    }
}

/// Column positions of the mapped fields in one file.
pub(crate) struct Positions {
    pub(crate) customer_id: usize,
    pub(crate) order_date: usize,
    pub(crate) amount: usize,
    pub(crate) order_id: Option<usize>,
    pub(crate) category: Option<usize>,
    pub(crate) profit: Option<usize>,
    pub(crate) cost: Option<usize>,
    pub(crate) quantity: Option<usize>,
    pub(crate) width: usize,
    /// Fields are separated by runs of whitespace.
    pub(crate) whitespace: bool,
    /// Optional fields the header seems to hold under another name.
    pub(crate) hints: Vec<ColumnHint>,
}

fn find(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name).or_else(|| {
        let lower = name.trim().to_lowercase();
        header.iter().position(|h| h.trim().to_lowercase() == lower)
    })
}

pub(crate) fn resolve(
    path: &Path,
    header: &[String],
    m: &ColumnMapping,
) -> Result<Positions, IngestError> {
    let found = || header.join(", ");
    // one column whose name holds another delimiter: the file is split by that one
    let (hint, hint_zh) = match header {
        [only] => [';', '\t', '|', ',']
            .into_iter()
            .find(|&c| only.contains(c))
            .map(|c| {
                let flag = if c == '\t' {
                    "tab".to_string()
                } else {
                    format!("'{c}'")
                };
                let c = c.escape_default();
                (
                    format!(
                        ". The header looks `{c}`-separated: pass --delimiter {flag} (or \
                         `delimiter = \"{c}\"` in [source])"
                    ),
                    format!(
                        "。表头看起来以 `{c}` 分隔：请加上 --delimiter {flag}（或在 [source] 中写 \
                         `delimiter = \"{c}\"`）"
                    ),
                )
            })
            .unwrap_or_default(),
        _ => Default::default(),
    };
    // the required columns that are not there, and the header names that look like them
    let required = [
        (m.customer_id.as_str(), "customer_id", "customer-id-col"),
        (m.order_date.as_str(), "order_date", "date-col"),
        (m.amount.as_str(), "amount", "amount-col"),
    ];
    let taken: Vec<usize> = required
        .iter()
        .filter_map(|(name, _, _)| find(header, name))
        .collect();
    let likely: Vec<(&str, &str, Vec<String>)> = required
        .iter()
        .filter(|(name, _, _)| find(header, name).is_none())
        .map(|&(_, field, flag)| (field, flag, hints::candidates(field, header, &taken)))
        .filter(|(_, _, c)| !c.is_empty())
        .collect();
    // a header not split at all names no column; the delimiter hint says why
    let (likely, likely_zh) = if likely.is_empty() || !hint.is_empty() {
        Default::default()
    } else {
        let named: Vec<String> = likely
            .iter()
            .map(|(field, _, c)| {
                let c: Vec<String> = c.iter().map(|n| format!("`{n}`")).collect();
                format!("{} for {field}", c.join(" or "))
            })
            .collect();
        let flags: Vec<String> = likely
            .iter()
            .map(|(_, flag, c)| hints::flag_fix(flag, &c[0]))
            .collect();
        let named_zh: Vec<String> = likely
            .iter()
            .map(|(field, _, c)| {
                let c: Vec<String> = c.iter().map(|n| format!("`{n}`")).collect();
                format!("{} 可能是 {field}", c.join(" 或 "))
            })
            .collect();
        (
            format!(". Likely {}: pass {}", named.join(", "), flags.join(" ")),
            format!("。{}：请加上 {}", named_zh.join("，"), flags.join(" ")),
        )
    };
    let missing =
        |column: &str, field: &'static str, flag: &'static str| IngestError::MissingColumn {
            path: path.to_path_buf(),
            field,
            column: column.to_string(),
            flag,
            found: found(),
            advice: Box::new(ColumnAdvice {
                en: format!("{likely}{hint}"),
                zh: format!("{likely_zh}{hint_zh}"),
            }),
        };
    // a name that two columns have (by `find`'s rules) is ambiguous
    let unique = |name: &str, field: &'static str, i: usize| {
        let key = name.trim().to_lowercase();
        let same = |h: &String| h == name || h.trim().to_lowercase() == key;
        match header.iter().enumerate().filter(|(_, h)| same(h)).nth(1) {
            Some((j, _)) => {
                let first = header.iter().position(same).unwrap_or(i);
                Err(IngestError::DuplicateColumn {
                    path: path.to_path_buf(),
                    field,
                    column: header[first].clone(),
                    first: first + 1,
                    second: j + 1,
                })
            }
            None => Ok(i),
        }
    };
    let req = |name: &str, field: &'static str, flag: &'static str| {
        let i = find(header, name).ok_or_else(|| missing(name, field, flag))?;
        unique(name, field, i)
    };
    let opt = |c: &OptionalColumn, field: &'static str, flag: &'static str| {
        if c.name.is_empty() {
            return Ok(None);
        }
        match find(header, &c.name) {
            Some(i) => unique(&c.name, field, i).map(Some),
            None if c.required => Err(missing(&c.name, field, flag)),
            None => Ok(None),
        }
    };
    let mut p = Positions {
        customer_id: req(&m.customer_id, "customer_id", "customer-id-col")?,
        order_date: req(&m.order_date, "order_date", "date-col")?,
        amount: req(&m.amount, "amount", "amount-col")?,
        order_id: opt(&m.order_id, "order_id", "order-id-col")?,
        category: opt(&m.category, "category", "category-col")?,
        profit: opt(&m.profit, "profit", "profit-col")?,
        cost: opt(&m.cost, "cost", "cost-col")?,
        quantity: opt(&m.quantity, "quantity", "quantity-col")?,
        width: header.len(),
        whitespace: false,
        hints: Vec::new(),
    };
    let mut taken = vec![p.customer_id, p.order_date, p.amount];
    taken.extend(
        [p.order_id, p.category, p.profit, p.cost, p.quantity]
            .into_iter()
            .flatten(),
    );
    p.hints = hints::optional_hints(header, m, &taken, |c| find(header, &c.name).is_none());
    Ok(p)
}

/// The fields of one text row, without copying them out of the parser's record.
trait Fields {
    fn count(&self) -> usize;
    /// Field `i` (`i < count()`).
    fn field(&self, i: usize) -> &str;
}

impl Fields for [&str] {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self[i]
    }
}

impl Fields for unquoted::Record<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        unquoted::Record::field(self, i)
    }
}

impl Fields for delimited::TextRecord<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        delimited::TextRecord::field(self, i)
    }
}

/// `s` without leading and trailing whitespace (Unicode, as `str::trim`). Most fields start
/// and end with a visible ASCII character and are returned as they are without the scan.
#[inline]
fn trim(s: &str) -> &str {
    let visible = |b: u8| b > b' ' && b < 0x80;
    match s.as_bytes() {
        [first, .., last] if visible(*first) && visible(*last) => s,
        [only] if visible(*only) => s,
        _ => s.trim(),
    }
}

/// A date format that remembers the last text it parsed: files sorted or grouped by date
/// repeat one date on row after row, and parsing it again each time was a visible share of
/// reading a CSV.
struct DateParser<'f> {
    format: &'f DateFormat,
    last: String,
    day: Result<Day, DateError>,
}

impl<'f> DateParser<'f> {
    fn new(format: &'f DateFormat) -> DateParser<'f> {
        DateParser {
            format,
            last: String::new(),
            day: Err(DateError::NotADate),
        }
    }

    /// As [`dates::parse`].
    fn parse(&mut self, s: &str) -> Result<Day, DateError> {
        if s != self.last {
            self.day = dates::parse(self.format, s);
            self.last.clear();
            self.last.push_str(s);
        }
        self.day
    }
}

/// Why a row dated after the last plausible day is rejected (both days lie within the years
/// 1000–9999, so they print as dates).
#[cold]
#[inline(never)]
fn implausible(day: i32, latest: i32) -> Why {
    Why::new(
        format!(
            "order date {} lies far beyond the other order dates (the last plausible day is \
             {}): a typo? If such dates are real, pass --as-of",
            Day(day),
            Day(latest)
        ),
        format!(
            "订单日期 {} 远远晚于其他订单日期（最后一个合理的日期是 {}）：是笔误吗？\
             如果这些日期是真的，请加上 --as-of",
            Day(day),
            Day(latest)
        ),
    )
}

/// Why a row with another number of fields than the header is rejected.
#[cold]
#[inline(never)]
fn width_mismatch<F: Fields + ?Sized>(pos: &Positions, fields: &F) -> Why {
    let (n, want) = (fields.count(), pos.width);
    let mut why = Why::new(
        format!("row has {n} fields, the header has {want}"),
        format!("这一行有 {n} 个字段，表头有 {want} 个"),
    );
    if n == want + 1 && fields.field(n - 1).trim().is_empty() {
        why.en
            .push_str(" (the last is empty: a delimiter at the end of the line?)");
        why.zh.push_str("（最后一个为空：行尾多了一个分隔符？）");
    } else if pos.whitespace && n > want {
        why.en.push_str(
            " (a value with a space in it? whitespace-separated files cannot quote values: \
             use a delimited file)",
        );
        why.zh
            .push_str("（值中含有空格？以空白分隔的文件不能给值加引号：请使用带分隔符的文件）");
    }
    why
}

const MISSING_ID: Said = Said::new("missing customer id", "缺少客户编号");
const MISSING_DATE: Said = Said::new("missing order date", "缺少订单日期");
const MISSING_AMOUNT: Said = Said::new("missing amount", "缺少金额");

/// Validates one text row.
fn validate_text_row<'a, F: Fields + ?Sized>(
    pos: &Positions,
    fields: &'a F,
    dates: &mut DateParser<'_>,
    decimal_comma: bool,
) -> Result<Row<'a>, (String, Why)> {
    if fields.count() != pos.width {
        return Err((String::new(), width_mismatch(pos, fields)));
    }
    let get = |i: usize| trim(fields.field(i));
    let id = get(pos.customer_id);
    let bad = |col: &str, reason: Why| (col.to_string(), reason);
    if id.is_empty() {
        return Err(bad("customer_id", MISSING_ID.into()));
    }
    let d = get(pos.order_date);
    if d.is_empty() {
        return Err(bad("order_date", MISSING_DATE.into()));
    }
    let day = dates
        .parse(d)
        .map_err(|e| bad("order_date", e.reason(d, dates.format)))?;
    let a = get(pos.amount);
    if a.is_empty() {
        return Err(bad("amount", MISSING_AMOUNT.into()));
    }
    let amount =
        parse_scaled(a, decimal_comma).map_err(|why| bad("amount", Why::value(&a, why)))?;
    let opt_num = |i: Option<usize>, col: &str| -> Result<Option<i64>, (String, Why)> {
        match i.map(get) {
            None | Some("") => Ok(None),
            Some(v) => parse_scaled(v, decimal_comma)
                .map(Some)
                .map_err(|why| bad(col, Why::value(&v, why))),
        }
    };
    let mut profit = opt_num(pos.profit, "profit")?;
    if profit.is_none()
        && let Some(cost) = opt_num(pos.cost, "cost")?
    {
        profit = Some(amount - cost);
    }
    let quantity = opt_num(pos.quantity, "quantity")?;
    let opt_text = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty());
    Ok(Row {
        customer_id: id,
        day: day.0,
        amount,
        order: opt_text(pos.order_id).map_or(NO_ORDER, order_fingerprint),
        category: opt_text(pos.category).into(),
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
    open_sniffed(path, encoding, progress).map(|(r, size, _)| (r, size))
}

/// [`open_text`], and in another encoding than UTF-8 the lines whose bytes are UTF-8, which
/// decode without an error as mojibake ([`crate::sniff`]).
#[allow(clippy::type_complexity)]
fn open_sniffed<'p>(
    path: &Path,
    encoding: Encoding,
    progress: &'p dyn Progress,
) -> Result<(Box<dyn BufRead + 'p>, u64, Option<Arc<Utf8Lines>>), IngestError> {
    let f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = Counting { inner: f, progress };
    let found = (encoding != Encoding::Utf8).then(|| Arc::new(Utf8Lines::default()));
    let counted: Box<dyn Read + 'p> = match &found {
        Some(found) => Box::new(Sniff::new(
            counted,
            encoding != Encoding::Windows1252,
            Arc::clone(found),
        )),
        None => Box::new(counted),
    };
    let enc = decoder_of(encoding);
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(enc)
        .bom_sniffing(enc.is_none())
        .strip_bom(true)
        .utf8_passthru(true)
        .build(counted);
    Ok((
        Box::new(BufReader::with_capacity(1 << 20, decoded)),
        size,
        found,
    ))
}

/// The decoder of text in `encoding`; `None` for UTF-8, which is read as it is.
pub(crate) fn decoder_of(encoding: Encoding) -> Option<&'static encoding_rs::Encoding> {
    match encoding {
        Encoding::Utf8 => None,
        Encoding::Gbk => Some(encoding_rs::GBK),
        Encoding::Gb18030 => Some(encoding_rs::GB18030),
        Encoding::Windows1252 => Some(encoding_rs::WINDOWS_1252),
    }
}

fn encoding_error(path: &Path, line: u64, raw: &[u8], declared: Encoding) -> IngestError {
    let (guess, hint) = encoding_guess(raw, declared);
    IngestError::Encoding {
        path: path.to_path_buf(),
        line,
        encoding: declared.name(),
        guess: guess.en,
        guess_zh: guess.zh,
        hint,
    }
}

const GUESS_UTF8: Said = Said::new("UTF-8", "UTF-8");
const GUESS_GBK: Said = Said::new(
    "GBK/GB18030 (Chinese Excel export)",
    "GBK/GB18030（中文 Excel 导出）",
);
const GUESS_1252: Said = Said::new(
    "Windows-1252/Latin-1 (Western European Excel export)",
    "Windows-1252/Latin-1（西欧 Excel 导出）",
);
const GUESS_NEITHER: Said = Said::new(
    "neither UTF-8 nor GBK (perhaps Windows-1252)",
    "既不是 UTF-8 也不是 GBK（也许是 Windows-1252）",
);

/// Which encoding the bytes `raw`, not valid in `declared`, look like, and the `--encoding`
/// value for it. Chinese GBK text comes in pairs of bytes of 0x80 and above; Western European
/// text (Latin-1/Windows-1252) has such bytes alone, between ASCII letters.
fn encoding_guess(raw: &[u8], declared: Encoding) -> (Said, &'static str) {
    if declared != Encoding::Utf8 {
        return (GUESS_UTF8, "utf-8");
    }
    let (_, _, gbk_errors) = encoding_rs::GB18030.decode(raw);
    let mut runs = raw
        .split(|b| b.is_ascii())
        .filter(|r| !r.is_empty())
        .map(<[u8]>::len);
    let paired = runs.clone().all(|n| n % 2 == 0);
    let short = runs.all(|n| n <= 2);
    match (gbk_errors, paired, short) {
        (false, true, _) => (GUESS_GBK, "gbk"),
        (_, _, true) => (GUESS_1252, "windows-1252"),
        (false, false, false) => (GUESS_GBK, "gbk"),
        (true, _, false) => (GUESS_NEITHER, "windows-1252"),
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
    if csv_opts.encoding == Encoding::Utf8
        && let Delimiter::Byte(b) = csv_opts.delimiter
    {
        let threads = sink.threads;
        if threads > 1 {
            return read_delimited_parallel(
                path,
                b,
                csv_opts,
                mapping,
                sink,
                progress,
                CHUNK_BYTES,
                threads,
            );
        }
    }
    read_csv_sequential(path, csv_opts, mapping, sink, progress)
}

/// Threads that parse CSV chunks and Parquet row groups by default: every core.
fn parse_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Bytes of CSV text one thread parses at a time.
pub(crate) const CHUNK_BYTES: usize = 8 << 20;

/// The whole file in one pass through one CSV parser (any encoding, quoted line breaks).
fn read_csv_sequential(
    path: &Path,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    let (reader, size, utf8) = open_sniffed(path, csv_opts.encoding, progress)?;
    progress.start(&crate::progress::reading(path.display()), Some(size));
    let r = match csv_opts.delimiter {
        Delimiter::Whitespace => read_whitespace(path, reader, csv_opts, mapping, sink, utf8),
        Delimiter::Byte(b) => read_delimited(path, reader, b, csv_opts, mapping, sink, utf8),
    };
    progress.finish();
    r
}

pub(crate) fn header_names(fields: Vec<String>, no_header: bool) -> Vec<String> {
    if no_header {
        (1..=fields.len()).map(|i| format!("column_{i}")).collect()
    } else {
        fields.into_iter().map(|s| s.trim().to_string()).collect()
    }
}

/// An error reading the text of a delimited file; its line is shifted by `line_offset`.
fn read_error(path: &Path, line_offset: u64, e: delimited::ReadError) -> IngestError {
    IngestError::Csv {
        path: path.to_path_buf(),
        line: e.line + line_offset,
        reason: e.error.to_string(),
    }
}

/// What every record of one delimited file is checked against.
struct TextCtx<'c> {
    path: &'c Path,
    delimiter: u8,
    encoding: Encoding,
    pos: Positions,
    date_format: &'c DateFormat,
    /// Lines whose bytes are UTF-8 in a file declared in another encoding.
    utf8_lines: Option<Arc<Utf8Lines>>,
}

impl<'c> TextCtx<'c> {
    /// A date parser for one reading thread.
    fn dates(&self) -> DateParser<'c> {
        DateParser::new(self.date_format)
    }
}

/// Resolves the columns from the first record (the header, or the first row without one).
fn text_ctx<'c>(
    path: &'c Path,
    first: &Record<'_>,
    delimiter: u8,
    csv_opts: &CsvOptions,
    mapping: &'c ColumnMapping,
) -> Result<TextCtx<'c>, IngestError> {
    if let Some(why) = first.bad {
        return Err(IngestError::Csv {
            path: path.to_path_buf(),
            line: first.line,
            reason: format!("in the first line: {why}"),
        });
    }
    let text = first
        .text()
        .ok_or_else(|| encoding_error(path, first.line, first.bytes(), csv_opts.encoding))?;
    let header = header_names(
        (0..text.len()).map(|i| text.field(i).to_string()).collect(),
        csv_opts.no_header,
    );
    Ok(TextCtx {
        path,
        delimiter,
        encoding: csv_opts.encoding,
        pos: resolve(path, &header, mapping)?,
        date_format: &mapping.date_format,
        utf8_lines: None,
    })
}

/// Validates one data record into the sink; its line is shifted by `line_offset`.
fn handle_record(
    ctx: &TextCtx<'_>,
    rec: Record<'_>,
    line_offset: u64,
    sink: &mut Sink,
    dates: &mut DateParser<'_>,
) -> Result<(), IngestError> {
    let line = rec.line + line_offset;
    if let Some(why) = rec.bad {
        let raw = String::from_utf8_lossy(rec.bytes()).into_owned();
        return sink.reject(ctx.path, line, "", Why::new(why, rec.bad_zh), raw);
    }
    if rec.len() == 1 && rec.field(0).iter().all(u8::is_ascii_whitespace) {
        return Ok(()); // a blank line with stray spaces
    }
    let Some(fields) = rec.text() else {
        let raw = rec.joined_lossy(ctx.delimiter);
        return sink.reject_encoding(ctx.path, line, rec.bytes(), raw, ctx.encoding);
    };
    if ctx.encoding != Encoding::Utf8
        && (has_replacement(rec.bytes())
            || ctx.utf8_lines.as_ref().is_some_and(|u| u.has(rec.line)))
    {
        // bytes the decoder could not read became U+FFFD
        let raw = fields.joined(ctx.delimiter);
        return sink.reject_encoding(ctx.path, line, rec.bytes(), raw, ctx.encoding);
    }
    take_row(ctx, &fields, line, sink, dates, || {
        fields.joined(ctx.delimiter)
    })
}

/// Whether decoded text holds U+FFFD, which the decoder puts for bytes it cannot read.
fn has_replacement(b: &[u8]) -> bool {
    memchr::memmem::find(b, "\u{FFFD}".as_bytes()).is_some()
}

/// Validates one record's fields into the sink; `raw` gives its text for a reject.
fn take_row<F: Fields + ?Sized>(
    ctx: &TextCtx<'_>,
    fields: &F,
    line: u64,
    sink: &mut Sink,
    dates: &mut DateParser<'_>,
    raw: impl FnOnce() -> String,
) -> Result<(), IngestError> {
    match validate_text_row(&ctx.pos, fields, dates, sink.decimal_comma) {
        Ok(row) if row.day > sink.latest_day => {
            let why = implausible(row.day, sink.latest_day);
            sink.reject(ctx.path, line, "order_date", why, raw())
        }
        Ok(row) => {
            sink.accept(row);
            Ok(())
        }
        Err((col, why)) => sink.reject(ctx.path, line, &col, why, raw()),
    }
}

/// Reads a chunk that holds no quote character: UTF-8 is checked once for the whole chunk
/// and records are split without the general parser ([`unquoted`]). A chunk that is not
/// UTF-8 goes through the general parser, which locates the bad record.
fn parse_unquoted(
    ctx: &TextCtx<'_>,
    bytes: &[u8],
    line_offset: u64,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) if unquoted::splits_with(ctx.delimiter) => text,
        _ => {
            return parse_records(
                ctx,
                &mut Records::new(ctx.delimiter, bytes).first_line(line_offset + 1),
                0,
                sink,
            );
        }
    };
    let mut dates = ctx.dates();
    unquoted::each_record(text, ctx.delimiter, |line, rec| {
        if rec.len() == 1 && rec.text.bytes().all(|c| c.is_ascii_whitespace()) {
            return Ok(()); // a blank line with stray spaces
        }
        take_row(ctx, &rec, line + line_offset, sink, &mut dates, || {
            rec.text.to_string()
        })
    })
}

/// Reads records to the end; line numbers are shifted by `line_offset`.
fn parse_records<R: BufRead>(
    ctx: &TextCtx<'_>,
    rdr: &mut Records<R>,
    line_offset: u64,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let mut dates = ctx.dates();
    while let Some(rec) = rdr
        .next_record()
        .map_err(|e| read_error(ctx.path, line_offset, e))?
    {
        handle_record(ctx, rec, line_offset, sink, &mut dates)?;
    }
    Ok(())
}

fn read_delimited(
    path: &Path,
    reader: Box<dyn BufRead + '_>,
    delimiter: u8,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    utf8_lines: Option<Arc<Utf8Lines>>,
) -> Result<(), IngestError> {
    let mut rdr = Records::new(delimiter, reader);
    // header (or the first row, which also fixes the width without a header)
    let Some(first) = rdr.next_record().map_err(|e| read_error(path, 0, e))? else {
        return Err(IngestError::EmptyFile(path.to_path_buf()));
    };
    let mut ctx = text_ctx(path, &first, delimiter, csv_opts, mapping)?;
    sink.note_hints(&ctx.pos);
    ctx.utf8_lines = utf8_lines;
    if csv_opts.no_header {
        handle_record(&ctx, first, 0, sink, &mut ctx.dates())?;
    }
    parse_records(&ctx, &mut rdr, 0, sink)
}

/// Appends up to `want` more bytes of `file` to `buf`; true at end of file.
fn fill(
    path: &Path,
    file: &mut File,
    buf: &mut Vec<u8>,
    want: usize,
    progress: &dyn Progress,
) -> Result<bool, IngestError> {
    let n = file
        .by_ref()
        .take(want as u64)
        .read_to_end(buf)
        .map_err(|e| IngestError::io(path, e))?;
    progress.advance(n as u64);
    Ok(n < want)
}

/// Line breaks in `b`, counted with SIMD (this thread scans the whole file while the others
/// parse it); `b` must not end inside a `\r\n`.
fn count_lines(b: &[u8]) -> u64 {
    delimited::line_breaks(b, &mut false)
}

/// Whether `b` holds a quote character (SIMD, as [`count_lines`]).
fn has_quote(b: &[u8]) -> bool {
    memchr::memchr(b'"', b).is_some()
}

/// One chunk's rows and accounting, and the error that stopped it, if any.
type Part = (Sink, Option<IngestError>);

/// UTF-8 delimited text, parsed on `threads` threads in chunks of about `chunk_bytes` cut at
/// line breaks. A line break can only be inside a field when the field is quoted, so chunks
/// are cut only while no quote character has been seen; from the first chunk that holds one,
/// the rest of the file goes through one parser. Results are merged in file order, so rows,
/// rejects, line numbers and the first error are the same as in one pass.
#[allow(clippy::too_many_arguments)]
fn read_delimited_parallel(
    path: &Path,
    delimiter: u8,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    progress: &dyn Progress,
    chunk_bytes: usize,
    threads: usize,
) -> Result<(), IngestError> {
    let mut file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut head = Vec::new();
    let mut eof = fill(path, &mut file, &mut head, chunk_bytes, &crate::NoProgress)?;
    // UTF-16 (by its byte-order mark) needs transcoding; quotes may hide line breaks.
    let start = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text = &head[start..];
    let cut = if eof {
        Some(text.len())
    } else {
        text.iter().rposition(|&b| b == b'\n').map(|i| i + 1)
    };
    let simple = !head.starts_with(b"\xFF\xFE") && !head.starts_with(b"\xFE\xFF");
    let (Some(cut), true) = (cut, simple) else {
        drop(file);
        return read_csv_sequential(path, csv_opts, mapping, sink, progress);
    };
    if has_quote(&text[..cut]) {
        drop(file);
        return read_csv_sequential(path, csv_opts, mapping, sink, progress);
    }
    progress.start(&crate::progress::reading(path.display()), Some(size));
    progress.advance(head.len() as u64);
    let r = (|| {
        let mut rdr = Records::new(delimiter, &text[..cut]);
        let Some(first) = rdr.next_record().map_err(|e| read_error(path, 0, e))? else {
            // blank lines only so far
            return if eof {
                Err(IngestError::EmptyFile(path.to_path_buf()))
            } else {
                Ok(None)
            };
        };
        let ctx = text_ctx(path, &first, delimiter, csv_opts, mapping)?;
        sink.note_hints(&ctx.pos);
        if csv_opts.no_header {
            handle_record(&ctx, first, 0, sink, &mut ctx.dates())?;
        }
        // the header's `\r\n` is one line break, counted here
        let mut end = rdr.consumed() as usize;
        if end > 0 && text.get(end - 1) == Some(&b'\r') && text.get(end) == Some(&b'\n') {
            end += 1;
        }
        Ok(Some((ctx, end)))
    })();
    let (ctx, data_start) = match r {
        Ok(Some(x)) => x,
        Ok(None) => {
            drop(file);
            progress.finish();
            return read_csv_sequential(path, csv_opts, mapping, sink, progress);
        }
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    let mut line_offset = count_lines(&text[..data_start]);
    let mut carry = text[data_start..].to_vec();
    drop(head);

    let (strict, decimal_comma, spare) = (sink.strict, sink.decimal_comma, Arc::clone(&sink.spare));
    let latest_day = sink.latest_day;
    // Chunks go to the workers in order; the main thread reads ahead, folds finished parts in
    // file order as they arrive (so memory holds a few chunks, not the file) and, from the
    // first chunk with a quote, parses the rest itself.
    let (jobs, job_rx) = mpsc::sync_channel::<(usize, Vec<u8>, u64, u64)>(threads);
    let job_rx = Mutex::new(job_rx);
    let (done, done_rx) = mpsc::channel::<(usize, Part)>();
    let mut ready = Ready::default();
    // Parsed chunks' buffers, for the next chunks: fresh 8 MiB buffers, grown as the file is
    // read, were page-faulted in one after the other for the whole file.
    let emptied: Pool<Vec<u8>> = Pool::new(2 * threads + 2);
    std::thread::scope(|s| -> Result<(), IngestError> {
        for _ in 0..threads {
            let (done, job_rx, ctx, spare, emptied) =
                (done.clone(), &job_rx, &ctx, &spare, &emptied);
            s.spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((i, mut bytes, offset, lines)) = job else {
                        break;
                    };
                    let mut part = Sink::sharing(strict, spare);
                    part.decimal_comma = decimal_comma;
                    part.latest_day = latest_day;
                    part.rows.reserve(lines as usize);
                    let err = parse_unquoted(ctx, &bytes, offset, &mut part).err();
                    bytes.clear();
                    emptied.give(bytes);
                    if done.send((i, (part, err))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut sent = 0usize;
        let mut tail = None;
        loop {
            if !eof {
                let want = chunk_bytes
                    .saturating_sub(carry.len())
                    .max(chunk_bytes / 8)
                    .max(1);
                eof = fill(path, &mut file, &mut carry, want, progress)?;
            }
            let cut = if eof {
                carry.len()
            } else {
                match carry.iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => continue, // one very long line: read more
                }
            };
            let mut rest = emptied
                .take()
                .unwrap_or_else(|| Vec::with_capacity(chunk_bytes + chunk_bytes / 8));
            rest.extend_from_slice(&carry[cut..]);
            carry.truncate(cut);
            let chunk = std::mem::replace(&mut carry, rest);
            if has_quote(&chunk) {
                let input = Cursor::new(chunk).chain(Cursor::new(std::mem::take(&mut carry)));
                let input = input.chain(Counting {
                    inner: &mut file,
                    progress,
                });
                let mut rdr = Records::new(delimiter, BufReader::with_capacity(1 << 20, input))
                    .first_line(line_offset + 1);
                let mut part = Sink::sharing(strict, &spare);
                part.decimal_comma = decimal_comma;
                part.latest_day = latest_day;
                let err = parse_records(&ctx, &mut rdr, 0, &mut part).err();
                tail = Some((part, err));
                break;
            }
            let offset = line_offset;
            let lines = count_lines(&chunk);
            line_offset += lines;
            if sent == 0 && lines > 0 {
                // the whole file's rows, estimated from the first chunk's
                sink.expect_rows((size as f64 / chunk.len() as f64 * lines as f64) as usize);
            }
            if !chunk.is_empty() {
                // Only fails when every worker has stopped, which they do not before `jobs` closes.
                if jobs.send((sent, chunk, offset, lines)).is_err() {
                    break;
                }
                sent += 1;
            }
            while let Ok((i, part)) = done_rx.try_recv() {
                ready.put(i, part);
            }
            ready.fold(sink)?;
            if eof && carry.is_empty() {
                break;
            }
        }
        drop(jobs);
        while ready.next < sent {
            let Ok((i, part)) = done_rx.recv() else { break };
            ready.put(i, part);
            ready.fold(sink)?;
        }
        if let Some((part, err)) = tail {
            sink.absorb(part);
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(())
    })
    .inspect_err(|_| progress.finish())?;
    progress.finish();
    Ok(())
}

/// Parts that finished out of order, waiting for the ones before them.
#[derive(Default)]
struct Ready {
    parts: std::collections::BTreeMap<usize, Part>,
    next: usize,
}

impl Ready {
    fn put(&mut self, i: usize, part: Part) {
        self.parts.insert(i, part);
    }

    /// Folds the parts that are next in order; stops at the first error.
    fn fold(&mut self, sink: &mut Sink) -> Result<(), IngestError> {
        while let Some((part, err)) = self.parts.remove(&self.next) {
            self.next += 1;
            sink.absorb(part);
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(())
    }
}

fn read_whitespace(
    path: &Path,
    mut reader: Box<dyn BufRead + '_>,
    csv_opts: &CsvOptions,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    utf8_lines: Option<Arc<Utf8Lines>>,
) -> Result<(), IngestError> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut pos: Option<Positions> = None;
    let mut dates = DateParser::new(&mapping.date_format);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        // a lone `\r` ends a line too (old Mac files)
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        for line in text.split(|&b| b == b'\r') {
            line_no += 1;
            let Ok(text) = std::str::from_utf8(line) else {
                if pos.is_none() {
                    return Err(encoding_error(path, line_no, line, csv_opts.encoding));
                }
                let raw = String::from_utf8_lossy(line).trim().to_string();
                sink.reject_encoding(path, line_no, line, raw, csv_opts.encoding)?;
                continue;
            };
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
                    let mut p = resolve(path, &header, mapping)?;
                    p.whitespace = true;
                    sink.note_hints(&p);
                    let p = pos.insert(p);
                    if !csv_opts.no_header {
                        continue;
                    }
                    p
                }
            };
            if csv_opts.encoding != Encoding::Utf8
                && (has_replacement(line) || utf8_lines.as_ref().is_some_and(|u| u.has(line_no)))
            {
                let raw = fields.join(" ");
                sink.reject_encoding(path, line_no, line, raw, csv_opts.encoding)?;
                continue;
            }
            match validate_text_row(p, fields.as_slice(), &mut dates, sink.decimal_comma) {
                Ok(row) if row.day > sink.latest_day => {
                    let why = implausible(row.day, sink.latest_day);
                    sink.reject(path, line_no, "order_date", why, fields.join(" "))?
                }
                Ok(row) => sink.accept(row),
                Err((col, why)) => sink.reject(path, line_no, &col, why, fields.join(" "))?,
            }
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
    let pq_err = |e: &dyn std::fmt::Display| parquet_error(path, e);
    let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::default())
        .map_err(|e| not_parquet(path, &f, size, &e))?;
    let header = parquet_header(&meta);
    let pos = resolve(path, &header, mapping)?;
    sink.note_hints(&pos);
    let meta = categories_as_dictionary(meta, pos.category).map_err(|e| pq_err(&e))?;
    let total_rows = meta.metadata().file_metadata().num_rows().max(1) as u64;
    // Row groups with the number of rows before each.
    let mut groups = Vec::new();
    let mut before = 0u64;
    for g in meta.metadata().row_groups() {
        groups.push(before);
        before += g.num_rows().max(0) as u64;
    }
    let ctx = ParquetCtx {
        path,
        header: &header,
        pos: &pos,
        date_format: &mapping.date_format,
        total_rows: Some(total_rows),
        keys: &[],
    };
    progress.start(&crate::progress::reading(path.display()), Some(size));
    sink.expect_rows(total_rows as usize);
    let threads = sink.threads.min(groups.len());
    let r = if threads <= 1 {
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| pq_err(&e));
        reader.and_then(|reader| ctx.read(reader, 0, sink))
    } else {
        // One row group at a time per thread; folded in file order as they arrive.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (strict, decimal_comma, spare) =
            (sink.strict, sink.decimal_comma, Arc::clone(&sink.spare));
        let latest_day = sink.latest_day;
        std::thread::scope(|s| {
            let (done, done_rx) = mpsc::sync_channel::<(usize, Part)>(threads);
            for _ in 0..threads {
                let (done, next, ctx, meta, groups, spare) =
                    (done.clone(), &next, &ctx, &meta, &groups, &spare);
                s.spawn(move || {
                    loop {
                        let g = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if g >= groups.len() {
                            break;
                        }
                        let mut part = Sink::sharing(strict, spare);
                        part.decimal_comma = decimal_comma;
                        part.latest_day = latest_day;
                        part.rows
                            .reserve(meta.metadata().row_group(g).num_rows().max(0) as usize);
                        let err = File::open(ctx.path)
                            .map_err(|e| IngestError::io(ctx.path, e))
                            .and_then(|f| {
                                ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                                    .with_row_groups(vec![g])
                                    .with_batch_size(64 * 1024)
                                    .build()
                                    .map_err(|e| parquet_error(ctx.path, &e))
                            })
                            .and_then(|reader| ctx.read(reader, groups[g], &mut part))
                            .err();
                        if done.send((g, (part, err))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done);
            let mut ready = Ready::default();
            let mut r = Ok(());
            for (g, part) in done_rx.iter() {
                ready.put(g, part);
                r = ready.fold(sink);
                if r.is_err() {
                    break;
                }
            }
            // stop the workers early after an error; they see the closed channel or no work
            next.store(groups.len(), std::sync::atomic::Ordering::Relaxed);
            drop(done_rx);
            r
        })
    };
    progress.advance(size);
    progress.finish();
    r
}

/// The names of a Parquet file's columns.
pub(crate) fn parquet_header(meta: &ArrowReaderMetadata) -> Vec<String> {
    meta.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Asks for a text category column as a dictionary: Parquet writers store such a column
/// as a dictionary of its few distinct values, and reading it that way keeps their numbers
/// instead of writing out and hashing the text of every row.
fn categories_as_dictionary(
    meta: ArrowReaderMetadata,
    category: Option<usize>,
) -> Result<ArrowReaderMetadata, parquet::errors::ParquetError> {
    use arrow::datatypes::{Field, Schema};
    let Some(k) = category else { return Ok(meta) };
    if meta.schema().field(k).data_type() != &DataType::Utf8 {
        return Ok(meta);
    }
    let fields: Vec<Field> = meta
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if i == k {
                let dict =
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                f.with_data_type(dict)
            } else {
                f
            }
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        meta.schema().metadata().clone(),
    ));
    ArrowReaderMetadata::try_new(
        Arc::clone(meta.metadata()),
        ArrowReaderOptions::default().with_schema(schema),
    )
}

fn parquet_error(path: &Path, e: &dyn std::fmt::Display) -> IngestError {
    IngestError::Parquet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The refusal of a file whose Parquet footer cannot be read, saying what the bytes are
/// instead: the parser's own message ("invalid utf-8 sequence", "EOF") names no cause.
#[cold]
fn not_parquet(path: &Path, f: &File, size: u64, e: &dyn std::fmt::Display) -> IngestError {
    use std::io::{Seek, SeekFrom};
    const MAGIC: &[u8; 4] = b"PAR1";
    let mut head = [0u8; 512];
    let mut tail = [0u8; 4];
    let mut r = f;
    let got = r
        .seek(SeekFrom::Start(0))
        .and_then(|_| r.read(&mut head))
        .unwrap_or(0);
    let head = &head[..got];
    let tail_ok =
        size >= 4 && r.seek(SeekFrom::Start(size - 4)).is_ok() && r.read_exact(&mut tail).is_ok();
    let cause = if size < 12 {
        format!("it is only {size} bytes long")
    } else if !head.starts_with(MAGIC) {
        let text = !head.contains(&0)
            && (std::str::from_utf8(head).is_ok()
                || std::str::from_utf8(&head[..head.len().saturating_sub(3)]).is_ok());
        if text {
            "it holds text, not Parquet data: a CSV file named .parquet?".to_string()
        } else {
            "it does not start with the Parquet marker PAR1".to_string()
        }
    } else if tail_ok && &tail == b"PARE" {
        "it is encrypted".to_string()
    } else if !tail_ok || &tail != MAGIC {
        "it does not end with the Parquet marker PAR1, so it is cut short".to_string()
    } else {
        let e = e.to_string();
        let e = e.strip_prefix("Parquet error: ").unwrap_or(&e);
        format!("its footer is damaged: {}", short(e))
    };
    IngestError::NotParquet {
        path: path.to_path_buf(),
        cause,
    }
}

/// `s` cut to at most 120 characters.
fn short(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// What every row of one Parquet file is checked against.
pub(crate) struct ParquetCtx<'c> {
    pub(crate) path: &'c Path,
    pub(crate) header: &'c [String],
    pub(crate) pos: &'c Positions,
    pub(crate) date_format: &'c DateFormat,
    /// Rows in the whole source, when known (`row 12 of 500` in a reject).
    pub(crate) total_rows: Option<u64>,
    /// Columns that name a rejected row instead of its position, with their names (a database
    /// table's primary key: `order_id=1042`).
    pub(crate) keys: &'c [(String, usize)],
}

impl ParquetCtx<'_> {
    /// Validates every row of `reader` into `sink`; `row_no` rows come before it in the file.
    fn read(
        &self,
        reader: ParquetRecordBatchReader,
        row_no: u64,
        sink: &mut Sink,
    ) -> Result<(), IngestError> {
        let path = self.path;
        let mut at = row_no;
        let batches = reader.map(|batch| {
            let batch = batch.map_err(|e| IngestError::NotParquet {
                path: path.to_path_buf(),
                cause: format!("damaged data after row {at}: {}", short(&e.to_string())),
            });
            if let Ok(b) = &batch {
                at += b.num_rows() as u64;
            }
            batch
        });
        self.read_batches(batches, row_no, sink)
    }

    /// Validates every row of `batches` (columns as in `header`) into `sink`; `row_no` rows
    /// come before them in the source.
    pub(crate) fn read_batches(
        &self,
        batches: impl Iterator<Item = Result<arrow::array::RecordBatch, IngestError>>,
        mut row_no: u64,
        sink: &mut Sink,
    ) -> Result<(), IngestError> {
        let (path, header, pos, total_rows) = (self.path, self.header, self.pos, self.total_rows);
        let pq_err = |e: &dyn std::fmt::Display| parquet_error(path, e);
        let decimal_comma = sink.decimal_comma;
        let latest_day = sink.latest_day;
        for batch in batches {
            let batch = batch?;
            let n = batch.num_rows();
            // the key columns as text, made when a row of the batch is rejected
            let mut key_text: Option<Vec<arrow::array::StringArray>> = None;
            let text = |i: usize| -> Result<arrow::array::StringArray, IngestError> {
                let c = cast(batch.column(i), &DataType::Utf8)
                    .map_err(|e| pq_err(&format!("column `{}`: {e}", header[i])))?;
                Ok(c.as_string::<i32>().clone())
            };
            let num = |i: Option<usize>| -> Result<Option<NumCol>, IngestError> {
                let Some(i) = i else { return Ok(None) };
                NumCol::new(batch.column(i), decimal_comma)
                    .map(Some)
                    .map_err(|e| pq_err(&format!("column `{}`: {e}", header[i])))
            };
            let id_col = |i: usize| -> Result<IdCol, IngestError> {
                IdCol::new(batch.column(i)).map_or_else(|| text(i).map(IdCol::Text), Ok)
            };
            let ids = id_col(pos.customer_id)?;
            let dates = DateCol::new(batch.column(pos.order_date))
                .map_err(|e| pq_err(&format!("column `{}`: {e}", header[pos.order_date])))?;
            let amount = num(Some(pos.amount))?.ok_or_else(|| pq_err(&"amount column"))?;
            let amount = Scaled::new(amount);
            let order_id = pos.order_id.map(id_col).transpose()?;
            let mut category = match pos.category {
                None => None,
                Some(i) => Some(match batch.column(i).as_dictionary_opt::<Int32Type>() {
                    Some(d) if d.values().data_type() == &DataType::Utf8 => {
                        CatCol::Dict(CategoryDict::new(d))
                    }
                    _ => CatCol::Text(text(i)?),
                }),
            };
            let profit = num(pos.profit)?.map(Scaled::new);
            let cost = num(pos.cost)?.map(Scaled::new);
            let quantity = num(pos.quantity)?.map(Scaled::new);
            for r in 0..n {
                row_no += 1;
                let mut id_buf = itoa::Buffer::new();
                let id = ids.get(r, &mut id_buf).unwrap_or("");
                let order = order_id.as_ref().map_or(NO_ORDER, |c| c.fingerprint(r));
                let result = (|| -> Result<Row<'_>, (String, Why)> {
                    if id.is_empty() {
                        return Err(("customer_id".into(), MISSING_ID.into()));
                    }
                    let day = dates
                        .get(r, self.date_format)
                        .map_err(|why| ("order_date".to_string(), why))?;
                    if day.0 > latest_day {
                        return Err(("order_date".into(), implausible(day.0, latest_day)));
                    }
                    let amount = amount
                        .get(r)
                        .ok_or_else(|| ("amount".to_string(), MISSING_AMOUNT.into()))?
                        .map_err(|why| ("amount".to_string(), why))?;
                    let opt =
                        |c: &Option<Scaled>, name: &str| -> Result<Option<i64>, (String, Why)> {
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
                        order,
                        category: Category::None,
                        profit: p,
                        quantity: opt(&quantity, "quantity")?,
                    })
                })();
                match result {
                    Ok(mut row) => {
                        row.category = match &mut category {
                            None => Category::None,
                            Some(CatCol::Text(c)) => text_at(c, r).into(),
                            Some(CatCol::Dict(d)) => d.number(r, &mut sink.rows),
                        };
                        sink.hold(row);
                    }
                    Err((col, why)) => {
                        let raw = match (self.keys, total_rows) {
                            ([], Some(total)) => format!("row {row_no} of {total}"),
                            ([], None) => format!("row {row_no}"),
                            (keys, _) => {
                                if key_text.is_none() {
                                    let mut cols = Vec::with_capacity(keys.len());
                                    for (_, k) in keys {
                                        let c = cast(batch.column(*k), &DataType::Utf8)
                                            .map_err(|e| pq_err(&e))?;
                                        cols.push(c.as_string::<i32>().clone());
                                    }
                                    key_text = Some(cols);
                                }
                                let cols = key_text.as_deref().unwrap_or_default();
                                keys.iter()
                                    .zip(cols)
                                    .map(|((name, _), c)| {
                                        let v = if c.is_null(r) { "NULL" } else { c.value(r) };
                                        format!("{name}={v}")
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        };
                        sink.reject(path, row_no, &col, why, raw)?;
                    }
                }
            }
            sink.flush_when_full();
        }
        Ok(())
    }
}

/// A text category column of one batch.
enum CatCol {
    Text(arrow::array::StringArray),
    Dict(CategoryDict),
}

/// A dictionary-encoded category column of one batch, each distinct value numbered in the
/// sink's row buffer when a row first uses it (numbering all of them would add names that no
/// row has).
struct CategoryDict {
    keys: arrow::array::Int32Array,
    values: arrow::array::StringArray,
    /// Each value as numbered in the buffer (`Category::None` when blank); `None` until used.
    numbers: Vec<Option<Category<'static>>>,
}

impl CategoryDict {
    fn new(d: &arrow::array::DictionaryArray<Int32Type>) -> CategoryDict {
        let values = d.values().as_string::<i32>().clone();
        CategoryDict {
            keys: d.keys().clone(),
            numbers: vec![None; values.len()],
            values,
        }
    }

    /// The category of row `r`, numbered in `rows`, which must not be cleared during the batch.
    #[inline]
    fn number(&mut self, r: usize, rows: &mut RowBuffer) -> Category<'static> {
        if self.keys.is_null(r) {
            return Category::None;
        }
        let k = self.keys.value(r) as usize;
        match self.numbers.get(k) {
            Some(Some(c)) => *c,
            Some(None) => {
                let c = text_at(&self.values, k).map_or(Category::None, |v| {
                    Category::Number(rows.categories.number(v))
                });
                self.numbers[k] = Some(c);
                c
            }
            None => Category::None, // a key outside the dictionary; Arrow validates them
        }
    }
}

/// An id Parquet column (customer or order id). Whole numbers are kept as numbers and
/// written out as decimal text one row at a time: Arrow's cast to text would build a whole
/// string column per batch for that, and the ids would then be trimmed for nothing.
enum IdCol {
    Int(arrow::array::Int64Array),
    UInt(arrow::array::UInt64Array),
    Text(arrow::array::StringArray),
}

impl IdCol {
    /// The integer column `c` (`None` for any other type, which is read as text).
    fn new(c: &dyn Array) -> Option<IdCol> {
        use arrow::datatypes::{Int64Type, UInt64Type};
        match c.data_type() {
            DataType::UInt64 => Some(IdCol::UInt(c.as_primitive::<UInt64Type>().clone())),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => {
                let c = cast(c, &DataType::Int64).ok()?;
                Some(IdCol::Int(c.as_primitive::<Int64Type>().clone()))
            }
            _ => None,
        }
    }

    /// [`order_fingerprint`] of the order id at row `r` (`NO_ORDER` when missing); whole
    /// numbers map to it without being written out.
    fn fingerprint(&self, r: usize) -> u64 {
        match self {
            IdCol::Int(a) if !a.is_null(r) => order_fingerprint_of_number(a.value(r).into()),
            IdCol::UInt(a) if !a.is_null(r) => order_fingerprint_of_number(a.value(r).into()),
            IdCol::Int(_) | IdCol::UInt(_) => NO_ORDER,
            IdCol::Text(a) => text_at(a, r).map_or(NO_ORDER, order_fingerprint),
        }
    }

    /// Trimmed non-empty id at row `r` (`buf` holds a number's text).
    fn get<'a>(&'a self, r: usize, buf: &'a mut itoa::Buffer) -> Option<&'a str> {
        match self {
            IdCol::Int(a) => (!a.is_null(r)).then(|| buf.format(a.value(r))),
            IdCol::UInt(a) => (!a.is_null(r)).then(|| buf.format(a.value(r))),
            IdCol::Text(a) => text_at(a, r),
        }
    }
}

/// A numeric Parquet column: whole numbers, floats, decimals, or text.
enum NumCol {
    Int(arrow::array::Int64Array),
    Float(arrow::array::Float64Array),
    /// Decimals and their scale, converted exactly (a float would round `0.0000005` down).
    Decimal(arrow::array::Decimal128Array, i8),
    /// Text, and whether `,` is its decimal separator.
    Text(arrow::array::StringArray, bool),
}

impl NumCol {
    /// Column `c` as numbers; an error for a type that holds none (a boolean would read as
    /// 1 and 0, a date as days).
    fn new(c: &arrow::array::ArrayRef, decimal_comma: bool) -> Result<NumCol, String> {
        use arrow::datatypes::{Decimal128Type, Float64Type, Int64Type};
        let cast = |to: &DataType| cast(c, to).map_err(|e| e.to_string());
        Ok(match c.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => NumCol::Text(
                cast(&DataType::Utf8)?.as_string::<i32>().clone(),
                decimal_comma,
            ),
            DataType::Dictionary(_, values) => return NumCol::new(&cast(values)?, decimal_comma),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => {
                NumCol::Int(cast(&DataType::Int64)?.as_primitive::<Int64Type>().clone())
            }
            DataType::Decimal128(_, scale) => {
                NumCol::Decimal(c.as_primitive::<Decimal128Type>().clone(), *scale)
            }
            DataType::Decimal32(_, scale) | DataType::Decimal64(_, scale) => {
                let d = cast(&DataType::Decimal128(38, *scale))?;
                NumCol::Decimal(d.as_primitive::<Decimal128Type>().clone(), *scale)
            }
            // beyond 2^53 (UInt64) and 10^38 (Decimal256) only values over the limit round
            DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal256(_, _)
            | DataType::Null => NumCol::Float(
                cast(&DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            other => {
                return Err(format!(
                    "type {other} does not hold amounts; use a number, decimal or text column"
                ));
            }
        })
    }

    /// `None` = null; `Some(Err)` = bad value.
    #[inline]
    fn get(&self, r: usize) -> Option<Result<i64, Why>> {
        match self {
            // as the cast to Float64 would convert it
            NumCol::Int(a) => (!a.is_null(r)).then(|| {
                let v = a.value(r);
                to_scaled(v as f64).map_err(|why| Why::value(&v, why))
            }),
            NumCol::Float(a) => (!a.is_null(r)).then(|| {
                let v = a.value(r);
                to_scaled(v).map_err(|why| Why::value(&v, why))
            }),
            NumCol::Decimal(a, scale) => (!a.is_null(r)).then(|| {
                decimal_to_scaled(a.value(r), *scale)
                    .map_err(|why| Why::value(&a.value_as_string(r), why))
            }),
            NumCol::Text(a, decimal_comma) => {
                text_at(a, r)?;
                let v = a.value(r);
                Some(parse_scaled(v, *decimal_comma).map_err(|why| Why::value(&v, why)))
            }
        }
    }
}

/// A numeric column of one batch, converted to micro-units in one pass when every value is
/// present and valid; otherwise (rare) each row goes through [`NumCol::get`] and its messages.
struct Scaled {
    col: NumCol,
    /// Every row's value, or empty.
    values: Vec<i64>,
}

impl Scaled {
    fn new(col: NumCol) -> Scaled {
        let values = match &col {
            NumCol::Float(a) if a.null_count() == 0 => to_scaled_all(a.values().iter().copied()),
            // as the cast to Float64 would convert them
            NumCol::Int(a) if a.null_count() == 0 => {
                to_scaled_all(a.values().iter().map(|&v| v as f64))
            }
            NumCol::Decimal(a, scale) if a.null_count() == 0 => a
                .values()
                .iter()
                .map(|&v| decimal_to_scaled(v, *scale).ok())
                .collect(),
            _ => None,
        };
        Scaled {
            col,
            values: values.unwrap_or_default(),
        }
    }

    /// As [`NumCol::get`].
    #[inline]
    fn get(&self, r: usize) -> Option<Result<i64, Why>> {
        match self.values.get(r) {
            Some(&v) => Some(Ok(v)),
            None => self.col.get(r),
        }
    }
}

/// Decimal `v` × 10^-`scale` in micro-units, rounded half away from zero, exactly; too large
/// beyond the limit of [`to_scaled`] (any scale, negative ones included, without overflow).
fn decimal_to_scaled(v: i128, scale: i8) -> Result<i64, Said> {
    const LIMIT: u128 = 1_000_000_000 * 1_000_000;
    if v == 0 {
        return Ok(0);
    }
    let shift = 6 - i32::from(scale); // digits to append; negative: to drop
    let micro = if shift >= 0 {
        10i128
            .checked_pow(shift.unsigned_abs())
            .and_then(|p| v.checked_mul(p))
            .ok_or(TOO_LARGE)?
    } else {
        match 10i128.checked_pow(shift.unsigned_abs()) {
            None => 0, // |v| < 2^127 < 10^39: under half a micro-unit
            Some(p) => {
                let (q, rest) = (v / p, v % p);
                let up = rest.unsigned_abs() * 2 >= p.unsigned_abs();
                q + if up { v.signum() } else { 0 }
            }
        }
    };
    if micro.unsigned_abs() > LIMIT {
        return Err(TOO_LARGE);
    }
    i64::try_from(micro).map_err(|_| TOO_LARGE)
}

/// A date Parquet column: native dates/timestamps, `YYYYMMDD` integers or text.
enum DateCol {
    Days(arrow::array::Date32Array),
    /// Date64 or a timestamp: `per_sec` ticks a second since 1970-01-01 00:00 UTC (or local
    /// wall time without a zone), the day taken in `zone`.
    Ticks {
        ticks: arrow::array::Int64Array,
        per_sec: i64,
        zone: Zone,
    },
    Text(arrow::array::StringArray),
    /// A column with no values at all (`null` type: every row is missing its date).
    Missing,
}

/// The time zone of a timestamp column.
#[derive(Clone, Copy)]
enum Zone {
    /// None (local wall time), UTC or a fixed offset: seconds to add.
    Fixed(i64),
    /// A named zone (`Asia/Shanghai`), whose offset depends on the instant.
    Named(arrow::array::timezone::Tz),
}

impl Zone {
    fn new(tz: Option<&str>) -> Result<Zone, String> {
        use arrow::array::temporal_conversions::as_datetime_with_timezone;
        use arrow::datatypes::TimestampSecondType;
        let Some(name) = tz else {
            return Ok(Zone::Fixed(0));
        };
        let tz: arrow::array::timezone::Tz = name.parse().map_err(|e| {
            format!(
                "time zone `{name}` is not known ({e}); write the timestamps in UTC, with an \
                 offset such as +08:00 or with a zone name such as Asia/Shanghai"
            )
        })?;
        let name = name.trim();
        if name.starts_with(['+', '-']) || ["UTC", "Z", "Etc/UTC", "GMT"].contains(&name) {
            // a fixed offset: the same at every instant
            let at = as_datetime_with_timezone::<TimestampSecondType>(0, tz)
                .ok_or_else(|| format!("time zone `{name}` has no offset at 1970-01-01"))?;
            Ok(Zone::Fixed(
                (at.naive_local() - at.naive_utc()).num_seconds(),
            ))
        } else {
            Ok(Zone::Named(tz))
        }
    }

    /// The local day of `secs` since 1970-01-01 UTC, `None` when it cannot be in range.
    fn day(self, secs: i64) -> Option<i64> {
        use arrow::array::temporal_conversions::as_datetime_with_timezone;
        use arrow::datatypes::{Date32Type, TimestampSecondType};
        match self {
            Zone::Fixed(offset) => Some(secs.checked_add(offset)?.div_euclid(86_400)),
            Zone::Named(tz) => {
                let utc = secs.div_euclid(86_400);
                // offsets are under a day: outside these days the local day is out of
                // range anyway, and chrono's own range (which could panic) is never neared
                let near = |d: i64| i32::try_from(d).is_ok_and(|d| dates::in_range(Day(d)));
                if !(near(utc - 1) || near(utc) || near(utc + 1)) {
                    return Some(utc);
                }
                let at = as_datetime_with_timezone::<TimestampSecondType>(secs, tz)?;
                Some(i64::from(Date32Type::from_naive_date(
                    at.naive_local().date(),
                )))
            }
        }
    }
}

/// `day` (days since 1970-01-01) as a date, where it has one: for a reject reason, without
/// the day arithmetic that overflows far from 1970.
#[cold]
fn date_of_day(day: i64) -> Option<String> {
    i32::try_from(day)
        .ok()
        .and_then(arrow::array::temporal_conversions::date32_to_datetime)
        .map(|d| d.date().to_string())
}

impl DateCol {
    fn new(c: &dyn Array) -> Result<DateCol, String> {
        use arrow::datatypes::{Date32Type, Int64Type, TimeUnit};
        let ticks = |c: &dyn Array, per_sec: i64, tz: Option<&str>| -> Result<DateCol, String> {
            let zone = Zone::new(tz)?;
            let t = cast(c, &DataType::Int64).map_err(|e| e.to_string())?;
            Ok(DateCol::Ticks {
                ticks: t.as_primitive::<Int64Type>().clone(),
                per_sec,
                zone,
            })
        };
        match c.data_type() {
            DataType::Date32 => Ok(DateCol::Days(c.as_primitive::<Date32Type>().clone())),
            DataType::Date64 => ticks(c, 1000, None),
            DataType::Timestamp(unit, tz) => {
                let per_sec = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                ticks(c, per_sec, tz.as_deref())
            }
            DataType::Null => Ok(DateCol::Missing),
            DataType::Dictionary(_, values) => {
                let c = cast(c, values).map_err(|e| e.to_string())?;
                DateCol::new(&c)
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

    fn get(&self, r: usize, fmt: &DateFormat) -> Result<Day, Why> {
        // a value's reason with its text in each language
        let out_of = |en: &str, zh: &str| Why {
            en: DateError::OutOfRange.reason(en, fmt).en,
            zh: DateError::OutOfRange.reason(zh, fmt).zh,
        };
        let out_of_range = |day: i64| match date_of_day(day) {
            Some(d) => out_of(&d, &d),
            None => out_of(
                &format!("{day} days from 1970-01-01"),
                &format!("自 1970-01-01 起第 {day} 天"),
            ),
        };
        match self {
            DateCol::Days(a) => {
                if a.is_null(r) {
                    Err(MISSING_DATE.into())
                } else if dates::in_range(Day(a.value(r))) {
                    Ok(Day(a.value(r)))
                } else {
                    Err(out_of_range(a.value(r).into()))
                }
            }
            DateCol::Ticks {
                ticks,
                per_sec,
                zone,
            } => {
                if ticks.is_null(r) {
                    return Err(MISSING_DATE.into());
                }
                let v = ticks.value(r);
                match zone.day(v.div_euclid(*per_sec)) {
                    Some(day) => match i32::try_from(day) {
                        Ok(d) if dates::in_range(Day(d)) => Ok(Day(d)),
                        _ => Err(out_of_range(day)),
                    },
                    None => Err(out_of(
                        &format!("{v} ({per_sec} a second from 1970-01-01)"),
                        &format!("{v}（自 1970-01-01 起，每秒 {per_sec} 个刻度）"),
                    )),
                }
            }
            DateCol::Text(a) => {
                if text_at(a, r).is_none() {
                    return Err(MISSING_DATE.into());
                }
                let v = a.value(r);
                dates::parse(fmt, v).map_err(|e| e.reason(v, fmt))
            }
            DateCol::Missing => Err(MISSING_DATE.into()),
        }
    }
}

/// Trimmed non-empty text at row `r` (`None` for null or blank).
fn text_at(a: &arrow::array::StringArray, r: usize) -> Option<&str> {
    if a.is_null(r) {
        return None;
    }
    Some(trim(a.value(r))).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_dates_are_the_format_s() {
        let f = DateFormat::default();
        let mut d = DateParser::new(&f);
        for s in [
            "2024-01-31",
            "2024-01-31",
            "2024-02-30",
            "2024-02-30",
            "2024-03-01",
            "",
        ] {
            assert_eq!(d.parse(s), dates::parse(&f, s), "{s:?}");
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{3000}甲\u{3000}",
            "甲",
            "a\u{a0}",
            "\u{1}x\u{1}",
            "\t9\r",
            "12.5",
            "x y",
            "\u{85}z",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    type Outcome = Result<(RowBuffer, u64, u64, u64, Vec<Reject>, i32, i32), String>;

    fn outcome(r: Result<(), IngestError>, sink: Sink) -> Outcome {
        r.map_err(|e| e.to_string())?;
        let s = &sink.stats;
        Ok((
            sink.rows.clone(),
            s.read,
            s.accepted,
            s.rejected,
            sink.rejects,
            sink.min_day,
            sink.max_day,
        ))
    }

    /// Chunked parsing on several threads gives exactly what one pass gives: rows in order,
    /// accounting, rejects with their lines, and the first error.
    #[test]
    fn chunked_csv_equals_one_pass() {
        let long: String = (0..200)
            .map(|i| format!("{},2024-01-{:02},{}.5,c{}\n", i % 7, 1 + i % 28, i, i % 3))
            .collect();
        let cases: Vec<Vec<u8>> = vec![
            format!("customer_id,order_date,amount,category\n{long}").into_bytes(),
            format!("\u{feff}customer_id,order_date,amount\r\n1,2024-01-01,5\r\n\r\n  \r\n2,2024-01-02,x\r\n{long}").into_bytes(),
            format!("customer_id,order_date,amount\n{long}3,2024-02-30,1\n,2024-01-01,1\n4,2024-01-01\n{long}").into_bytes(),
            format!("customer_id,order_date,amount,category\n{long}\"5\",2024-01-01,\"1,000\",\"a\nb\"\n{long}").into_bytes(),
            format!("customer_id,order_date,amount\n{long}\"unterminated,2024-01-01,1\n{long}").into_bytes(),
            [format!("customer_id,order_date,amount\n{long}").as_bytes(), b"\xd5\xc5,2024-01-01,1\n", long.as_bytes()].concat(),
            format!("customer_id,order_date,amount\n{long}").replace('\n', "\r").into_bytes(),
            format!("customer_id,order_date,amount\n{}", long.trim_end()).into_bytes(),
            long.clone().into_bytes(),
            b"\n\n  \n".to_vec(),
            b"".to_vec(),
            b"customer_id,order_date,amount\n".to_vec(),
            b"a,b,c\n1,2,3\n".to_vec(),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (k, bytes) in cases.iter().enumerate() {
            let path = dir.path().join(format!("case{k}.csv"));
            std::fs::write(&path, bytes).unwrap();
            for no_header in [false, true] {
                for strict in [false, true] {
                    let opts = CsvOptions {
                        no_header,
                        ..CsvOptions::default()
                    };
                    let mut mapping = ColumnMapping::default();
                    if no_header {
                        mapping.customer_id = "column_1".into();
                        mapping.order_date = "column_2".into();
                        mapping.amount = "column_3".into();
                    }
                    let mut one = Sink::new(strict);
                    let r =
                        read_csv_sequential(&path, &opts, &mapping, &mut one, &crate::NoProgress);
                    let want = outcome(r, one);
                    for chunk in [1, 7, 64, 1000, 1 << 20] {
                        for threads in [1, 3] {
                            let mut many = Sink::new(strict);
                            let r = read_delimited_parallel(
                                &path,
                                b',',
                                &opts,
                                &mapping,
                                &mut many,
                                &crate::NoProgress,
                                chunk,
                                threads,
                            );
                            let got = outcome(r, many);
                            assert_eq!(
                                got, want,
                                "case {k}, no_header {no_header}, strict {strict}, chunk {chunk}, threads {threads}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
        ))]

        /// Random rows, quotes, line ends and bad bytes: the chunked reader gives what one pass
        /// gives, for any chunk size.
        #[test]
        fn chunked_csv_equals_one_pass_on_random_text(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "1,2024-01-01,5\n", "2,2024-01-02,x\r\n", "3,2024-01-03,7\r", "\"", ",", "\n",
                "\r", "\r\n", " ", "4,2024-01-04,1,9\n", "\u{fffd}", "5,\"2024-01-05\",\"1,000\"\n",
            ]), 0..60),
            bad_byte in proptest::option::of(0usize..60),
            chunk in 1usize..200,
        ) {
            let mut bytes = b"customer_id,order_date,amount\n".to_vec();
            for (i, p) in pieces.iter().enumerate() {
                if bad_byte == Some(i) {
                    bytes.push(0xff);
                }
                bytes.extend_from_slice(p.as_bytes());
            }
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let path = dir.path().join("r.csv");
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
            let (opts, mapping) = (CsvOptions::default(), ColumnMapping::default());
            let mut one = Sink::new(false);
            let r = read_csv_sequential(&path, &opts, &mapping, &mut one, &crate::NoProgress);
            let want = outcome(r, one);
            let mut many = Sink::new(false);
            let r = read_delimited_parallel(
                &path, b',', &opts, &mapping, &mut many, &crate::NoProgress, chunk, 2,
            );
            proptest::prop_assert_eq!(outcome(r, many), want);
        }
    }
}
