//! Spill files removed on a thread of their own once the run is done with them.
//!
//! Removing a file is not free: ext4 takes 2–3 s to remove 4 GB (this machine, cached or
//! written back alike), and a run by parts at 100M rows removes about 15 GB before its end
//! (the rows of each part once folded, the parts' tables and detail once merged, the merged
//! detail once read), each removal inside the step that was done with the file. The step
//! goes on instead; the file is renamed out of the way first (instant, so a file of the same
//! name made afterwards, as a reading started again makes, is never the one removed), and a
//! spill folder waits for the removals ([`wait`]) before it removes itself. The same thread
//! gives back the space of a file's bytes that will not be read again ([`give_back_soon`]):
//! the column store's 6 GB at 100M rows took 2.5–3 s to remove at the very end of a run, all
//! of it waiting on the disk (a mount with `discard`), and is given back while
//! `customers.parquet` is written instead.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Condvar, Mutex, OnceLock};

/// What the removal thread does with a file.
enum Job {
    /// Removes it.
    Remove(PathBuf),
    /// Gives back the space of these bytes of it (read as zeros afterwards).
    GiveBack(PathBuf, std::ops::Range<u64>),
}

impl Job {
    fn run(self) {
        match self {
            Job::Remove(path) => {
                let _ = std::fs::remove_file(&path);
            }
            Job::GiveBack(path, bytes) => punch(&path, bytes),
        }
    }
}

/// A hole over `bytes` of the file at `path`, where the system makes one (Linux); nothing
/// otherwise, or when the file is gone: its space comes back when it is removed anyway.
fn punch(path: &Path, bytes: std::ops::Range<u64>) {
    #[cfg(target_os = "linux")]
    if let Ok(f) = std::fs::OpenOptions::new().write(true).open(path) {
        use rustix::fs::FallocateFlags;
        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        let _ = rustix::fs::fallocate(&f, flags, bytes.start, bytes.end - bytes.start);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (path, bytes);
}

/// Files queued and not yet removed, and the queue's thread.
struct Remover {
    queue: Mutex<Sender<Job>>,
    pending: Mutex<usize>,
    done: Condvar,
}

fn remover() -> Option<&'static Remover> {
    static REMOVER: OnceLock<Option<Remover>> = OnceLock::new();
    REMOVER
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            let spawned = std::thread::Builder::new()
                .name("spill-removal".into())
                .spawn(move || {
                    for job in rx {
                        job.run();
                        if let Some(r) = remover() {
                            let mut n = r.pending.lock().unwrap_or_else(|p| p.into_inner());
                            *n = n.saturating_sub(1);
                            r.done.notify_all();
                        }
                    }
                });
            spawned.ok().map(|_| Remover {
                queue: Mutex::new(tx),
                pending: Mutex::new(0),
                done: Condvar::new(),
            })
        })
        .as_ref()
}

/// Removes `path` soon, on the removal thread; at once where it cannot be renamed or no
/// thread could be started. A file already gone is fine (as a removal that found nothing).
pub(crate) fn remove_soon(path: &Path) -> std::io::Result<()> {
    let gone = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    let Some(r) = remover() else {
        return gone(std::fs::remove_file(path));
    };
    // a name no other file of the folder has: the original's with a mark and a number
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".removed-{n}"));
    let renamed = path.with_file_name(name);
    if let Err(e) = std::fs::rename(path, &renamed) {
        return gone(Err(e));
    }
    if let Err(Job::Remove(renamed)) = queue(r, Job::Remove(renamed)) {
        return gone(std::fs::remove_file(&renamed));
    }
    Ok(())
}

/// Gives back the space of `bytes` of the file at `path` soon, on the removal thread: no
/// one reads them again (they read as zeros afterwards). Nothing where no thread could be
/// started: the space comes back when the file is removed.
pub(crate) fn give_back_soon(path: &Path, bytes: std::ops::Range<u64>) {
    if bytes.is_empty() {
        return;
    }
    if let Some(r) = remover() {
        let _ = queue(r, Job::GiveBack(path.to_path_buf(), bytes));
    }
}

/// `job` on the removal thread's queue, counted as pending; back when the thread is gone.
fn queue(r: &Remover, job: Job) -> Result<(), Job> {
    *r.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let sent = r.queue.lock().unwrap_or_else(|p| p.into_inner()).send(job);
    sent.map_err(|e| {
        *r.pending.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        e.0
    })
}

/// Waits until every file queued so far is removed.
pub(crate) fn wait() {
    let Some(r) = remover() else { return };
    let mut n = r.pending.lock().unwrap_or_else(|p| p.into_inner());
    while *n > 0 {
        n = r.done.wait(n).unwrap_or_else(|p| p.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_gone_once_waited_for_and_a_new_one_of_its_name_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows-0001.arrow");
        std::fs::write(&path, b"old").unwrap();
        remove_soon(&path).unwrap();
        // made again at once, as a reading started again makes it
        std::fs::write(&path, b"new").unwrap();
        wait();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the new file: {left:?}");
        // a file already gone is no error
        remove_soon(&dir.path().join("never-made")).unwrap();
        wait();
    }
}
