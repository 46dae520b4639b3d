//! The fold's per customer-month activity and category spend of a run by parts, kept on disk
//! until the one step that reads each: at 100M rows they are about 1.5 GB and 1.3 GB, held
//! through the CLV step otherwise.
//!
//! Fixed-width little-endian records in a file of the run's spill folder, read back in the
//! same order: the values are the ones written, bit for bit.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use clientele_ingest::{CategorySpend, MonthActivity};

use crate::EngineError;

/// A record of fixed width.
pub(crate) trait Flat: Sized {
    /// Bytes a record takes.
    const WIDTH: usize;
    /// Appends the record's bytes.
    fn put(&self, out: &mut Vec<u8>);
    /// The record from `WIDTH` bytes.
    fn get(b: &[u8]) -> Self;
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn f64_at(b: &[u8], at: usize) -> f64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    f64::from_le_bytes(x)
}

impl Flat for MonthActivity {
    const WIDTH: usize = 24;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend(self.customer.to_le_bytes());
        out.extend(self.year.to_le_bytes());
        out.extend(self.month.to_le_bytes());
        out.extend(self.revenue.to_le_bytes());
        out.extend(self.orders.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        MonthActivity {
            customer: u32_at(b, 0),
            year: u32_at(b, 4) as i32,
            month: u32_at(b, 8),
            revenue: f64_at(b, 12),
            orders: u32_at(b, 20),
        }
    }
}

impl Flat for CategorySpend {
    const WIDTH: usize = 20;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend(self.customer.to_le_bytes());
        out.extend(self.category.to_le_bytes());
        out.extend(self.revenue.to_le_bytes());
        out.extend(self.orders.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        CategorySpend {
            customer: u32_at(b, 0),
            category: u32_at(b, 4),
            revenue: f64_at(b, 8),
            orders: u32_at(b, 16),
        }
    }
}

/// A record of one customer (by its row in a table).
pub(crate) trait OfCustomer {
    fn customer(&self) -> u32;
    fn set_customer(&mut self, customer: u32);
}

impl OfCustomer for MonthActivity {
    fn customer(&self) -> u32 {
        self.customer
    }
    fn set_customer(&mut self, customer: u32) {
        self.customer = customer;
    }
}

impl OfCustomer for CategorySpend {
    fn customer(&self) -> u32 {
        self.customer
    }
    fn set_customer(&mut self, customer: u32) {
        self.customer = customer;
    }
}

/// A record that names a category by its code in a list.
pub(crate) trait Coded {
    /// The record with its category's code in another list: `codes[old]`; `None` for a code
    /// past the list.
    fn recoded(self, codes: &[u32]) -> Option<Self>
    where
        Self: Sized;
}

impl Coded for CategorySpend {
    fn recoded(mut self, codes: &[u32]) -> Option<Self> {
        self.category = *codes.get(self.category as usize)?;
        Some(self)
    }
}

impl Coded for MonthActivity {
    fn recoded(self, _: &[u32]) -> Option<Self> {
        Some(self)
    }
}

/// Records in memory, or in a file until they are taken.
#[derive(Debug)]
pub(crate) enum Deferred<T> {
    /// In memory (a run in memory).
    Held(Vec<T>),
    /// `len` records in `path`.
    OnDisk { path: PathBuf, len: usize },
    /// The records of several lists one after another, each renumbered as it is read: the
    /// category spend of a run's parts, put end to end without being written again.
    EndToEnd(Vec<Piece<T>>),
}

/// One list of an end-to-end [`Deferred`]: its customers come after `offset` others (`None`:
/// a list without customers, so without records) and its categories are numbered by `codes`.
#[derive(Debug)]
pub(crate) struct Piece<T> {
    pub records: Deferred<T>,
    pub offset: Option<u32>,
    pub codes: Vec<u32>,
}

impl<T> Default for Deferred<T> {
    fn default() -> Self {
        Deferred::Held(Vec::new())
    }
}

/// The fold's detail of a run by parts, on disk until the lifecycle and behaviour steps.
#[derive(Debug, Default)]
pub(crate) struct DeferredDetail {
    /// Per customer-month activity (the lifecycle step's).
    pub months: Deferred<MonthActivity>,
    /// Per customer-category spend (the behaviour step's).
    pub category_spend: Deferred<CategorySpend>,
}

/// Records per write or read.
const CHUNK: usize = 64 * 1024;

