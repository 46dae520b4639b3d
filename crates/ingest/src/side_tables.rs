//! Side tables joined on customer id: attributes, satisfaction scores, leads.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use clientele_core::{ColumnData, CustomerTable, DateFormat};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::delimited::Records;
use crate::options::Delimiter;
use crate::reader::open_text;
use crate::transactions::parse_scaled;
use crate::{IngestError, IngestOptions, NoProgress, SourceFormat};

/// What happened to one side table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SideTableStats {
    /// `attributes`, `satisfaction` or `leads`.
    pub kind: String,
    /// The file.
    pub file: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows that matched a customer in the table.
    pub matched: u64,
    /// Rows skipped, with the reason counts (e.g. duplicate id, bad score).
    pub skipped: Vec<(String, u64)>,
    /// Columns added to the customer table.
    pub columns_added: Vec<String>,
}

/// A side table as text: its header and rows with their line numbers (a Parquet file's rows
/// numbered from 1).
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    /// Column names.
    pub header: Vec<String>,
    /// Rows: line number and fields.
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Which side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideKind {
    /// Customer attributes (`[source] attributes`).
    Attributes,
    /// Satisfaction scores (`[source] satisfaction`).
    Satisfaction,
    /// Leads (`[source] leads`).
    Leads,
}

/// The side tables of `opts`, in the order they are joined.
pub fn side_tables_of(opts: &IngestOptions) -> Vec<(SideKind, &Path)> {
    [
        (SideKind::Attributes, &opts.attributes),
        (SideKind::Satisfaction, &opts.satisfaction),
        (SideKind::Leads, &opts.leads),
    ]
    .into_iter()
    .filter_map(|(k, p)| p.as_deref().map(|p| (k, p)))
    .collect()
}

/// Reads a side table row by row, as the join reads it, handing each row to `row` with its
/// line number; returns the header. For a table joined part by part, which must not hold a
/// large side table in memory.
pub fn read_side_table(
    path: &Path,
    opts: &IngestOptions,
    mut row: impl FnMut(&[String], u64, Vec<String>) -> Result<(), IngestError>,
) -> Result<Vec<String>, IngestError> {
    if SourceFormat::of(path) == SourceFormat::Parquet {
        return read_parquet_table(path, row);
    }
    let (reader, _) = open_text(path, opts.csv.encoding, &NoProgress)?;
    let mut header: Option<Vec<String>> = None;
    match opts.csv.delimiter {
        Delimiter::Whitespace => {
            for (i, line) in std::io::BufRead::lines(reader).enumerate() {
                let line = line.map_err(|e| IngestError::SideTable {
                    path: path.into(),
                    reason: format!("line {}: {e} (wrong --encoding?)", i + 1),
                })?;
                let f: Vec<String> = line.split_ascii_whitespace().map(str::to_string).collect();
                if f.is_empty() {
                    continue;
                }
                match &header {
                    None => header = Some(f),
                    Some(h) => row(h, i as u64 + 1, f)?,
                }
            }
        }
        Delimiter::Byte(b) => {
            let mut rdr = Records::new(b, reader);
            let bad = |line: u64, e: &dyn std::fmt::Display| IngestError::SideTable {
                path: path.into(),
                reason: format!("line {line}: {e} (wrong --encoding or delimiter?)"),
            };
            while let Some(rec) = rdr.next_record().map_err(|e| bad(e.line, &e.error))? {
                let line = rec.line;
                let text = rec
                    .text()
                    .ok_or_else(|| bad(line, &"the text is not UTF-8"))?;
                let f: Vec<String> = (0..text.len())
                    .map(|i| text.field(i).trim().to_string())
                    .collect();
                match &header {
                    None => header = Some(f),
                    Some(h) => row(h, line, f)?,
                }
            }
        }
    }
    header.ok_or_else(|| IngestError::EmptyFile(path.to_path_buf()))
}

