//! The customer table of a run by parts, kept on disk column by column
//! ([`clientele_core::ColumnStore`]): each model step reads the columns it asks for and writes
//! the ones it makes, so the run holds the ids and one step's columns, not the whole table
//! (docs/SCALE.md, step 3b).
//!
//! One Arrow IPC file per column, in customer-id order, in the run's spill folder. Numbers and
//! dates are written as they are (NaN and missing values kept apart); a text column as its
//! codes, with its labels in a second file, so it reads back as the same [`Texts`] (labels in
//! the same order), not only the same strings.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, UInt32Type};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use clientele_core::{ColumnData, ColumnStore, Texts};

use crate::stored::ColumnBuilder;

/// Rows per batch in a column's file: bounds the copy made while writing or reading one.
/// Small in tests, so the test shops' columns span many batches.
const BATCH_ROWS: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// Columns as files in `dir`; which file holds which column is kept here (names can be any
/// text, files are numbered).
#[derive(Debug)]
pub(crate) struct DiskColumns {
    dir: PathBuf,
    files: Mutex<Files>,
    /// What must live as long as the files (the spill folder, removed when dropped).
    keeper: Mutex<Option<Box<dyn std::fmt::Debug + Send>>>,
}

#[derive(Debug, Default)]
struct Files {
    of: HashMap<String, PathBuf>,
    next: usize,
}

