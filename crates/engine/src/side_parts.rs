//! Side tables (attributes, satisfaction, leads) of a spilled run, split by customer part.
//!
//! A run in memory reads each side table whole and joins it on customer id. A spilled run
//! must not hold a large side table either: each is read once, row by row, and every row goes
//! to the part of its customer id (the transactions' [`clientele_ingest::Partitioner`]) as
//! Arrow IPC. Each part's rows are then joined onto that part's table
//! ([`clientele_ingest::join_side_part`]): all rows of an id are in one part, in file order,
//! so duplicates, unknown ids and per-customer means come out as in memory. Attribute columns
//! stay text until every part is seen; their type is decided on the whole column and applied
//! while the parts are merged ([`clientele_ingest::typed_as`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, ListBuilder, RecordBatch, StringBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use clientele_ingest::{IngestOptions, SideKind, SidePart, TextTable};

use crate::EngineError;

/// Rows buffered per part before they are appended to its file.
const FLUSH_ROWS: usize = 4096;

/// The side tables' headers, and each part's rows on disk.
#[derive(Debug)]
pub(crate) struct SideParts {
    dir: PathBuf,
    tables: Vec<(SideKind, Vec<String>)>,
}

impl SideParts {
    /// Reads every side table of `opts` once and writes its rows into a file for each part of
    /// `split` in `dir`.
    pub(crate) fn split(
        opts: &IngestOptions,
        dir: &Path,
        split: &clientele_ingest::Partitioner,
    ) -> Result<SideParts, EngineError> {
        let mut tables = Vec::new();
        for (kind, path) in clientele_ingest::side_tables_of(opts) {
            let mut writers: Vec<PartWriter> = (0..split.parts())
                .map(|k| PartWriter::new(file_of(dir, kind, k)))
                .collect();
            let mut id_at = None;
            let mut failed: Option<EngineError> = None;
            let header = clientele_ingest::read_side_table(path, opts, |header, line, fields| {
                let idp = match id_at {
                    Some(p) => p,
                    None => *id_at.insert(clientele_ingest::side_id_position(header, path, opts)?),
                };
                // a row without an id still counts (a satisfaction row is then "unknown")
                let id = fields.get(idp).map_or("", String::as_str);
                let w = &mut writers[split.part_of(id)];
                if failed.is_none()
                    && let Err(e) = w.push(line, &fields)
                {
                    failed = Some(e);
                }
                Ok(())
            })?;
            if id_at.is_none() {
                // a table with a header only: the join still names its missing id column
                clientele_ingest::side_id_position(&header, path, opts)?;
            }
            if let Some(e) = failed {
                return Err(e);
            }
            for w in &mut writers {
                w.finish()?;
            }
            tables.push((kind, header));
        }
        Ok(SideParts {
            dir: dir.to_path_buf(),
            tables,
        })
    }

    /// Part `k`'s rows of every side table, with their headers.
    pub(crate) fn part(&self, k: usize) -> Result<SidePart, EngineError> {
        let mut part = SidePart::default();
        for (kind, header) in &self.tables {
            let path = file_of(&self.dir, *kind, k);
            let mut rows = Vec::new();
            if path.exists() {
                let f = File::open(&path).map_err(|e| EngineError::io(&path, e))?;
                let reader = FileReader::try_new(std::io::BufReader::new(f), None)
                    .map_err(|e| spill_error(&path, &e))?;
                for b in reader {
                    let b = b.map_err(|e| spill_error(&path, &e))?;
                    let lines = b.column(0).as_primitive::<UInt64Type>();
                    let fields = b.column(1).as_list::<i32>();
                    for r in 0..b.num_rows() {
                        let f = fields.value(r);
                        let f = f.as_string::<i32>();
                        rows.push((
                            lines.value(r),
                            f.iter().map(|v| v.unwrap_or("").to_string()).collect(),
                        ));
                    }
                }
            }
            *part.slot(*kind) = Some(TextTable {
                header: header.clone(),
                rows,
            });
        }
        Ok(part)
    }
}

fn file_of(dir: &Path, kind: SideKind, k: usize) -> PathBuf {
    let name = match kind {
        SideKind::Attributes => "attributes",
        SideKind::Satisfaction => "satisfaction",
        SideKind::Leads => "leads",
    };
    dir.join(format!("side-{name}-{k:04}.arrow"))
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("line", DataType::UInt64, false),
        Field::new(
            "fields",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
    ]))
}

fn spill_error(path: &Path, e: &dyn std::fmt::Display) -> EngineError {
    EngineError::Output {
        path: path.to_path_buf(),
        reason: format!(
            "spill file: {e} (free space there, or give --spill-dir a folder on a disk with room)"
        ),
    }
}

/// One part's rows of one side table, buffered and appended as IPC.
struct PartWriter {
    path: PathBuf,
    lines: UInt64Builder,
    fields: ListBuilder<StringBuilder>,
    writer: Option<FileWriter<BufWriter<File>>>,
}

impl PartWriter {
    fn new(path: PathBuf) -> PartWriter {
        PartWriter {
            path,
            lines: UInt64Builder::new(),
            fields: ListBuilder::new(StringBuilder::new()),
            writer: None,
        }
    }

    fn push(&mut self, line: u64, fields: &[String]) -> Result<(), EngineError> {
        self.lines.append_value(line);
        for f in fields {
            self.fields.values().append_value(f);
        }
        self.fields.append(true);
        if self.lines.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EngineError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        if self.writer.is_none() {
            let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
            let w = FileWriter::try_new(BufWriter::new(f), &schema())
                .map_err(|e| spill_error(path, &e))?;
            self.writer = Some(w);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.lines.finish()),
            Arc::new(self.fields.finish()),
        ];
        let b = RecordBatch::try_new(schema(), cols).map_err(|e| spill_error(path, &e))?;
        match &mut self.writer {
            Some(w) => w.write(&b).map_err(|e| spill_error(path, &e)),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        self.flush()?;
        match &mut self.writer {
            Some(w) => w.finish().map_err(|e| spill_error(&self.path, &e)),
            None => Ok(()),
        }
    }
}

/// A merged batch's attribute columns (text in the parts) as the types decided on the whole
/// columns: `retype` holds each column's position in the batch and its type.
pub(crate) fn retyped(
    batch: RecordBatch,
    schema: &SchemaRef,
    retype: &[(usize, clientele_ingest::AttributeType)],
) -> Result<RecordBatch, EngineError> {
    if retype.is_empty() {
        return Ok(batch);
    }
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    for &(i, ty) in retype {
        let text = cols[i].as_string::<i32>();
        let data = clientele_ingest::typed_as(text.iter(), ty);
        cols[i] = crate::output::column_array(&data, 0..text.len()).1;
    }
    RecordBatch::try_new(Arc::clone(schema), cols)
        .map_err(|e| EngineError::Internal(format!("typing the attribute columns: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parts_rows_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PartWriter::new(dir.path().join("p.arrow"));
        for i in 0..(FLUSH_ROWS as u64 + 3) {
            w.push(i + 2, &[format!("c{i}"), String::new(), "年龄".into()])
                .unwrap();
        }
        w.finish().unwrap();
        let f = File::open(dir.path().join("p.arrow")).unwrap();
        let n: usize = FileReader::try_new(f, None)
            .unwrap()
            .map(|b| {
                let b = b.unwrap();
                assert_eq!(b.column(1).as_list::<i32>().value(0).len(), 3);
                b.num_rows()
            })
            .sum();
        assert_eq!(n, FLUSH_ROWS + 3);
    }
}
