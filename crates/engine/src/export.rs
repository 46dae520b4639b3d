//! A selection of customers written as a list people and tools open: CSV for Excel (UTF-8 with
//! a byte-order mark, money to the cent) or Parquet for pandas, Polars, DuckDB and BI tools.
//!
//! The rows are written in slices of [`EXPORT_CHUNK_ROWS`] into any writer, so a list of a
//! million customers streams in constant memory (a server hands the writer a channel to the
//! socket) and its order is the selection's order.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use clientele_core::{CustomerTable, Rounding};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::EngineError;
use crate::output::{arrow_schema, column_array};

/// Rows formatted or encoded at a time: the memory an export holds beyond the table.
pub const EXPORT_CHUNK_ROWS: usize = 16 * 1024;

/// The formats a list is exported in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// UTF-8 CSV with a byte-order mark, as Excel opens it.
    Csv,
    /// Parquet (zstd), the customer table's own types.
    Parquet,
}

impl ExportFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        }
    }

    /// The file name of a list: its scheme and grade (`behaviour_VIP.csv`), any character
    /// that is not a letter, digit or `-` made `_`, so it is safe in every file system;
    /// `customers.<ext>` for a list of neither.
    pub fn file_name(self, scheme: Option<&str>, grade: Option<&str>) -> String {
        let stem: String = [scheme, grade]
            .into_iter()
            .flatten()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join("_")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        let stem = if stem.is_empty() { "customers" } else { &stem };
        format!("{stem}.{}", self.extension())
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "parquet" => Ok(ExportFormat::Parquet),
            _ => Err(format!("unknown export format `{s}`: use csv or parquet")),
        }
    }
}

/// Writes the customers at `rows` (in that order) of `table` to `out`.
pub fn export(
    table: &CustomerTable,
    rows: &[u32],
    format: ExportFormat,
    out: impl Write + Send,
) -> Result<(), EngineError> {
    match format {
        ExportFormat::Csv => export_csv(table, rows, out),
        ExportFormat::Parquet => export_parquet(table, rows, out),
    }
}

/// Writes the customers at `rows` of `table` to the file `path`, atomically (a temporary file
/// beside it takes the name when complete). An existing file is replaced only when `replace`.
pub fn export_file(
    table: &CustomerTable,
    rows: &[u32],
    format: ExportFormat,
    path: &std::path::Path,
    replace: bool,
) -> Result<(), EngineError> {
    crate::write_file_with(
        path,
        |_| replace,
        |f| {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            export(table, rows, format, &mut w)?;
            w.flush().map_err(|e| EngineError::io(path, e))
        },
    )
}

fn io(e: std::io::Error) -> EngineError {
    EngineError::io(std::path::Path::new("<export>"), e)
}

fn export_csv(table: &CustomerTable, rows: &[u32], mut out: impl Write) -> Result<(), EngineError> {
    let csv_err = |e: csv::Error| EngineError::Output {
        path: "<export>".into(),
        reason: e.to_string(),
    };
    out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    let rounding: Vec<Rounding> = table
        .columns()
        .iter()
        .map(|c| Rounding::of_column(&c.name))
        .collect();
    // the csv writer's own buffer hands full blocks on to `out`: memory stays constant
    let mut w = csv::Writer::from_writer(out);
    let mut names = vec![clientele_core::columns::CUSTOMER_ID];
    names.extend(table.columns().iter().map(|c| c.name.as_str()));
    w.write_record(&names).map_err(csv_err)?;
    let mut cell = String::new();
    for &i in rows {
        let i = i as usize;
        w.write_field(&table.ids()[i]).map_err(csv_err)?;
        for (c, &r) in table.columns().iter().zip(&rounding) {
            c.data.write_rounded(i, r, &mut cell);
            w.write_field(&cell).map_err(csv_err)?;
        }
        w.write_record(None::<&[u8]>).map_err(csv_err)?;
    }
    w.flush().map_err(io)
}

fn export_parquet(
    table: &CustomerTable,
    rows: &[u32],
    out: impl Write + Send,
) -> Result<(), EngineError> {
    let bad = |e: &dyn std::fmt::Display| EngineError::Output {
        path: "<export>".into(),
        reason: e.to_string(),
    };
    let schema = Arc::new(arrow_schema(table));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(EXPORT_CHUNK_ROWS * 4))
        .build();
    let mut w = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props)).map_err(|e| bad(&e))?;
    for chunk in rows.chunks(EXPORT_CHUNK_ROWS) {
        let idx: Vec<usize> = chunk.iter().map(|&i| i as usize).collect();
        let part = table.take(&idx);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(part.columns().len() + 1);
        columns.push(Arc::new(StringArray::from_iter_values(part.ids().iter())));
        for c in part.columns() {
            columns.push(column_array(&c.data, 0..part.len()).1);
        }
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| bad(&e))?;
        w.write(&batch).map_err(|e| bad(&e))?;
        // hand finished row groups on instead of holding the whole list
        if w.in_progress_size() > 8 << 20 {
            w.flush().map_err(|e| bad(&e))?;
        }
    }
    w.close().map_err(|e| bad(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::ColumnData;

    fn table(n: usize) -> CustomerTable {
        let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:05}")).collect());
        t.push(
            "monetary",
            ColumnData::Float(
                (0..n)
                    .map(|i| (i % 7 != 0).then_some(i as f64 / 3.0))
                    .collect(),
            ),
        )
        .unwrap();
        t.push(
            "grade_behaviour",
            ColumnData::Text((0..n).map(|i| Some(["VIP", "普通客户"][i % 2])).collect()),
        )
        .unwrap();
        t
    }

    #[test]
    fn csv_export_is_the_selected_rows_in_order_for_excel() {
        let t = table(40_000);
        let rows: Vec<u32> = (0..40_000).rev().step_by(3).collect();
        let mut out = Vec::new();
        export(&t, &rows, ExportFormat::Csv, &mut out).unwrap();
        assert!(out.starts_with(b"\xEF\xBB\xBF"));
        let mut r = csv::Reader::from_reader(&out[3..]);
        assert_eq!(
            r.headers().unwrap(),
            vec!["customer_id", "monetary", "grade_behaviour"]
        );
        let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(recs.len(), rows.len());
        assert_eq!(&recs[0][0], "c39999");
        assert_eq!(&recs[0][1], "13333.00");
        assert_eq!(&recs[0][2], "普通客户");
        assert_eq!(&recs[1][2], "VIP");
    }

    #[test]
    fn parquet_export_reads_back_as_the_selection() {
        let t = table(50_000);
        let rows: Vec<u32> = (0..50_000).filter(|i| i % 5 == 1).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        export(
            &t,
            &rows,
            ExportFormat::Parquet,
            std::fs::File::create(&p).unwrap(),
        )
        .unwrap();
        let back = crate::read_customers(&p).unwrap();
        let idx: Vec<usize> = rows.iter().map(|&i| i as usize).collect();
        assert_eq!(back, t.take(&idx));
    }
}