impl<T: Flat + Clone + Send + OfCustomer + Coded> Deferred<T> {
    /// `records` written to `path` and let go.
    pub(crate) fn to_disk(records: Vec<T>, path: &Path) -> Result<Deferred<T>, EngineError> {
        let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
        let mut w = BufWriter::new(f);
        let mut buf = Vec::with_capacity(CHUNK * T::WIDTH);
        for chunk in records.chunks(CHUNK) {
            buf.clear();
            chunk.iter().for_each(|r| r.put(&mut buf));
            w.write_all(&buf).map_err(|e| EngineError::io(path, e))?;
        }
        w.flush().map_err(|e| EngineError::io(path, e))?;
        Ok(Deferred::OnDisk {
            path: path.to_path_buf(),
            len: records.len(),
        })
    }

    /// The records as `f` makes them (those it keeps), taken (their files removed):
    /// converted in place where the layouts allow when held, each chunk as it is read when on
    /// disk (one pass, not a read and then a pass over all of them).
    pub(crate) fn take_as<U>(
        &mut self,
        f: impl Fn(&T) -> Option<U>,
    ) -> Result<Vec<U>, EngineError> {
        match std::mem::take(self) {
            Deferred::Held(v) => Ok(v.into_iter().filter_map(|r| f(&r)).collect()),
            on_disk => {
                let mut out = Vec::with_capacity(on_disk.len());
                on_disk.for_each_chunk(|c| {
                    out.extend(c.iter().filter_map(&f));
                    Ok::<_, EngineError>(())
                })?;
                on_disk.discard();
                Ok(out)
            }
        }
    }

    /// Lets go of the records (removing their files).
    pub(crate) fn discard(self) {
        match self {
            Deferred::Held(_) => {}
            Deferred::OnDisk { path, .. } => {
                let _ = crate::removal::remove_soon(&path);
            }
            Deferred::EndToEnd(pieces) => pieces.into_iter().for_each(|p| p.records.discard()),
        }
    }

    /// How many records there are.
    fn len(&self) -> usize {
        match self {
            Deferred::Held(v) => v.len(),
            Deferred::OnDisk { len, .. } => *len,
            Deferred::EndToEnd(pieces) => pieces.iter().map(|p| p.records.len()).sum(),
        }
    }

    /// Calls `f` with the records in order, [`CHUNK`] at a time, kept where they are (read
    /// from the file when on disk): a step that passes over them holds one chunk, not all.
    pub(crate) fn for_each_chunk<E: From<EngineError>>(
        &self,
        mut f: impl FnMut(&[T]) -> Result<(), E>,
    ) -> Result<(), E> {
        let pieces = match self {
            Deferred::EndToEnd(pieces) => pieces,
            one => return one.each_chunk(&mut f),
        };
        let mut renumbered = Vec::with_capacity(CHUNK);
        for p in pieces {
            p.records.each_chunk(&mut |chunk: &[T]| {
                let at = |e: &str| E::from(EngineError::Internal(e.into()));
                let offset = p.offset.ok_or_else(|| at("records of no customer"))?;
                renumbered.clear();
                for r in chunk {
                    let mut r = r
                        .clone()
                        .recoded(&p.codes)
                        .ok_or_else(|| at("a record names a category its list does not have"))?;
                    let customer = r.customer().checked_add(offset);
                    r.set_customer(customer.ok_or_else(|| at("a customer past 2³² customers"))?);
                    renumbered.push(r);
                }
                f(&renumbered)
            })?;
        }
        Ok(())
    }

    /// [`Deferred::for_each_chunk`] of one list (held or in one file); a list of lists is
    /// an error here (an end-to-end list's pieces are single lists).
    fn each_chunk<E: From<EngineError>>(
        &self,
        f: &mut dyn FnMut(&[T]) -> Result<(), E>,
    ) -> Result<(), E> {
        let (path, len) = match self {
            Deferred::Held(v) => return v.chunks(CHUNK).try_for_each(f),
            Deferred::OnDisk { path, len } => (path, *len),
            Deferred::EndToEnd(_) => {
                let e = "a list of lists inside a list of lists";
                return Err(E::from(EngineError::Internal(e.into())));
            }
        };
        let f_err = |e| E::from(EngineError::io(path, e));
        let mut r = BufReader::new(File::open(path).map_err(f_err)?);
        // the next chunks read and decoded on a thread of their own while `f` takes this one
        // (a pass of the behaviour step over 1.3 GB of spend at 100M rows waited on both)
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<T>>>(2);
            s.spawn(move || {
                let mut buf = vec![0u8; CHUNK * T::WIDTH];
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(CHUNK);
                    let bytes = &mut buf[..n * T::WIDTH];
                    let read = r
                        .read_exact(bytes)
                        .map(|()| bytes.chunks_exact(T::WIDTH).map(T::get).collect());
                    let failed = read.is_err();
                    // a receiver gone has stopped at an error of its own
                    if tx.send(read).is_err() || failed {
                        return;
                    }
                    done += n;
                }
            });
            for records in rx {
                f(&records.map_err(f_err)?)?;
            }
            Ok(())
        })
    }
}