fn read_text_table(path: &Path, opts: &IngestOptions) -> Result<TextTable, IngestError> {
    let mut rows = Vec::new();
    let header = read_side_table(path, opts, |_, line, f| {
        rows.push((line, f));
        Ok(())
    })?;
    Ok(TextTable { header, rows })
}

fn read_parquet_table(
    path: &Path,
    mut row: impl FnMut(&[String], u64, Vec<String>) -> Result<(), IngestError>,
) -> Result<Vec<String>, IngestError> {
    let err = |e: &dyn std::fmt::Display| IngestError::Parquet {
        path: path.into(),
        reason: e.to_string(),
    };
    let f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| err(&e))?;
    let header: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut n = 0u64;
    for batch in b.build().map_err(|e| err(&e))? {
        let batch = batch.map_err(|e| err(&e))?;
        let cols = batch
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).map_err(|e| err(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            n += 1;
            let f = cols
                .iter()
                .map(|c| {
                    let s = c.as_string::<i32>();
                    if s.is_null(r) {
                        String::new()
                    } else {
                        s.value(r).trim().to_string()
                    }
                })
                .collect();
            row(&header, n, f)?;
        }
    }
    Ok(header)
}

/// Where a side table's customer id is: the column named as the transactions' id column,
/// else `customer_id` in any case; an error naming the columns found otherwise.
pub fn side_id_position(
    header: &[String],
    path: &Path,
    opts: &IngestOptions,
) -> Result<usize, IngestError> {
    let id_col = opts.columns.customer_id.as_str();
    header
        .iter()
        .position(|h| h == id_col)
        .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case("customer_id")))
        .ok_or_else(|| IngestError::SideTable {
            path: path.into(),
            reason: format!(
                "no customer id column `{id_col}`; columns found: {}. Name the id column `{id_col}` or `customer_id`",
                header.join(", ")
            ),
        })
}

/// Infers the narrowest type that every non-empty value fits: int, float, date, else text
/// (the decision [`SideJoin::finish`] makes over parts).
fn typed_column(values: Vec<Option<String>>) -> ColumnData {
    let ty = TypeFlags::of(&values).decide();
    typed_as(values.iter().map(Option::as_deref), ty)
}

/// Joins all configured side tables onto `table`.
pub(crate) fn join_all(
    table: &mut CustomerTable,
    opts: &IngestOptions,
    stats: &mut Vec<SideTableStats>,
    leads_out: &mut Vec<String>,
) -> Result<(), IngestError> {
    let kinds = side_tables_of(opts);
    if kinds.is_empty() {
        return Ok(()); // nothing to join: skip indexing millions of ids
    }
    let mut tables = SidePart::default();
    for (kind, path) in kinds {
        *tables.slot(kind) = Some(read_text_table(path, opts)?);
    }
    let joined = join_tables(table, opts, &tables, Typing::Infer)?;
    let (side, leads, _) = joined.finish();
    stats.extend(side);
    leads_out.extend(leads);
    Ok(())
}

/// The rows of the side tables that belong to one part of the customers (all rows of an id
/// are in the part of that customer: [`crate::part_of`]), each with the table's header.
#[derive(Debug, Clone, Default)]
pub struct SidePart {
    /// Attribute rows.
    pub attributes: Option<TextTable>,
    /// Satisfaction rows.
    pub satisfaction: Option<TextTable>,
    /// Lead rows.
    pub leads: Option<TextTable>,
}

impl SidePart {
    /// The table of `kind`.
    pub fn slot(&mut self, kind: SideKind) -> &mut Option<TextTable> {
        match kind {
            SideKind::Attributes => &mut self.attributes,
            SideKind::Satisfaction => &mut self.satisfaction,
            SideKind::Leads => &mut self.leads,
        }
    }
}

