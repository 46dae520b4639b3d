//! The staging folder: validated rows as Parquet, one file per customer-hash part.

use std::fs::File;
use std::path::{Path, PathBuf};

use clientele_ingest::RowSink;
use datafusion::arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

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
        std::fs::create_dir_all(base).map_err(err)?;
        // `create_dir`, not `create_dir_all`: a folder that already exists is not ours, and
        // this one is removed whole when the run ends
        std::fs::create_dir(&dir).map_err(err)?;
        // executors read it by absolute path
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok(Staging { dir })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes each part's rows to `part-<k>.parquet` in the staging folder.
pub(crate) struct ParquetParts {
    dir: PathBuf,
    writers: Vec<Option<ArrowWriter<File>>>,
}

impl ParquetParts {
    pub fn new(dir: &Path, parts: usize) -> ParquetParts {
        ParquetParts {
            dir: dir.to_path_buf(),
            writers: (0..parts.max(1)).map(|_| None).collect(),
        }
    }

    fn path(&self, k: usize) -> PathBuf {
        self.dir.join(format!("part-{k:04}.parquet"))
    }
}

impl RowSink for ParquetParts {
    fn partitions(&self) -> usize {
        self.writers.len()
    }

    fn write(&mut self, partition: usize, rows: RecordBatch) -> Result<(), String> {
        let path = self.path(partition);
        let slot = self
            .writers
            .get_mut(partition)
            .ok_or_else(|| format!("no part {partition}"))?;
        if slot.is_none() {
            let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            // LZ4: the files are read once, right away; speed over size
            let props = WriterProperties::builder()
                .set_compression(Compression::LZ4_RAW)
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
