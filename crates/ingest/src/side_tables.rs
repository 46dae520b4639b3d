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

/// A plain text table: header and rows with their line numbers.
struct TextTable {
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn read_text_table(path: &Path, opts: &IngestOptions) -> Result<TextTable, IngestError> {
    if SourceFormat::of(path) == SourceFormat::Parquet {
        return read_parquet_table(path);
    }
    let (reader, _) = open_text(path, opts.csv.encoding, &NoProgress)?;
    let mut rows = Vec::new();
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
                if header.is_none() {
                    header = Some(f);
                } else {
                    rows.push((i as u64 + 1, f));
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
                if header.is_none() {
                    header = Some(f);
                } else {
                    rows.push((line, f));
                }
            }
        }
    }
    let header = header.ok_or_else(|| IngestError::EmptyFile(path.to_path_buf()))?;
    Ok(TextTable { header, rows })
}

fn read_parquet_table(path: &Path) -> Result<TextTable, IngestError> {
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
    let mut rows = Vec::new();
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
            rows.push((n, f));
        }
    }
    Ok(TextTable { header, rows })
}

fn id_position(t: &TextTable, path: &Path, id_col: &str) -> Result<usize, IngestError> {
    t.header
        .iter()
        .position(|h| h == id_col)
        .or_else(|| t.header.iter().position(|h| h.eq_ignore_ascii_case("customer_id")))
        .ok_or_else(|| IngestError::SideTable {
            path: path.into(),
            reason: format!(
                "no customer id column `{id_col}`; columns found: {}. Name the id column `{id_col}` or `customer_id`",
                t.header.join(", ")
            ),
        })
}

/// Infers the narrowest type that every non-empty value fits: int, float, date, else text.
fn typed_column(values: Vec<Option<String>>) -> ColumnData {
    let present = || values.iter().flatten();
    if present().next().is_none() {
        return ColumnData::Text(values.into());
    }
    if present().all(|v| v.parse::<i64>().is_ok()) {
        return ColumnData::Int(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|s| s.parse().ok()))
                .collect(),
        );
    }
    if present().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)) {
        return ColumnData::Float(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|s| s.parse().ok()))
                .collect(),
        );
    }
    if present().all(|v| DateFormat::Auto.parse(v).is_some()) {
        return ColumnData::Date(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|s| DateFormat::Auto.parse(s)))
                .collect(),
        );
    }
    ColumnData::Text(values.into())
}

/// Joins all configured side tables onto `table`.
pub(crate) fn join_all(
    table: &mut CustomerTable,
    opts: &IngestOptions,
    stats: &mut Vec<SideTableStats>,
    leads_out: &mut Vec<String>,
) -> Result<(), IngestError> {
    if opts.attributes.is_none() && opts.satisfaction.is_none() && opts.leads.is_none() {
        return Ok(()); // nothing to join: skip indexing millions of ids
    }
    let index: HashMap<&str, usize, foldhash::fast::RandomState> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s, i))
        .collect();
    let id_col = opts.columns.customer_id.as_str();
    let mut new_cols: Vec<(String, ColumnData)> = Vec::new();
    if let Some(path) = &opts.attributes {
        let t = read_text_table(path, opts)?;
        let idp = id_position(&t, path, id_col)?;
        let mut st = stat("attributes", path, t.rows.len());
        let mut cells: Vec<Vec<Option<String>>> = vec![vec![None; index.len()]; t.header.len()];
        let mut seen = HashSet::new();
        let (mut dup, mut unknown) = (0u64, 0u64);
        for (_, row) in &t.rows {
            let Some(id) = row.get(idp).filter(|s| !s.is_empty()) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                dup += 1;
                continue;
            }
            let Some(&ci) = index.get(id.as_str()) else {
                unknown += 1;
                continue;
            };
            st.matched += 1;
            for (j, col) in cells.iter_mut().enumerate() {
                col[ci] = row.get(j).filter(|s| !s.is_empty()).cloned();
            }
        }
        push_skip(&mut st, "duplicate customer id (first row kept)", dup);
        push_skip(
            &mut st,
            "customer id not among customers with purchases",
            unknown,
        );
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
            st.columns_added.push(name.clone());
            new_cols.push((name, typed_column(values)));
        }
        stats.push(st);
    }
    if let Some(path) = &opts.satisfaction {
        let t = read_text_table(path, opts)?;
        let idp = id_position(&t, path, id_col)?;
        let sp = t
            .header
            .iter()
            .position(|h| *h == opts.satisfaction_score)
            .ok_or_else(|| {
                let likely = crate::hints::candidates("satisfaction", &t.header, &[idp]);
                let name = likely.first().map_or("NAME", String::as_str);
                IngestError::SideTable {
                    path: path.into(),
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
        let mut st = stat("satisfaction", path, t.rows.len());
        let mut sum = vec![0.0f64; index.len()];
        let mut cnt = vec![0i64; index.len()];
        let (mut bad, mut unknown) = (0u64, 0u64);
        for (_, row) in &t.rows {
            let id = row.get(idp).map(String::as_str).unwrap_or("");
            let score = row
                .get(sp)
                .and_then(|s| parse_scaled(s, opts.decimal_comma).ok())
                .map(|v| v as f64 / crate::MONEY_SCALE);
            let Some(score) = score else {
                bad += 1;
                continue;
            };
            let Some(&ci) = index.get(id) else {
                unknown += 1;
                continue;
            };
            st.matched += 1;
            sum[ci] += score;
            cnt[ci] += 1;
        }
        push_skip(&mut st, "missing or non-numeric score", bad);
        push_skip(
            &mut st,
            "customer id not among customers with purchases",
            unknown,
        );
        let mean = sum
            .iter()
            .zip(&cnt)
            .map(|(s, &n)| (n > 0).then(|| s / n as f64))
            .collect();
        new_cols.push(("satisfaction".into(), ColumnData::Float(mean)));
        new_cols.push((
            "satisfaction_count".into(),
            ColumnData::Int(cnt.into_iter().map(Some).collect()),
        ));
        st.columns_added = vec!["satisfaction".into(), "satisfaction_count".into()];
        stats.push(st);
    }
    if let Some(path) = &opts.leads {
        let t = read_text_table(path, opts)?;
        let idp = id_position(&t, path, id_col)?;
        let mut st = stat("leads", path, t.rows.len());
        let mut seen = HashSet::new();
        let mut dup = 0;
        for (_, row) in &t.rows {
            let Some(id) = row.get(idp).filter(|s| !s.is_empty()) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                dup += 1;
                continue;
            }
            if index.contains_key(id.as_str()) {
                st.matched += 1;
            } else {
                leads_out.push(id.clone());
            }
        }
        leads_out.sort();
        push_skip(&mut st, "duplicate lead id", dup);
        stats.push(st);
    }
    for (name, data) in new_cols {
        table
            .push(name, data)
            .map_err(|e| IngestError::Engine(e.to_string()))?;
    }
    Ok(())
}

fn stat(kind: &str, path: &Path, rows: usize) -> SideTableStats {
    SideTableStats {
        kind: kind.into(),
        file: path.display().to_string(),
        rows: rows as u64,
        matched: 0,
        skipped: Vec::new(),
        columns_added: Vec::new(),
    }
}

fn push_skip(st: &mut SideTableStats, why: &str, n: u64) {
    if n > 0 {
        st.skipped.push((why.to_string(), n));
    }
}