/// Joins one part's side rows onto that part's customer table, as [`crate::load`] joins
/// whole tables: the same columns, except that attribute columns stay text until every part
/// is seen (their type is decided on the whole column: [`SideJoin::finish`] gives it, and
/// [`typed_as`] converts). Add the parts' [`SideJoin`]s up with [`SideJoin::add`].
pub fn join_side_part(
    table: &mut CustomerTable,
    opts: &IngestOptions,
    part: &SidePart,
) -> Result<SideJoin, IngestError> {
    join_tables(table, opts, part, Typing::Text)
}

/// The type an attribute column gets: the narrowest every present value fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// Whole numbers.
    Int,
    /// Finite real numbers.
    Float,
    /// Dates in any format [`DateFormat::Auto`] reads.
    Date,
    /// Anything else, or no value at all.
    Text,
}

/// Which types every present value of a column fits so far: added up over parts, the same
/// decision as on the whole column.
#[derive(Debug, Clone, Copy)]
struct TypeFlags {
    present: bool,
    int: bool,
    float: bool,
    date: bool,
}

impl Default for TypeFlags {
    fn default() -> TypeFlags {
        TypeFlags {
            present: false,
            int: true,
            float: true,
            date: true,
        }
    }
}

impl TypeFlags {
    fn of(values: &[Option<String>]) -> TypeFlags {
        let mut f = TypeFlags::default();
        for v in values.iter().flatten() {
            f.present = true;
            f.int = f.int && v.parse::<i64>().is_ok();
            f.float = f.float && v.parse::<f64>().is_ok_and(f64::is_finite);
            f.date = f.date && DateFormat::Auto.parse(v).is_some();
        }
        f
    }

    fn add(&mut self, o: TypeFlags) {
        self.present |= o.present;
        self.int &= o.int;
        self.float &= o.float;
        self.date &= o.date;
    }

    fn decide(self) -> AttributeType {
        match self {
            TypeFlags { present: false, .. } => AttributeType::Text,
            TypeFlags { int: true, .. } => AttributeType::Int,
            TypeFlags { float: true, .. } => AttributeType::Float,
            TypeFlags { date: true, .. } => AttributeType::Date,
            _ => AttributeType::Text,
        }
    }
}

/// An attribute column's text values as `ty` ([`SideJoin::finish`] decides it; every present
/// value then parses).
pub fn typed_as<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    ty: AttributeType,
) -> ColumnData {
    match ty {
        AttributeType::Int => {
            ColumnData::Int(values.map(|v| v.and_then(|s| s.parse().ok())).collect())
        }
        AttributeType::Float => {
            ColumnData::Float(values.map(|v| v.and_then(|s| s.parse().ok())).collect())
        }
        AttributeType::Date => ColumnData::Date(
            values
                .map(|v| v.and_then(|s| DateFormat::Auto.parse(s)))
                .collect(),
        ),
        AttributeType::Text => ColumnData::Text(values.collect()),
    }
}

/// Whether attribute columns are typed as they are joined (a whole table) or stay text (a
/// part: [`join_side_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typing {
    Infer,
    Text,
}

/// What joining side tables found, to be added up over parts.
#[derive(Debug, Clone, Default)]
pub struct SideJoin {
    attributes: Option<Counted>,
    satisfaction: Option<Counted>,
    leads: Option<Counted>,
    /// Attribute columns added, with the types their values fit.
    columns: Vec<(String, TypeFlags)>,
    /// Lead ids without a purchase (sorted by [`SideJoin::finish`]).
    leads_out: Vec<String>,
}

/// One side table's counts.
#[derive(Debug, Clone, Default)]
struct Counted {
    file: String,
    rows: u64,
    matched: u64,
    /// duplicate id (attributes, leads) or missing score (satisfaction)
    first_skip: u64,
    /// id not among the customers (attributes, satisfaction)
    unknown: u64,
    columns: Vec<String>,
}

impl Counted {
    fn add(&mut self, o: &Counted) {
        self.rows += o.rows;
        self.matched += o.matched;
        self.first_skip += o.first_skip;
        self.unknown += o.unknown;
    }
}