/// Records appended to a file one at a time, a chunk written at a time: a list made in
/// order (a merge's output) goes to disk without being held whole.
pub(crate) struct Writer<T> {
    path: PathBuf,
    w: BufWriter<File>,
    buf: Vec<u8>,
    len: usize,
    _records: std::marker::PhantomData<T>,
}

impl<T: Flat> Writer<T> {
    pub(crate) fn create(path: &Path) -> Result<Writer<T>, EngineError> {
        let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
        Ok(Writer {
            path: path.to_path_buf(),
            w: BufWriter::new(f),
            buf: Vec::with_capacity(CHUNK * T::WIDTH),
            len: 0,
            _records: std::marker::PhantomData,
        })
    }

    pub(crate) fn push(&mut self, r: &T) -> Result<(), EngineError> {
        r.put(&mut self.buf);
        self.len += 1;
        if self.buf.len() >= CHUNK * T::WIDTH {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), EngineError> {
        self.w
            .write_all(&self.buf)
            .map_err(|e| EngineError::io(&self.path, e))?;
        self.buf.clear();
        Ok(())
    }

    /// The records written, on disk.
    pub(crate) fn finish(mut self) -> Result<Deferred<T>, EngineError> {
        self.flush_buf()?;
        self.w.flush().map_err(|e| EngineError::io(&self.path, e))?;
        Ok(Deferred::OnDisk {
            path: self.path,
            len: self.len,
        })
    }
}

/// The records of a [`Deferred`] read in order, a chunk at a time, one record looked at
/// before it is taken: a merge reads each of its inputs once, front to back.
pub(crate) struct Cursor<T> {
    path: PathBuf,
    r: Option<BufReader<File>>,
    /// Records not yet read from the file.
    left: usize,
    held: Vec<T>,
    at: usize,
    bytes: Vec<u8>,
}

impl<T: Flat + Clone> Cursor<T> {
    pub(crate) fn open(d: &Deferred<T>) -> Result<Cursor<T>, EngineError> {
        let (path, r, left, held) = match d {
            Deferred::Held(v) => (PathBuf::new(), None, 0, v.clone()),
            Deferred::OnDisk { path, len } => {
                let f = File::open(path).map_err(|e| EngineError::io(path, e))?;
                (path.clone(), Some(BufReader::new(f)), *len, Vec::new())
            }
            // a merge's inputs are each part's own list
            Deferred::EndToEnd(_) => {
                return Err(EngineError::Internal(
                    "a merge reads one list of records, not several".into(),
                ));
            }
        };
        Ok(Cursor {
            path,
            r,
            left,
            held,
            at: 0,
            bytes: Vec::new(),
        })
    }

    /// The next record, not taken; `None` past the last.
    pub(crate) fn peek(&mut self) -> Result<Option<&T>, EngineError> {
        if self.at == self.held.len() && self.left > 0 {
            let n = self.left.min(CHUNK);
            self.bytes.resize(n * T::WIDTH, 0);
            if let Some(r) = &mut self.r {
                r.read_exact(&mut self.bytes)
                    .map_err(|e| EngineError::io(&self.path, e))?;
            }
            self.held.clear();
            self.held
                .extend(self.bytes.chunks_exact(T::WIDTH).map(T::get));
            self.at = 0;
            self.left -= n;
        }
        Ok(self.held.get(self.at))
    }