impl DiskColumns {
    /// A store in `dir` (made if needed; the caller removes it).
    pub(crate) fn new(dir: &Path) -> Result<DiskColumns, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(DiskColumns {
            dir: dir.to_path_buf(),
            files: Mutex::new(Files::default()),
            keeper: Mutex::new(None),
        })
    }

    /// A file `name` beside the columns, removed with them.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Keeps `owner` until the store is dropped.
    pub(crate) fn keep(&self, owner: Box<dyn std::fmt::Debug + Send>) {
        if let Ok(mut k) = self.keeper.lock() {
            *k = Some(owner);
        }
    }

    /// Which file holds which column (a writer that panicked leaves it unusable).
    fn files(&self) -> Result<std::sync::MutexGuard<'_, Files>, String> {
        self.files.lock().map_err(|_| "a writer failed".to_string())
    }

    /// A new numbered file name.
    fn fresh(&self) -> Result<PathBuf, String> {
        let mut f = self.files()?;
        f.next += 1;
        Ok(self.dir.join(format!("column-{:05}.arrow", f.next)))
    }

    /// Makes `path` the file of `name`, removing the one it replaces.
    fn publish(&self, name: &str, path: PathBuf) -> Result<(), String> {
        let mut f = self.files()?;
        if let Some(old) = f.of.insert(name.to_string(), path) {
            let _ = std::fs::remove_file(&old);
            let _ = std::fs::remove_file(labels_path(&old));
        }
        Ok(())
    }

    /// The file of column `name`.
    fn path_of(&self, name: &str) -> Result<PathBuf, String> {
        let f = self.files()?;
        f.of.get(name)
            .cloned()
            .ok_or_else(|| "not in the spill folder".to_string())
    }

    /// The column from the arrays of its file (all of them, or those of a slice).
    fn column_of(path: &Path, arrays: Vec<ArrayRef>) -> Result<ColumnData, String> {
        let rows = arrays.iter().map(|a| a.len()).sum();
        match arrays.first().map(|a| a.data_type().clone()) {
            Some(DataType::UInt32) => {
                let labels = read_all(&labels_path(path))?;
                let labels: Vec<String> = labels
                    .iter()
                    .flat_map(|a| {
                        let a = a.as_string::<i32>();
                        (0..a.len())
                            .map(|i| a.value(i).to_string())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let mut codes = Vec::with_capacity(rows);
                for a in &arrays {
                    let a = a.as_primitive::<UInt32Type>();
                    codes.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
                }
                Texts::from_codes(labels, codes)
                    .map(ColumnData::Text)
                    .ok_or_else(|| format!("{}: a code without its label", path.display()))
            }
            Some(ty) => {
                let mut b = ColumnBuilder::of(&ty, rows)
                    .ok_or_else(|| format!("{}: type {ty}", path.display()))?;
                for a in &arrays {
                    b.append(a)?;
                }
                b.finish()
            }
            None => Err(format!("{}: empty", path.display())),
        }
    }

    /// A writer for a column that arrives in pieces of `ty`, in row order.
    pub(crate) fn piecewise(&self, name: &str, ty: &DataType) -> Result<PieceWriter, String> {
        let path = self.fresh()?;
        Ok(PieceWriter {
            name: name.to_string(),
            ty: ty.clone(),
            writer: Some(ipc_writer(&path, ty.clone())?),
            path,
            pending: Vec::new(),
            pending_rows: 0,
            batches: 0,
        })
    }
}

/// The labels' file of a text column's codes file.
fn labels_path(codes: &Path) -> PathBuf {
    codes.with_extension("labels.arrow")
}

fn ipc_writer(path: &Path, ty: DataType) -> Result<FileWriter<BufWriter<File>>, String> {
    let schema = Schema::new(vec![Field::new("v", ty, true)]);
    let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    FileWriter::try_new(BufWriter::new(f), &schema).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_all(
    path: &Path,
    ty: DataType,
    arrays: impl Iterator<Item = ArrayRef>,
) -> Result<(), String> {
    let mut w = ipc_writer(path, ty)?;
    let at = |e: arrow::error::ArrowError| format!("{}: {e}", path.display());
    for a in arrays {
        let b = RecordBatch::try_new(w.schema().clone(), vec![a]).map_err(at)?;
        w.write(&b).map_err(at)?;
    }
    w.finish().map_err(at)
}

fn read_all(path: &Path) -> Result<Vec<ArrayRef>, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let f = File::open(path).map_err(|e| at(&e))?;
    FileReader::try_new(std::io::BufReader::new(f), None)
        .map_err(|e| at(&e))?
        .map(|b| b.map(|b| Arc::clone(b.column(0))).map_err(|e| at(&e)))
        .collect()
}

impl ColumnStore for DiskColumns {
    fn load(&self, name: &str) -> Result<ColumnData, String> {
        let path = self.path_of(name)?;
        DiskColumns::column_of(&path, read_all(&path)?)
    }

    /// Only the batches holding `rows` are read (a file's batches are [`BATCH_ROWS`] long).
    fn load_rows(&self, name: &str, rows: std::ops::Range<usize>) -> Result<ColumnData, String> {
        let path = self.path_of(name)?;
        let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let f = File::open(&path).map_err(|e| at(&e))?;
        let mut reader =
            FileReader::try_new(std::io::BufReader::new(f), None).map_err(|e| at(&e))?;
        let first = rows.start / BATCH_ROWS;
        let mut arrays = Vec::new();
        let mut start = first * BATCH_ROWS;
        if first < reader.num_batches() {
            reader.set_index(first).map_err(|e| at(&e))?;
        }
        for b in reader.by_ref() {
            if start >= rows.end && !arrays.is_empty() {
                break;
            }
            let a = Arc::clone(b.map_err(|e| at(&e))?.column(0));
            let len = a.len();
            if len != BATCH_ROWS && start + len < rows.end {
                return Err(at(&format!("a batch of {len} rows, not {BATCH_ROWS}")));
            }
            let from = rows.start.clamp(start, start + len) - start;
            let to = rows.end.clamp(start, start + len) - start;
            arrays.push(a.slice(from, to.max(from) - from));
            start += len;
        }
        let c = DiskColumns::column_of(&path, arrays)?;
        if c.len() != rows.len() {
            return Err(at(&format!(
                "{} rows where {} were asked for",
                c.len(),
                rows.len()
            )));
        }
        Ok(c)
    }

    fn save(&self, name: &str, data: &ColumnData) -> Result<(), String> {
        let n = data.len();
        let ty = match data {
            ColumnData::Text(_) => DataType::UInt32,
            other => crate::output::column_array(other, 0..0).0,
        };
        let mut w = self.piecewise(name, &ty)?;
        for start in (0..n).step_by(BATCH_ROWS) {
            let r = start..(start + BATCH_ROWS).min(n);
            w.append(match data {
                ColumnData::Text(t) => Arc::new(r.map(|i| t.code(i)).collect::<UInt32Array>()),
                other => crate::output::column_array(other, r).1,
            })?;
        }
        if let ColumnData::Text(t) = data {
            let labels = Arc::new(StringArray::from_iter_values(t.labels().iter()));
            write_all(
                &labels_path(&w.path),
                DataType::Utf8,
                std::iter::once(labels as _),
            )?;
        }
        w.finish(self)
    }
}

/// A column written as it arrives, in batches of [`BATCH_ROWS`] (a run by parts merging its
/// parts' tables, or a whole column saved); a text column as its codes.
pub(crate) struct PieceWriter {
    name: String,
    path: PathBuf,
    ty: DataType,
    writer: Option<FileWriter<BufWriter<File>>>,
    /// Pieces not written yet: the file's batches are [`BATCH_ROWS`] long, as
    /// [`ColumnStore::load_rows`] expects.
    pending: Vec<ArrayRef>,
    pending_rows: usize,
    /// Batches written.
    batches: usize,
}

impl PieceWriter {
    /// The type of the column's values in the file.
    pub(crate) fn data_type(&self) -> &DataType {
        &self.ty
    }

    /// Appends `a` (the rows after those already written).
    pub(crate) fn append(&mut self, a: ArrayRef) -> Result<(), String> {
        let mut a = a;
        while self.pending_rows + a.len() >= BATCH_ROWS {
            let take = BATCH_ROWS - self.pending_rows;
            self.pending.push(a.slice(0, take));
            a = a.slice(take, a.len() - take);
            self.pending_rows = BATCH_ROWS;
            self.flush()?;
        }
        if !a.is_empty() {
            self.pending_rows += a.len();
            self.pending.push(a);
        }
        Ok(())
    }

    /// Writes the pending pieces as one batch.
    fn flush(&mut self) -> Result<(), String> {
        let at = |e: arrow::error::ArrowError| format!("{}: {e}", self.path.display());
        let w = self.writer.as_mut().ok_or("already finished")?;
        let parts: Vec<&dyn Array> = self.pending.iter().map(|a| a.as_ref()).collect();
        let one = if parts.len() == 1 {
            Arc::clone(&self.pending[0])
        } else {
            arrow::compute::concat(&parts).map_err(at)?
        };
        let b = RecordBatch::try_new(w.schema().clone(), vec![one]).map_err(at)?;
        w.write(&b).map_err(at)?;
        self.pending.clear();
        self.pending_rows = 0;
        self.batches += 1;
        Ok(())
    }

    /// Closes the file and makes it the column's in `store`.
    pub(crate) fn finish(mut self, store: &DiskColumns) -> Result<(), String> {
        // the last batch, or the one empty batch of an empty column (the file says its type)
        if !self.pending.is_empty() || self.batches == 0 {
            if self.pending.is_empty() {
                self.pending.push(arrow::array::new_empty_array(&self.ty));
            }
            self.flush()?;
        }
        let mut w = self.writer.take().ok_or("already finished")?;
        w.finish()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        store.publish(&self.name, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::{Day, Values};

    #[test]
    fn columns_read_back_as_they_were_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskColumns::new(&dir.path().join("cols")).unwrap();
        let n = BATCH_ROWS + 3;
        let ints: Values<i64> = (0..n).map(|i| (i % 7 != 0).then_some(i as i64)).collect();
        let floats: Values<f64> = (0..n)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(f64::NAN),
                2 => Some(-0.0),
                _ => Some(i as f64 / 3.0),
            })
            .collect();
        let dates: Values<Day> = (0..n).map(|i| Some(Day(i as i32 - 5))).collect();
        // labels in an order their first rows do not follow, one label no row uses
        let texts = Texts::from_codes(
            vec!["普通客户".into(), "VIP".into(), "unused".into()],
            (0..n).map(|i| [Some(1), None, Some(0)][i % 3]),
        )
        .unwrap();
        let columns = [
            ("orders", ColumnData::Int(ints)),
            ("p_alive", ColumnData::Float(floats)),
            ("first", ColumnData::Date(dates)),
            ("等级", ColumnData::Text(texts)),
            ("empty", ColumnData::Int(Values::with_capacity(0))),
        ];
        for (name, c) in &columns {
            store.save(name, c).unwrap();
        }
        for (name, c) in &columns {
            let back = store.load(name).unwrap();
            match (c, &back) {
                (ColumnData::Float(a), ColumnData::Float(b)) => {
                    let bits = |v: &Values<f64>| -> Vec<Option<u64>> {
                        v.iter().map(|x| x.map(f64::to_bits)).collect()
                    };
                    assert_eq!(bits(a), bits(b));
                }
                (ColumnData::Text(a), ColumnData::Text(b)) => {
                    assert_eq!(a.labels(), b.labels());
                    assert_eq!(a.to_vec(), b.to_vec());
                }
                _ => assert_eq!(c, &back, "{name}"),
            }
        }
        // slices, across a batch boundary and inside one, equal the rows taken
        for (name, c) in &columns[..4] {
            for r in [0..5, BATCH_ROWS - 2..BATCH_ROWS + 3, 7..7, n - 1..n] {
                let want = c.take(&r.clone().collect::<Vec<_>>());
                let got = store.load_rows(name, r.clone()).unwrap();
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name} {r:?}");
            }
        }
        // a column written in pieces of any length reads back, whole and by slices
        let ints = &columns[0].1;
        let ty = crate::output::column_array(ints, 0..0).0;
        let mut w = store.piecewise("pieces", &ty).unwrap();
        let mut at = 0;
        for len in [1, 191, BATCH_ROWS - 192, 5, BATCH_ROWS, 2]
            .into_iter()
            .cycle()
        {
            let end = (at + len).min(n);
            w.append(crate::output::column_array(ints, at..end).1)
                .unwrap();
            at = end;
            if at == n {
                break;
            }
        }
        w.finish(&store).unwrap();
        assert_eq!(&store.load("pieces").unwrap(), ints);
        for r in [BATCH_ROWS - 2..BATCH_ROWS + 3, n - 1..n] {
            let want = ints.take(&r.clone().collect::<Vec<_>>());
            assert_eq!(store.load_rows("pieces", r).unwrap(), want);
        }
        let w = store.piecewise("none", &ty).unwrap();
        w.finish(&store).unwrap();
        assert_eq!(store.load("none").unwrap().len(), 0);
        // saved again: the new values, and the old file gone
        store.save("orders", &columns[2].1).unwrap();
        assert_eq!(store.load("orders").unwrap(), columns[2].1);
        let files = std::fs::read_dir(dir.path().join("cols")).unwrap().count();
        assert_eq!(files, 8, "one file a column, two for the text column");
        assert!(
            store
                .load("nope")
                .unwrap_err()
                .contains("not in the spill folder")
        );
    }
}
