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
use clientele_core::{ColumnData, ColumnSink, ColumnStore, LabelUnion, Texts};

use crate::stored::ColumnBuilder;

/// Rows per batch in a column's file, by default: bounds the copy made while writing or
/// reading one, and is a part of the customers that a step scores at a time. Small in tests,
/// so the test shops' columns span many batches.
const BATCH_ROWS: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// Columns as files in `dir`; which file holds which column is kept here (names can be any
/// text, files are numbered).
#[derive(Debug)]
pub(crate) struct DiskColumns {
    dir: PathBuf,
    files: Arc<Mutex<Files>>,
    /// Rows per batch of a column's file ([`BATCH_ROWS`] unless set).
    batch_rows: usize,
    /// What must live as long as the files (the spill folder, removed when dropped).
    keeper: Mutex<Option<Box<dyn std::fmt::Debug + Send>>>,
    /// Each file's batches (where they lie, read from its footer once) and how many of them
    /// gave back their space ([`ColumnStore::read_no_more_before`]).
    given_back: Mutex<HashMap<PathBuf, GivenBack>>,
}

/// A file's batches (their bytes) and how many of them, from the first, gave back their space.
type GivenBack = (Vec<std::ops::Range<u64>>, usize);

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
            files: Arc::new(Mutex::new(Files::default())),
            batch_rows: BATCH_ROWS,
            keeper: Mutex::new(None),
            given_back: Mutex::new(HashMap::new()),
        })
    }

    /// Batches of `rows` rows instead of [`BATCH_ROWS`] (at least 1): smaller parts for
    /// tests through the binary, or for tuning.
    pub(crate) fn with_batch_rows(mut self, rows: usize) -> DiskColumns {
        self.batch_rows = rows.max(1);
        self
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
        lock(&self.files)
    }

    /// A new numbered file name.
    fn fresh(&self) -> Result<PathBuf, String> {
        fresh(&self.dir, &self.files)
    }

    /// Makes `path` the file of `name`, removing the one it replaces.
    fn publish(&self, name: &str, path: PathBuf) -> Result<(), String> {
        publish(&self.files, name, path)
    }

    /// The file of column `name`.
    fn path_of(&self, name: &str) -> Result<PathBuf, String> {
        let f = self.files()?;
        f.of.get(name)
            .cloned()
            .ok_or_else(|| "not in the spill folder".to_string())
    }

    /// The column from the arrays of its file (all of them, or those of a slice), of type
    /// `ty`, about `rows` long. Each array is let go before the next is read: a whole column
    /// read as a list of batches held the column twice, each batch in freshly mapped pages
    /// (at 18.2M customers, a tenth of a run's page faults, at about 2.8 µs each).
    fn column_of(
        path: &Path,
        ty: &DataType,
        rows: usize,
        arrays: impl Iterator<Item = Result<ArrayRef, String>>,
    ) -> Result<ColumnData, String> {
        if *ty == DataType::UInt32 {
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
            let unlabelled = || format!("{}: a code without its label", path.display());
            let mut texts = Texts::with_labels(labels, rows).ok_or_else(unlabelled)?;
            for a in arrays {
                let a = a?;
                let a = a
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| format!("{}: type {}", path.display(), a.data_type()))?;
                // plain codes copied in one go where a batch has no gaps
                let valid: Option<Vec<bool>> = a
                    .nulls()
                    .filter(|n| n.null_count() > 0)
                    .map(|n| n.iter().collect());
                if !texts.extend_codes(&a.values()[..], valid.as_deref()) {
                    return Err(unlabelled());
                }
            }
            return Ok(ColumnData::Text(texts));
        }
        let mut b =
            ColumnBuilder::of(ty, rows).ok_or_else(|| format!("{}: type {ty}", path.display()))?;
        for a in arrays {
            b.append(&a?)?;
        }
        b.finish()
    }

    /// A writer for a column that arrives in pieces of `ty`, in row order.
    pub(crate) fn piecewise(&self, name: &str, ty: &DataType) -> Result<PieceWriter, String> {
        PieceWriter::new(name, ty, self.fresh()?, self.batch_rows)
    }
}

fn lock(files: &Mutex<Files>) -> Result<std::sync::MutexGuard<'_, Files>, String> {
    files.lock().map_err(|_| "a writer failed".to_string())
}

/// A new numbered file name in `dir`.
fn fresh(dir: &Path, files: &Mutex<Files>) -> Result<PathBuf, String> {
    let mut f = lock(files)?;
    f.next += 1;
    Ok(dir.join(format!("column-{:05}.arrow", f.next)))
}