    /// Takes the record [`Cursor::peek`] showed.
    pub(crate) fn advance(&mut self) {
        self.at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<T: Flat + Clone + Send + OfCustomer + Coded> Deferred<T> {
        /// A copy of the records, kept where they are.
        fn read(&self) -> Result<Vec<T>, EngineError> {
            let mut out = Vec::new();
            self.for_each_chunk(|c| {
                out.extend_from_slice(c);
                Ok::<_, EngineError>(())
            })?;
            Ok(out)
        }

        /// The records, taken.
        fn take(&mut self) -> Result<Vec<T>, EngineError> {
            self.take_as(|r| Some(r.clone()))
        }

        fn path_for_test(&self) -> &Path {
            match self {
                Deferred::OnDisk { path, .. } => path,
                _ => panic!("not one file"),
            }
        }
    }

    #[test]
    fn lists_end_to_end_read_renumbered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spend = |customer, category| CategorySpend {
            customer,
            category,
            revenue: f64::from(customer) + f64::from(category) / 10.0,
            orders: 1,
        };
        // two parts' lists (the second longer than a chunk) and a part without customers
        let first: Vec<CategorySpend> = vec![spend(0, 1), spend(1, 0), spend(2, 1)];
        let second: Vec<CategorySpend> = (0..CHUNK as u32 + 3).map(|c| spend(c, c % 2)).collect();
        let piece = |records: Vec<CategorySpend>, name: &str, offset, codes: Vec<u32>| Piece {
            records: Deferred::to_disk(records, &dir.path().join(name)).unwrap(),
            offset,
            codes,
        };
        let all = Deferred::EndToEnd(vec![
            piece(first.clone(), "a.bin", Some(0), vec![2, 0]),
            piece(Vec::new(), "empty.bin", None, Vec::new()),
            piece(second.clone(), "b.bin", Some(3), vec![1, 2]),
        ]);
        let mut want: Vec<CategorySpend> = first
            .iter()
            .map(|s| CategorySpend {
                category: [2, 0][s.category as usize],
                ..*s
            })
            .collect();
        want.extend(second.iter().map(|s| CategorySpend {
            customer: s.customer + 3,
            category: [1, 2][s.category as usize],
            ..*s
        }));
        assert_eq!(all.len(), want.len());
        assert_eq!(all.read().unwrap(), want);
        all.discard();
        crate::removal::wait();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // a code past its list's names is an error, not a wrong category
        let bad = Deferred::EndToEnd(vec![piece(first, "c.bin", Some(0), vec![0])]);
        assert!(bad.read().is_err());
    }

    #[test]
    fn records_come_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let months: Vec<MonthActivity> = (0..CHUNK as u32 + 7)
            .map(|i| MonthActivity {
                customer: i,
                year: 2024 - (i % 3) as i32 * 2030,
                month: 1 + i % 12,
                revenue: if i % 5 == 0 { -0.0 } else { i as f64 / 7.0 },
                orders: u32::MAX - i,
            })
            .collect();
        let spend: Vec<CategorySpend> = (0..5)
            .map(|i| CategorySpend {
                customer: i,
                category: 9 - i,
                revenue: f64::MIN_POSITIVE * i as f64,
                orders: i,
            })
            .collect();
        let p = dir.path().join("months.bin");
        let mut d = Deferred::to_disk(months.clone(), &p).unwrap();
        let back = d.take().unwrap();
        assert_eq!(back.len(), months.len());
        for (a, b) in months.iter().zip(&back) {
            assert_eq!(
                (a.customer, a.year, a.month, a.revenue.to_bits(), a.orders),
                (b.customer, b.year, b.month, b.revenue.to_bits(), b.orders)
            );
        }
        assert!(!p.exists(), "the file goes once read");
        assert!(d.take().unwrap().is_empty(), "taken once");
        let q = dir.path().join("spend.bin");
        let back = Deferred::to_disk(spend.clone(), &q)
            .unwrap()
            .take()
            .unwrap();
        assert_eq!(back, spend);
        // appended one at a time and read back through a cursor: the same records, in order
        let r = dir.path().join("written.bin");
        let mut w = Writer::create(&r).unwrap();
        months.iter().try_for_each(|m| w.push(m)).unwrap();
        let written = w.finish().unwrap();
        let mut c = Cursor::open(&written).unwrap();
        let mut seen = Vec::new();
        while let Some(m) = c.peek().unwrap() {
            seen.push(*m);
            c.advance();
        }
        assert_eq!(seen.len(), months.len());
        assert!(
            seen.iter()
                .zip(&months)
                .all(|(a, b)| a.customer == b.customer
                    && a.revenue.to_bits() == b.revenue.to_bits()
                    && (a.year, a.month, a.orders) == (b.year, b.month, b.orders))
        );
        assert_eq!(
            std::fs::read(&r).unwrap(),
            std::fs::read(
                Deferred::to_disk(months.clone(), &p)
                    .unwrap()
                    .path_for_test()
            )
            .unwrap(),
            "the same bytes as written whole"
        );
        let mut gone = Deferred::<CategorySpend>::to_disk(spend, &q).unwrap();
        std::fs::remove_file(&q).unwrap();
        assert!(
            gone.take().is_err(),
            "a missing file is an error, not no records"
        );
    }
}
