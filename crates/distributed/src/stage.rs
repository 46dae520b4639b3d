//! The staging folder: validated rows as Parquet, one file per customer-hash part.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clientele_ingest::RowSink;
use datafusion::arrow::array::{AsArray, Int32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::DistributedError;

/// A fresh folder for one run's rows, removed when dropped.
#[derive(Debug)]
pub(crate) struct Staging {
    pub dir: PathBuf,
}

impl Staging {
    /// A new folder `clientele-<pid>-<nanos>` under `base`.
    pub fn new(base: &Path) -> Result<Staging, DistributedError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = base.join(format!("clientele-{}-{nanos}", std::process::id()));
        let err = |e: std::io::Error| DistributedError::Staging {
            path: dir.clone(),
            reason: e.to_string(),
        };
        // a mistyped folder would be made and left behind: the user names one that exists
        if !base.is_dir() {
            let what = if base.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            return Err(DistributedError::Staging {
                path: base.to_path_buf(),
                reason: format!(
                    "{what}: name an existing folder that every executor reads at the same path \
                     (--cluster-staging, [engine] staging), or make it first: mkdir -p {}",
                    clientele_core::shell_word(&base.display().to_string())
                ),
            });
        }
        // `create_dir`, not `create_dir_all`: a folder that already exists is not ours, and
        // this one is removed whole when the run ends
        std::fs::create_dir(&dir).map_err(err)?;
        // executors read it by absolute path
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        crate::live::began(&dir);
        Ok(Staging { dir })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        crate::live::ended(&self.dir);
    }
}

/// Rows of a staged file's row group.
const STAGED_ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes each part's rows to `part-<k>.parquet` in the staging folder, with the bucket of
/// each row's customer (`bucket`: the customer hash's finer split, inside the part).
pub(crate) struct ParquetParts {
    dir: PathBuf,
    buckets: usize,
    split: clientele_ingest::Partitioner,
    writers: Vec<Option<ArrowWriter<File>>>,
}

impl ParquetParts {
    /// `buckets` must be a multiple of `parts`, so that each bucket lies in one part.
    pub fn new(dir: &Path, parts: usize, buckets: usize) -> ParquetParts {
        let parts = parts.max(1);
        ParquetParts {
            dir: dir.to_path_buf(),
            buckets: buckets.max(parts).div_ceil(parts) * parts,
            split: clientele_ingest::Partitioner::hash(parts),
            writers: (0..parts).map(|_| None).collect(),
        }
    }

    /// `rows` with their customers' buckets.
    fn with_buckets(&self, rows: RecordBatch) -> Result<RecordBatch, String> {
        let ids = rows
            .column_by_name("customer_id")
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or("the rows have no text customer_id")?;
        let buckets: Int32Array = ids
            .iter()
            .map(|id| id.map(|id| clientele_ingest::part_of(id, self.buckets) as i32))
            .collect();
        let mut fields: Vec<Field> = rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("bucket", DataType::Int32, false));
        let mut cols = rows.columns().to_vec();
        cols.push(Arc::new(buckets));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| e.to_string())
    }

    fn path(&self, k: usize) -> PathBuf {
        self.dir.join(format!("part-{k:04}.parquet"))
    }
}

impl RowSink for ParquetParts {
    fn partitioner(&self) -> &clientele_ingest::Partitioner {
        &self.split
    }

    fn write(&mut self, partition: usize, rows: RecordBatch) -> Result<(), String> {
        let rows = self.with_buckets(rows)?;
        let path = self.path(partition);
        let slot = self
            .writers
            .get_mut(partition)
            .ok_or_else(|| format!("no part {partition}"))?;
        if slot.is_none() {
            let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            // the files are read once, right away: speed over size (LZ4, no dictionaries, no
            // statistics: nothing prunes by them). Row groups of 128k rows: a writer holds
            // its row group until it is full, and a run by parts has a writer per part (with
            // the default million rows, 9 parts of the 10M-row file held 900 MB)
            let props = WriterProperties::builder()
                .set_compression(Compression::LZ4_RAW)
                .set_dictionary_enabled(false)
                .set_statistics_enabled(EnabledStatistics::None)
                .set_max_row_group_row_count(Some(STAGED_ROW_GROUP_ROWS))
                .build();
            let w = ArrowWriter::try_new(file, rows.schema(), Some(props))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            *slot = Some(w);
        }
        match slot {
            Some(w) => w
                .write(&rows)
                .map_err(|e| format!("{}: {e}", path.display())),
            None => Err(format!("{}: no writer", path.display())),
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        for w in self.writers.iter_mut().filter_map(Option::take) {
            w.close().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), String> {
        for k in 0..self.writers.len() {
            self.writers[k] = None;
            let path = self.path(k);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staging_base_that_is_not_an_existing_folder_is_refused_and_not_made() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("no-such/base");
        let e = Staging::new(&missing).unwrap_err().to_string();
        assert!(e.contains("does not exist: name an existing folder"), "{e}");
        assert!(e.contains("mkdir -p"), "{e}");
        assert!(!d.path().join("no-such").exists());
        let file = d.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = Staging::new(&file).unwrap_err().to_string();
        assert!(e.contains("is not a folder"), "{e}");
        // an existing folder gets a folder of its own, removed with the staging
        let s = Staging::new(d.path()).unwrap();
        assert!(s.dir.is_dir());
        let made = s.dir.clone();
        drop(s);
        assert!(!made.exists());
    }
}
