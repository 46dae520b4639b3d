//! The staging folders of this process's runs, so that a run stopped by a signal (which ends
//! the process without running destructors) can remove them first: they hold every valid row
//! of the input again, as Parquet.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// `dir` holds a run's staged rows until [`ended`] or [`remove_staging`].
#[cfg_attr(not(feature = "ballista"), allow(dead_code))]
pub(crate) fn began(dir: &Path) {
    if let Ok(mut v) = LIVE.lock() {
        v.push(dir.to_path_buf());
    }
}

/// `dir` was removed by its run.
#[cfg_attr(not(feature = "ballista"), allow(dead_code))]
pub(crate) fn ended(dir: &Path) {
    if let Ok(mut v) = LIVE.lock() {
        v.retain(|d| d != dir);
    }
}

/// Removes the staging folders of this process's runs still going: for a binary stopped by a
/// signal (Ctrl-C, a kill) or its memory limit. The run's threads may still be writing into
/// them, so each is tried a few times.
pub fn remove_staging() {
    let dirs = match LIVE.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    for d in dirs {
        for _ in 0..50 {
            if std::fs::remove_dir_all(&d).is_ok() || !d.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_folder_is_removed_and_an_ended_one_left() {
        let d = std::env::temp_dir().join(format!("clientele-live-test-{}", std::process::id()));
        let (live, done) = (d.join("live"), d.join("done"));
        for p in [&live, &done] {
            std::fs::create_dir_all(p.join("inner")).unwrap();
            std::fs::write(p.join("inner/part-0000.parquet"), b"rows").unwrap();
            began(p);
        }
        ended(&done);
        remove_staging();
        assert!(!live.exists());
        assert!(done.exists(), "a folder its run let go of is not touched");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