impl SideJoin {
    /// Adds another part's.
    pub fn add(&mut self, o: SideJoin) {
        for (mine, theirs) in [
            (&mut self.attributes, &o.attributes),
            (&mut self.satisfaction, &o.satisfaction),
            (&mut self.leads, &o.leads),
        ] {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => m.add(t),
                (None, Some(t)) => *mine = Some(t.clone()),
                _ => {}
            }
        }
        if self.columns.is_empty() {
            self.columns = o.columns;
        } else {
            for ((_, mine), (_, theirs)) in self.columns.iter_mut().zip(o.columns) {
                mine.add(theirs);
            }
        }
        self.leads_out.extend(o.leads_out);
    }

    /// The side tables' accounting as a run in memory reports it, the lead ids without a
    /// purchase (sorted), and each attribute column with its type.
    pub fn finish(
        mut self,
    ) -> (
        Vec<SideTableStats>,
        Vec<String>,
        Vec<(String, AttributeType)>,
    ) {
        let mut stats = Vec::new();
        let st = |kind: &str, c: &Counted| SideTableStats {
            kind: kind.into(),
            file: c.file.clone(),
            rows: c.rows,
            matched: c.matched,
            skipped: Vec::new(),
            columns_added: c.columns.clone(),
        };
        if let Some(c) = &self.attributes {
            let mut s = st("attributes", c);
            push_skip(
                &mut s,
                "duplicate customer id (first row kept)",
                c.first_skip,
            );
            push_skip(&mut s, UNKNOWN_ID, c.unknown);
            stats.push(s);
        }
        if let Some(c) = &self.satisfaction {
            let mut s = st("satisfaction", c);
            push_skip(&mut s, "missing or non-numeric score", c.first_skip);
            push_skip(&mut s, UNKNOWN_ID, c.unknown);
            stats.push(s);
        }
        if let Some(c) = &self.leads {
            let mut s = st("leads", c);
            push_skip(&mut s, "duplicate lead id", c.first_skip);
            stats.push(s);
        }
        self.leads_out.sort();
        let types = self
            .columns
            .into_iter()
            .map(|(name, f)| (name, f.decide()))
            .collect();
        (stats, self.leads_out, types)
    }
}