/// Makes `path` the file of `name`, removing the one it replaces.
fn publish(files: &Mutex<Files>, name: &str, path: PathBuf) -> Result<(), String> {
    let mut f = lock(files)?;
    if let Some(old) = f.of.insert(name.to_string(), path) {
        let _ = std::fs::remove_file(&old);
        let _ = std::fs::remove_file(labels_path(&old));
    }
    Ok(())
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

/// The reader of a column's file.
fn open(path: &Path) -> Result<FileReader<std::io::BufReader<File>>, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let f = File::open(path).map_err(|e| at(&e))?;
    FileReader::try_new(std::io::BufReader::new(f), None).map_err(|e| at(&e))
}

/// The arrays of `reader`'s batches, read one at a time.
fn arrays_of<'a>(
    reader: FileReader<std::io::BufReader<File>>,
    path: &'a Path,
) -> impl Iterator<Item = Result<ArrayRef, String>> + 'a {
    reader.map(move |b| {
        b.map(|b| Arc::clone(b.column(0)))
            .map_err(|e| format!("{}: {e}", path.display()))
    })
}

/// Where each batch of a column's file lies (its message and body), from the file's footer.
fn batch_bytes(path: &Path) -> Result<Vec<std::ops::Range<u64>>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut f = File::open(path).map_err(|e| at(&e))?;
    let len = f.metadata().map_err(|e| at(&e))?.len();
    // the file ends with the footer's length and the magic
    let mut tail = [0u8; 10];
    if len < 10 {
        return Err(at(&"not an Arrow file"));
    }
    f.seek(SeekFrom::Start(len - 10)).map_err(|e| at(&e))?;
    f.read_exact(&mut tail).map_err(|e| at(&e))?;
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if &tail[4..] != b"ARROW1" || footer_len + 10 > len {
        return Err(at(&"not an Arrow file"));
    }
    let mut footer = vec![0u8; footer_len as usize];
    f.seek(SeekFrom::Start(len - 10 - footer_len))
        .map_err(|e| at(&e))?;
    f.read_exact(&mut footer).map_err(|e| at(&e))?;
    let footer = arrow::ipc::root_as_footer(&footer).map_err(|e| at(&e))?;
    let blocks = footer.recordBatches().ok_or_else(|| at(&"no batches"))?;
    blocks
        .iter()
        .map(|b| {
            let start = u64::try_from(b.offset()).map_err(|e| at(&e))?;
            let size = u64::try_from(i64::from(b.metaDataLength()) + b.bodyLength())
                .map_err(|e| at(&e))?;
            Ok(start..start + size)
        })
        .collect()
}

fn read_all(path: &Path) -> Result<Vec<ArrayRef>, String> {
    arrays_of(open(path)?, path).collect()
}

impl ColumnStore for DiskColumns {
    fn load(&self, name: &str) -> Result<ColumnData, String> {
        let path = self.path_of(name)?;
        let reader = open(&path)?;
        let ty = reader.schema().field(0).data_type().clone();
        // every batch but the last is `batch_rows` long
        let rows = reader.num_batches() * self.batch_rows;
        DiskColumns::column_of(&path, &ty, rows, arrays_of(reader, &path))
    }

    /// Only the batches holding `rows` are read (a file's batches are `batch_rows` long).
    fn load_rows(&self, name: &str, rows: std::ops::Range<usize>) -> Result<ColumnData, String> {
        let path = self.path_of(name)?;
        let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let mut reader = open(&path)?;
        let batch = self.batch_rows;
        let first = rows.start / batch;
        let mut arrays = Vec::new();
        let mut start = first * batch;
        if first < reader.num_batches() {
            reader.set_index(first).map_err(|e| at(&e))?;
        }
        for b in reader.by_ref() {
            if start >= rows.end && !arrays.is_empty() {
                break;
            }
            let a = Arc::clone(b.map_err(|e| at(&e))?.column(0));
            let len = a.len();
            if len != batch && start + len < rows.end {
                return Err(at(&format!("a batch of {len} rows, not {batch}")));
            }
            let from = rows.start.clamp(start, start + len) - start;
            let to = rows.end.clamp(start, start + len) - start;
            arrays.push(a.slice(from, to.max(from) - from));
            start += len;
        }
        let ty = reader.schema().field(0).data_type().clone();
        let c = DiskColumns::column_of(&path, &ty, rows.len(), arrays.into_iter().map(Ok))?;
        if c.len() != rows.len() {
            return Err(at(&format!(
                "{} rows where {} were asked for",
                c.len(),
                rows.len()
            )));
        }
        Ok(c)
    }

