//! Spill files removed on a thread of their own once the run is done with them.
//!
//! Removing a file is not free: ext4 takes 2–3 s to remove 4 GB (this machine, cached or
//! written back alike), and a run by parts at 100M rows removes about 15 GB before its end
//! (the rows of each part once folded, the parts' tables and detail once merged, the merged
//! detail once read), each removal inside the step that was done with the file. The step
//! goes on instead; the file is renamed out of the way first (instant, so a file of the same
//! name made afterwards, as a reading started again makes, is never the one removed), and a
//! spill folder waits for the removals ([`wait`]) before it removes itself.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Condvar, Mutex, OnceLock};

/// Files queued and not yet removed, and the queue's thread.
struct Remover {
    queue: Mutex<Sender<PathBuf>>,
    pending: Mutex<usize>,
    done: Condvar,
}

fn remover() -> Option<&'static Remover> {
    static REMOVER: OnceLock<Option<Remover>> = OnceLock::new();
    REMOVER
        .get_or_init(|| {
            let (tx, rx) = channel::<PathBuf>();
            let spawned = std::thread::Builder::new()
                .name("spill-removal".into())
                .spawn(move || {
                    for path in rx {
                        let _ = std::fs::remove_file(&path);
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
    *r.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let sent = r
        .queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(renamed.clone());
    if sent.is_err() {
        *r.pending.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        return gone(std::fs::remove_file(&renamed));
    }
    Ok(())
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