fn join_tables(
    table: &mut CustomerTable,
    opts: &IngestOptions,
    tables: &SidePart,
    typing: Typing,
) -> Result<SideJoin, IngestError> {
    let mut out = SideJoin::default();
    if tables.attributes.is_none() && tables.satisfaction.is_none() && tables.leads.is_none() {
        return Ok(out);
    }
    let index: HashMap<&str, usize, foldhash::fast::RandomState> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s, i))
        .collect();
    let path_of = |p: &Option<std::path::PathBuf>| p.clone().unwrap_or_default();
    let mut new_cols: Vec<(String, ColumnData)> = Vec::new();
    if let Some(t) = &tables.attributes {
        let path = path_of(&opts.attributes);
        let idp = side_id_position(&t.header, &path, opts)?;
        let mut c = Counted {
            file: path.display().to_string(),
            rows: t.rows.len() as u64,
            ..Counted::default()
        };
        let mut cells: Vec<Vec<Option<String>>> = vec![vec![None; index.len()]; t.header.len()];
        let mut seen = HashSet::new();
        for (_, row) in &t.rows {
            let Some(id) = row.get(idp).filter(|s| !s.is_empty()) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                c.first_skip += 1;
                continue;
            }
            let Some(&ci) = index.get(id.as_str()) else {
                c.unknown += 1;
                continue;
            };
            c.matched += 1;
            for (j, col) in cells.iter_mut().enumerate() {
                col[ci] = row.get(j).filter(|s| !s.is_empty()).cloned();
            }
        }
        for (j, values) in cells.into_iter().enumerate() {
            if j == idp {
                continue;
            }
            let mut name = t.header[j].clone();
            if name.is_empty() {
                name = format!("column_{}", j + 1);
            }
            if table.get(&name).is_some() || new_cols.iter().any(|(n, _)| *n == name) {
                name = format!("attr_{name}");
            }
            c.columns.push(name.clone());
            let data = match typing {
                Typing::Infer => typed_column(values),
                Typing::Text => {
                    out.columns.push((name.clone(), TypeFlags::of(&values)));
                    ColumnData::Text(values.into())
                }
            };
            new_cols.push((name, data));
        }
        out.attributes = Some(c);
    }
    if let Some(t) = &tables.satisfaction {
        let path = path_of(&opts.satisfaction);
        let idp = side_id_position(&t.header, &path, opts)?;
        let sp = t
            .header
            .iter()
            .position(|h| *h == opts.satisfaction_score)
            .ok_or_else(|| {
                let likely = crate::hints::candidates("satisfaction", &t.header, &[idp]);
                let name = likely.first().map_or("NAME", String::as_str);
                IngestError::SideTable {
                    path: path.clone(),
                    reason: format!(
                        "no score column `{}`; columns found: {}.{} Pass {} (or \
                         `satisfaction_score = {name:?}` in [source])",
                        opts.satisfaction_score,
                        t.header.join(", "),
                        match likely.first() {
                            Some(c) => format!(" `{c}` looks like the score."),
                            None => String::new(),
                        },
                        crate::hints::flag_fix("satisfaction-score", name),
                    ),
                }
            })?;
        let mut c = Counted {
            file: path.display().to_string(),
            rows: t.rows.len() as u64,
            columns: vec!["satisfaction".into(), "satisfaction_count".into()],
            ..Counted::default()
        };
        let mut sum = vec![0.0f64; index.len()];
        let mut cnt = vec![0i64; index.len()];
        for (_, row) in &t.rows {
            let id = row.get(idp).map(String::as_str).unwrap_or("");
            let score = row
                .get(sp)
                .and_then(|s| parse_scaled(s, opts.decimal_comma).ok())
                .map(|v| v as f64 / crate::MONEY_SCALE);
            let Some(score) = score else {
                c.first_skip += 1;
                continue;
            };
            let Some(&ci) = index.get(id) else {
                c.unknown += 1;
                continue;
            };
            c.matched += 1;
            sum[ci] += score;
            cnt[ci] += 1;
        }
        let mean = sum
            .iter()
            .zip(&cnt)
            .map(|(s, &n)| (n > 0).then(|| s / n as f64))
            .collect();
        new_cols.push(("satisfaction".into(), ColumnData::Float(mean)));
        new_cols.push(("satisfaction_count".into(), ColumnData::Int(cnt.into())));
        out.satisfaction = Some(c);
    }
    if let Some(t) = &tables.leads {
        let path = path_of(&opts.leads);
        let idp = side_id_position(&t.header, &path, opts)?;
        let mut c = Counted {
            file: path.display().to_string(),
            rows: t.rows.len() as u64,
            ..Counted::default()
        };
        let mut seen = HashSet::new();
        for (_, row) in &t.rows {
            let Some(id) = row.get(idp).filter(|s| !s.is_empty()) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                c.first_skip += 1;
                continue;
            }
            if index.contains_key(id.as_str()) {
                c.matched += 1;
            } else {
                out.leads_out.push(id.clone());
            }
        }
        out.leads = Some(c);
    }
    drop(index);
    for (name, data) in new_cols {
        table
            .push(name, data)
            .map_err(|e| IngestError::Engine(e.to_string()))?;
    }
    Ok(out)
}

/// Why a row whose customer id has no purchase is skipped.
const UNKNOWN_ID: &str = "customer id not among customers with purchases";

fn push_skip(st: &mut SideTableStats, why: &str, n: u64) {
    if n > 0 {
        st.skipped.push((why.to_string(), n));
    }
}