    /// The space of every column's batches wholly before `row` given back on the removal
    /// thread (a hole in each file, where the system makes one), beside the last reading:
    /// the 6 GB of columns at 18M customers took 2.5–3 s to remove at the end of a run, on
    /// a disk mounted with `discard`. A file whose footer cannot be read keeps its space
    /// until it is removed.
    fn read_no_more_before(&self, row: usize) {
        let batches = row / self.batch_rows;
        let (Ok(files), Ok(mut given)) = (self.files(), self.given_back.lock()) else {
            return;
        };
        for path in files.of.values() {
            if !given.contains_key(path) {
                let Ok(blocks) = batch_bytes(path) else {
                    continue;
                };
                given.insert(path.clone(), (blocks, 0));
            }
            let Some((blocks, from)) = given.get_mut(path) else {
                continue;
            };
            let to = batches.min(blocks.len());
            if *from >= to {
                continue;
            }
            // the batches one after another, as this store writes them (no dictionaries)
            if blocks[*from..to].windows(2).all(|w| w[0].end == w[1].start) {
                crate::removal::give_back_soon(path, blocks[*from].start..blocks[to - 1].end);
                *from = to;
            }
        }
    }

    /// A part is a file's batch, so a part reads one batch of each column.
    fn part_rows(&self) -> usize {
        self.batch_rows
    }

    fn sink(&self, name: &str) -> Result<Option<Box<dyn ColumnSink>>, String> {
        Ok(Some(Box::new(DiskSink {
            name: name.to_string(),
            dir: self.dir.clone(),
            files: Arc::clone(&self.files),
            batch_rows: self.batch_rows,
            writer: None,
            labels: None,
        })))
    }

    fn save(&self, name: &str, data: &ColumnData) -> Result<(), String> {
        let n = data.len();
        let ty = match data {
            ColumnData::Text(_) => DataType::UInt32,
            other => crate::output::column_array(other, 0..0).0,
        };
        let mut w = self.piecewise(name, &ty)?;
        for start in (0..n).step_by(self.batch_rows) {
            let r = start..(start + self.batch_rows).min(n);
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
    /// Pieces not written yet: the file's batches are `batch_rows` long, as
    /// [`ColumnStore::load_rows`] expects.
    pending: Vec<ArrayRef>,
    pending_rows: usize,
    /// Batches written.
    batches: usize,
    /// Rows in a batch.
    batch_rows: usize,
}

impl PieceWriter {
    /// A writer of column `name` of `ty` into a new file at `path`, in batches of `batch_rows`.
    fn new(
        name: &str,
        ty: &DataType,
        path: PathBuf,
        batch_rows: usize,
    ) -> Result<PieceWriter, String> {
        Ok(PieceWriter {
            name: name.to_string(),
            ty: ty.clone(),
            writer: Some(ipc_writer(&path, ty.clone())?),
            path,
            pending: Vec::new(),
            pending_rows: 0,
            batches: 0,
            batch_rows,
        })
    }

    /// The type of the column's values in the file.
    pub(crate) fn data_type(&self) -> &DataType {
        &self.ty
    }

    /// Appends `a` (the rows after those already written).
    pub(crate) fn append(&mut self, a: ArrayRef) -> Result<(), String> {
        let mut a = a;
        while self.pending_rows + a.len() >= self.batch_rows {
            let take = self.batch_rows - self.pending_rows;
            self.pending.push(a.slice(0, take));
            a = a.slice(take, a.len() - take);
            self.pending_rows = self.batch_rows;
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
    pub(crate) fn finish(self, store: &DiskColumns) -> Result<(), String> {
        let (name, path) = self.close()?;
        store.publish(&name, path)
    }

    /// Closes the file: the column's name and file.
    fn close(mut self) -> Result<(String, PathBuf), String> {
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
        Ok((self.name, self.path))
    }
}

/// A column a step makes part by part, written as its parts come; a text column's codes
/// numbered over the parts ([`LabelUnion`]), its labels written when it is finished.
struct DiskSink {
    name: String,
    dir: PathBuf,
    files: Arc<Mutex<Files>>,
    batch_rows: usize,
    /// Made with the first part, which says the type.
    writer: Option<PieceWriter>,
    labels: Option<LabelUnion>,
}

impl ColumnSink for DiskSink {
    fn append(&mut self, part: &ColumnData) -> Result<(), String> {
        let ty = match part {
            ColumnData::Text(_) => DataType::UInt32,
            other => crate::output::column_array(other, 0..0).0,
        };
        if self.writer.is_none() {
            let path = fresh(&self.dir, &self.files)?;
            self.writer = Some(PieceWriter::new(&self.name, &ty, path, self.batch_rows)?);
        }
        let w = self.writer.as_mut().ok_or("no writer")?;
        if *w.data_type() != ty {
            return Err(format!(
                "a part of type {ty} in a column of {}",
                w.data_type()
            ));
        }
        match part {
            ColumnData::Text(t) => {
                let codes = self
                    .labels
                    .get_or_insert_with(LabelUnion::default)
                    .codes_of(t);
                w.append(Arc::new(codes.into_iter().collect::<UInt32Array>()))
            }
            other => w.append(crate::output::column_array(other, 0..other.len()).1),
        }
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        let this = *self;
        let Some(w) = this.writer else {
            return Err("no part was written".to_string());
        };
        if let Some(labels) = this.labels {
            let labels = Arc::new(StringArray::from_iter_values(labels.into_labels()));
            write_all(
                &labels_path(&w.path),
                DataType::Utf8,
                std::iter::once(labels as _),
            )?;
        }
        let (name, path) = w.close()?;
        publish(&this.files, &name, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::{Day, Values};

    #[test]
    fn rows_read_no_more_give_their_space_back_and_the_rest_reads_as_before() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        // batches of 128 KiB, many times a file system's block
        let batch = 1 << 14;
        let store = DiskColumns::new(&dir.path().join("cols"))
            .unwrap()
            .with_batch_rows(batch);
        let n = 6 * batch + 5;
        let floats = ColumnData::Float((0..n).map(|i| Some(i as f64 / 7.0)).collect());
        let texts = ColumnData::Text(
            Texts::from_codes(
                vec!["a".into(), "b".into()],
                (0..n).map(|i| Some((i % 2) as u32)),
            )
            .unwrap(),
        );
        store.save("value", &floats).unwrap();
        store.save("grade", &texts).unwrap();
        let path = store.path_of("value").unwrap();
        let held = || std::fs::metadata(&path).unwrap().blocks();
        let before = held();
        // a row inside the fourth batch: the first three are given back
        store.read_no_more_before(3 * batch + 1);
        crate::removal::wait();
        let after = held();
        // where the file system makes holes, half of the file's blocks are gone
        if cfg!(target_os = "linux") {
            assert!(after * 5 < before * 3, "{before} blocks, then {after}");
        }
        // asked again, or for fewer rows, nothing changes; the rows after still read back
        store.read_no_more_before(3 * batch);
        crate::removal::wait();
        assert_eq!(held(), after);
        for (name, c) in [("value", &floats), ("grade", &texts)] {
            let r = 3 * batch..n;
            let want = c.take(&r.clone().collect::<Vec<_>>());
            let got = store.load_rows(name, r).unwrap();
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name}");
        }
    }

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

    /// A step's columns made part by part on a stored table read back as the whole columns
    /// made at once: text labels numbered over the parts as one column numbers them.
    #[test]
    fn columns_made_part_by_part_equal_the_whole_columns() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ColumnStore> =
            Arc::new(DiskColumns::new(&dir.path().join("cols")).unwrap());
        let n = 2 * BATCH_ROWS + 5;
        let ids: Vec<String> = (0..n).map(|i| format!("c{i:06}")).collect();
        let mut table = clientele_core::CustomerTable::stored(ids.into(), store, Vec::new());
        let ranges = table.part_ranges();
        assert_eq!(ranges.len(), 3, "{ranges:?}");
        let grade = |i: usize| {
            [None, Some("VIP"), Some("普通客户"), Some("高级客户")]
                [i % 4 * usize::from(i > BATCH_ROWS)]
        };
        let mut made = table.part_columns();
        for r in &ranges {
            let texts: Texts = r.clone().map(grade).collect();
            made.append("grade", ColumnData::Text(texts)).unwrap();
            let p: Values<f64> = r.clone().map(|i| Some(i as f64 / 7.0)).collect();
            made.append("p", ColumnData::Float(p)).unwrap();
        }
        table.set_parts(made).unwrap();
        let whole: Texts = (0..n).map(grade).collect();
        let back = table.texts("grade").unwrap();
        assert_eq!(back.labels(), whole.labels());
        assert_eq!(back.to_vec(), whole.to_vec());
        let p: Values<f64> = (0..n).map(|i| Some(i as f64 / 7.0)).collect();
        assert_eq!(table.floats("p").unwrap(), &p);
        let part = table
            .part(BATCH_ROWS - 1..BATCH_ROWS + 2, &["p", "grade"])
            .unwrap();
        assert_eq!(part.ids().to_vec()[0], format!("c{:06}", BATCH_ROWS - 1));
        assert_eq!(
            part.texts("grade").unwrap().to_vec(),
            whole
                .take(&[BATCH_ROWS - 1, BATCH_ROWS, BATCH_ROWS + 1])
                .to_vec()
        );
    }
}
