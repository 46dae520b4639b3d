//! Output folders that clientele owns: written whole, replaced whole, and never anything else.
//!
//! A run writes into a hidden sibling (`.NAME.tmp-PID`) and swaps it into place at the end
//! (`renameat2(RENAME_EXCHANGE)` on Linux), so at every moment the destination holds either the
//! previous complete output or the new one. An existing folder is replaced only when clientele
//! wrote it: it holds [`MANIFEST_FILE`], and nothing beside the files that manifest lists (or
//! the re-rendered reports `clientele report` adds). Any other existing file or non-empty
//! folder is refused, and so is a folder that holds one of the run's inputs: users point
//! `--out` at `data/` or `Documents/` by mistake, and a tool must not empty those.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use clientele_core::Note;
use serde::{Deserialize, Serialize};

use crate::EngineError;

/// The manifest that marks a folder as clientele's own.
pub const MANIFEST_FILE: &str = "clientele-manifest.json";

/// Present in a temporary folder while it is being written, so a later run knows a leftover
/// from a killed run is clientele's and may be removed.
const WRITING_MARK: &str = ".clientele-writing";

/// What a clientele output folder holds, written last, as `clientele-manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `clientele`.
    pub tool: String,
    /// The version that wrote it.
    pub version: String,
    /// What the folder is: `analysis`, `sample shop` or `comparison`.
    pub kind: String,
    /// The analysis' config hash, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// The analysis' as-of date, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// The analysis' settings ([`crate::Config::settings`]), so that `compare` can say what
    /// differs between two runs whose config hashes differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
    /// Every file written, relative, `/`-separated, sorted.
    pub files: Vec<String>,
}

impl Manifest {
    /// A manifest of `kind` for this version; the files are filled in when the folder is
    /// finished.
    pub fn new(kind: &str) -> Manifest {
        Manifest {
            tool: "clientele".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: kind.into(),
            config_hash: None,
            as_of: None,
            settings: None,
            files: Vec::new(),
        }
    }
}

fn refused(out: &Path, reason: Note, fix: Note) -> EngineError {
    EngineError::OutputRefused {
        out: out.to_path_buf(),
        reason,
        fix,
    }
}

/// Checks that `out` may be written: it does not exist, is an empty folder, or is a folder
/// clientele wrote — and holds none of `inputs` (files, folders or glob patterns).
pub fn check_destination(out: &Path, inputs: &[PathBuf]) -> Result<(), EngineError> {
    if let Some((input, holds)) = input_inside(out, inputs) {
        let input = input.display();
        let reason = if holds {
            Note::new(
                format!("包含输入 {input}"),
                format!("holds the input {input}"),
            )
        } else {
            Note::new(
                format!("位于输入文件夹 {input} 之内，下次运行时其中的文件会被当作输入读取"),
                format!(
                    "lies inside the input folder {input}, so its files would be read as input next time"
                ),
            )
        };
        return Err(refused(
            out,
            reason,
            Note::new(
                "把结果写到输入文件夹之外的专用文件夹，例如 --out clientele-out",
                "write the outputs to a folder of their own, outside the input folders, e.g. --out clientele-out",
            ),
        ));
    }
    if let (Some(t), Some(cwd)) = (
        canonical_target(out),
        std::env::current_dir().and_then(fs::canonicalize).ok(),
    ) && cwd.starts_with(&t)
    {
        return Err(refused(
            out,
            Note::new(
                "是当前文件夹，或包含当前文件夹",
                "is the current folder, or holds it",
            ),
            Note::new(
                "另给一个专用文件夹，例如 --out clientele-out",
                "pass a folder of its own, e.g. --out clientele-out",
            ),
        ));
    }
    let meta = match fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::io(out, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refused(
            out,
            Note::new("是符号链接", "is a symbolic link"),
            Note::new(
                "给出它指向的文件夹，或一个新的文件夹名",
                "pass the folder it points to, or a new folder name",
            ),
        ));
    }
    if !meta.is_dir() {
        return Err(refused(
            out,
            Note::new(
                "是一个已有的文件，而 clientele 要在这里写一个文件夹",
                "is an existing file, and clientele writes a folder there",
            ),
            Note::new(
                "给一个新的文件夹名（clientele 从不覆盖不是它写的文件）",
                "pass a new folder name (clientele never overwrites a file it did not write)",
            ),
        ));
    }
    let entries = sorted_entries(out).map_err(|e| EngineError::io(out, e))?;
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(manifest) = read_manifest(out) {
        return match foreign_file(out, &manifest) {
            None => Ok(()),
            Some(f) => Err(refused(
                out,
                Note::new(
                    format!("由 clientele 写出，但现在还有 {f}，它不是 clientele 写的"),
                    format!(
                        "was written by clientele but now also holds {f}, which clientele did not write"
                    ),
                ),
                Note::new(
                    "把那个文件移出该文件夹，或另给一个 --out",
                    "move that file out of the folder, or pass another --out",
                ),
            )),
        };
    }
    if is_legacy_output(out) {
        return Ok(());
    }
    let shown = entries[0].to_string_lossy().to_string();
    let (more_zh, more) = match entries.len() - 1 {
        0 => (String::new(), String::new()),
        1 => (" 等 2 项".into(), " and 1 more entry".into()),
        n => (
            format!(" 等 {} 项", n + 1),
            format!(" and {n} more entries"),
        ),
    };
    Err(refused(
        out,
        Note::new(
            format!("是一个不是 clientele 写的文件夹（其中有 {shown}{more_zh}）"),
            format!("is a folder clientele did not write (it holds {shown}{more})"),
        ),
        Note::new(
            "给一个新的或空的文件夹；clientele 只替换它自己写的文件夹",
            "pass a new or empty folder; clientele replaces only folders it wrote itself",
        ),
    ))
}

/// The first input (a file, folder or glob pattern) that lies inside `out`, or a folder input
/// that holds `out` (its outputs would be read as input by the next run).
fn input_inside(out: &Path, inputs: &[PathBuf]) -> Option<(PathBuf, bool)> {
    let out = canonical_target(out)?;
    inputs.iter().find_map(|i| {
        let mut candidates = vec![i.clone()];
        if !i.exists() {
            candidates =
                clientele_ingest::expand_sources(std::slice::from_ref(i)).unwrap_or_default();
        }
        candidates.into_iter().find_map(|c| {
            let canon = fs::canonicalize(&c).ok()?;
            if canon.starts_with(&out) {
                Some((i.clone(), true))
            } else {
                (canon.is_dir() && out.starts_with(&canon)).then(|| (i.clone(), false))
            }
        })
    })
}

/// `target` with symbolic links and `..` resolved, also when it does not exist yet (its
/// nearest existing ancestor resolved, the rest appended).
fn canonical_target(target: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(target).ok()?;
    let mut rest = Vec::new();
    let mut base = abs.as_path();
    loop {
        if let Ok(c) = fs::canonicalize(base) {
            return Some(rest.iter().rev().fold(c, |acc: PathBuf, n| acc.join(n)));
        }
        rest.push(base.file_name()?.to_os_string());
        base = base.parent()?;
    }
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    let mut names = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

pub(crate) fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = fs::read(dir.join(MANIFEST_FILE)).ok()?;
    let m: Manifest = serde_json::from_slice(&text).ok()?;
    (m.tool == "clientele").then_some(m)
}

/// The first file under `dir` that the manifest does not list and `clientele report` did not
/// add.
fn foreign_file(dir: &Path, manifest: &Manifest) -> Option<String> {
    let mut files = Vec::new();
    if list_files(dir, Path::new(""), &mut files).is_err() {
        return Some("files that cannot be listed".into());
    }
    files.into_iter().find(|f| {
        f != MANIFEST_FILE && !manifest.files.iter().any(|m| m == f) && !rendered_page(dir, f)
    })
}

/// A page `clientele report` rendered into an output folder: `report.html`,
/// `report.zh.html` or `report.en.html` that carries clientele's generator tag.
fn rendered_page(dir: &Path, rel: &str) -> bool {
    matches!(rel, "report.html" | "report.zh.html" | "report.en.html")
        && is_clientele_page(&dir.join(rel))
}

/// Whether the file is a report page clientele rendered (its generator meta tag, in the
/// first 4 KiB).
pub fn is_clientele_page(p: &Path) -> bool {
    let mut head = vec![0u8; 4096];
    let n = fs::File::open(p)
        .and_then(|mut f| io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).contains(r#"<meta name="generator" content="clientele">"#)
}

/// Every file under `dir` (recursively), as `/`-separated paths relative to it.
fn list_files(dir: &Path, rel: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for e in fs::read_dir(dir.join(rel))? {
        let e = e?;
        let path = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            list_files(dir, &path, out)?;
        } else {
            let parts: Vec<String> = path
                .components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// An output of a clientele version before manifests: only files such a version wrote
/// (checked by name and place), and a `summary.json` that says which tool wrote it.
fn is_legacy_output(dir: &Path) -> bool {
    let mut files = Vec::new();
    let written_by_clientele = |f: &String| match f.split_once('/') {
        None => {
            matches!(
                f.as_str(),
                "customers.parquet" | "customers.csv" | "summary.json" | "rejects.csv"
            ) || rendered_page(dir, f)
        }
        Some(("segments" | "migration", rest)) => rest.ends_with(".csv"),
        Some(("snapshot", rest)) => rest.ends_with(".json"),
        Some(_) => false,
    };
    list_files(dir, Path::new(""), &mut files).is_ok()
        && files.iter().all(written_by_clientele)
        && fs::read(dir.join("summary.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("tool")?.as_str().map(|t| t.starts_with("clientele")))
            .unwrap_or(false)
}

/// A folder being written: files go into [`OutputDir::path`], and [`OutputDir::finish`]
/// swaps it into place. Dropped unfinished, it is removed.
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    /// `target` resolved (absolute, links and `..` resolved): where the swap happens.
    abs: PathBuf,
    tmp: PathBuf,
    finished: bool,
}

impl OutputDir {
    /// Checks `target` (see [`check_destination`]), removes what killed runs left beside it,
    /// and creates the temporary folder to write into.
    pub fn begin(target: &Path, inputs: &[PathBuf]) -> Result<OutputDir, EngineError> {
        check_destination(target, inputs)?;
        // the real place, so that `out/`, `a/../out` or a linked parent name one folder
        let abs = canonical_target(target).unwrap_or_else(|| target.to_path_buf());
        let (parent, name) = parent_and_name(&abs);
        fs::create_dir_all(&parent).map_err(|e| EngineError::io(target, e))?;
        remove_stale(&parent, &name);
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            // left by an earlier process with this id, or someone else's: never removed then
            if !is_leftover(&tmp) {
                let tmp = tmp.display();
                return Err(refused(
                    target,
                    Note::new(
                        format!("它的临时文件夹 {tmp} 已经存在"),
                        format!("its temporary folder {tmp} already exists"),
                    ),
                    Note::new("把那个文件夹移走", "move that folder away"),
                ));
            }
            remove_ours(&tmp).map_err(|e| EngineError::io(target, e))?;
        }
        fs::create_dir(&tmp).map_err(|e| EngineError::io(target, e))?;
        fs::write(tmp.join(WRITING_MARK), b"").map_err(|e| EngineError::io(target, e))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            abs,
            tmp,
            finished: false,
        })
    }

    /// Where to write the files.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The destination.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Rewrites an error about a file in the temporary folder to name the same file under the
    /// destination, which is the path the user knows.
    pub fn rename_error(&self, e: EngineError) -> EngineError {
        let fix = |p: PathBuf| match p.strip_prefix(&self.tmp) {
            Ok(rel) => self.target.join(rel),
            Err(_) => p,
        };
        match e {
            EngineError::Io { path, source } => EngineError::Io {
                path: fix(path),
                source,
            },
            EngineError::Output { path, reason } => EngineError::Output {
                path: fix(path),
                reason,
            },
            other => other,
        }
    }

    /// Writes the manifest (listing every file written) and swaps the folder into place:
    /// the previous output stays whole until the new one replaces it in one step.
    pub fn finish(mut self, mut manifest: Manifest) -> Result<PathBuf, EngineError> {
        let target = self.target.clone();
        let io_err = |e| EngineError::io(&target, e);
        let mut files = Vec::new();
        list_files(&self.tmp, Path::new(""), &mut files).map_err(io_err)?;
        files.retain(|f| f != MANIFEST_FILE && f != WRITING_MARK);
        files.sort();
        manifest.files = files;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Output {
            path: target.join(MANIFEST_FILE),
            reason: e.to_string(),
        })?;
        fs::write(self.tmp.join(MANIFEST_FILE), json).map_err(io_err)?;
        // the mark goes after the manifest is there, so the folder is always known as ours
        fs::remove_file(self.tmp.join(WRITING_MARK)).map_err(io_err)?;
        // Something may have appeared at the destination while this run worked.
        check_destination(&target, &[])?;
        swap_into_place(&self.tmp, &self.abs).map_err(io_err)?;
        self.finished = true;
        Ok(target)
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = remove_ours(&self.tmp);
        }
    }
}

/// Spill folders this process is writing, for [`remove_unfinished`].
static UNFINISHED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Notes a folder to remove if the process is stopped before it ends ([`remove_unfinished`]).
pub(crate) fn register_unfinished(dir: &Path) {
    if let Ok(mut v) = UNFINISHED.lock() {
        v.push(dir.to_path_buf());
    }
}

/// Forgets a folder noted by [`register_unfinished`] (it was removed the usual way).
pub(crate) fn unregister_unfinished(dir: &Path) {
    if let Ok(mut v) = UNFINISHED.lock() {
        v.retain(|p| p != dir);
    }
}

/// Removes the spill folders (and a cluster run's staging folder) of this process's runs: for
/// a binary stopped by a signal (Ctrl-C, a kill) or by its memory limit, which ends the
/// process without running destructors. Spill files are as large as the input, and a later
/// run would remove them only if it spilled to the same place. The unfinished output folder
/// is small and the next run removes it.
pub fn remove_unfinished() {
    // a cluster run's staged rows too
    clientele_distributed::remove_staging();
    let dirs = match UNFINISHED.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    // the run's other threads may still be writing into them: a few tries
    for d in dirs {
        for _ in 0..50 {
            if remove_ours(&d).is_ok() && !d.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Marks `dir` as clientele's while it is written, so that a later run may remove it when
/// the process that made it is gone.
pub(crate) fn mark_writing(dir: &Path) -> io::Result<()> {
    fs::write(dir.join(WRITING_MARK), b"")
}

pub(crate) fn parent_and_name(target: &Path) -> (PathBuf, String) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    (parent, name)
}

/// Moves `tmp` to `target`. An existing `target` folder is exchanged with `tmp` in one step
/// where the system can (Linux `renameat2`), then the old one, now at `tmp`, is removed.
/// Elsewhere it is two renames, with a moment in between where `target` is missing.
fn swap_into_place(tmp: &Path, target: &Path) -> io::Result<()> {
    if !target.exists() {
        return fs::rename(tmp, target);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, tmp, CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => {
                // `tmp` now holds the previous output; a failure to remove it leaves a
                // leftover that the next run removes.
                let _ = remove_ours(tmp);
                return Ok(());
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (parent, name) = parent_and_name(target);
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    fs::rename(target, &old)?;
    fs::rename(tmp, target)?;
    let _ = remove_ours(&old);
    Ok(())
}

/// Removes a folder of clientele's with its manifest and writing mark last, so that a run
/// killed halfway leaves a folder the next run still knows as clientele's.
pub(crate) fn remove_ours(dir: &Path) -> io::Result<()> {
    // an entry gone meanwhile (the run removing its own files as it goes) is fine
    let gone_ok = |r: io::Result<()>| match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name == MANIFEST_FILE || name == WRITING_MARK {
            continue;
        }
        if e.file_type()?.is_dir() {
            gone_ok(fs::remove_dir_all(e.path()))?;
        } else {
            gone_ok(fs::remove_file(e.path()))?;
        }
    }
    gone_ok(fs::remove_dir_all(dir))
}

/// Removes `.NAME.tmp-PID`, `.NAME.old-PID` and `.NAME.spill-PID` folders beside the destination that a killed
/// run left: only when that process is gone and the folder is clientele's (it holds the
/// writing mark or a manifest).
pub(crate) fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(pid) = [".tmp-", ".old-", ".spill-"].iter().find_map(|kind| {
            file_name
                .strip_prefix('.')?
                .strip_prefix(name)?
                .strip_prefix(kind)?
                .parse::<u32>()
                .ok()
        }) else {
            continue;
        };
        let path = e.path();
        if is_leftover(&path) && pid != std::process::id() && !process_alive(pid) {
            let _ = remove_ours(&path);
        }
    }
}

/// A folder clientele was writing or removing: marked, with a manifest, an output of an
/// earlier version, or empty (killed between creating the folder and marking it).
fn is_leftover(path: &Path) -> bool {
    path.is_dir()
        && (path.join(WRITING_MARK).exists()
            || read_manifest(path).is_some()
            || sorted_entries(path).is_ok_and(|en| en.is_empty())
            || is_legacy_output(path))
}

/// Whether a process with this id runs. Where that cannot be told, it is taken as running,
/// so a leftover is kept rather than a running writer's folder removed.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Writes one file atomically (a temporary file beside it, renamed over it). An existing
/// file is replaced only when `may_replace` says it is clientele's own or the user forced it.
pub fn write_file(
    path: &Path,
    bytes: &[u8],
    may_replace: impl Fn(&Path) -> bool,
) -> Result<(), EngineError> {
    write_file_with(path, may_replace, |f| {
        io::Write::write_all(f, bytes).map_err(|e| EngineError::io(path, e))
    })
}

/// [`write_file`] with the content written by `write` into the temporary file (streamed, for
/// a large export); the file takes its name only when `write` succeeded.
pub fn write_file_with(
    path: &Path,
    may_replace: impl Fn(&Path) -> bool,
    write: impl FnOnce(&mut fs::File) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(refused(
                path,
                Note::new("是一个文件夹", "is a folder"),
                Note::new(
                    "给一个文件名，而不是文件夹",
                    "pass a file name, not a folder",
                ),
            ));
        }
        Ok(_) if !may_replace(path) => {
            return Err(refused(
                path,
                Note::new(
                    "已经存在，且不是 clientele 写的",
                    "already exists and was not written by clientele",
                ),
                Note::new(
                    "另给一个文件名，或用 --force 替换它",
                    "pass another file name, or --force to replace it",
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(EngineError::io(path, e)),
    }
    let (parent, name) = parent_and_name(path);
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    // a new file only: a file of that name that is not ours is neither overwritten nor removed
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| EngineError::io(&tmp, e))?;
    if let Err(e) = write(&mut file).and_then(|()| {
        file.sync_all()
            .and_then(|()| fs::rename(&tmp, path))
            .map_err(|e| EngineError::io(path, e))
    }) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(dir: &OutputDir, name: &str, text: &str) {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    #[test]
    fn a_new_folder_is_created_with_a_manifest_listing_its_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let d = OutputDir::begin(&out, &[]).expect("begin");
        finish(&d, "a.csv", "1");
        finish(&d, "segments/x/y.csv", "2");
        d.finish(Manifest::new("analysis")).expect("finish");
        let m = read_manifest(&out).expect("manifest");
        assert_eq!(m.files, vec!["a.csv", "segments/x/y.csv"]);
        assert_eq!(fs::read_dir(root.path()).expect("ls").count(), 1);
    }

    #[test]
    fn a_folder_clientele_wrote_is_replaced_whole() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let d = OutputDir::begin(&out, &[]).expect("begin");
        finish(&d, "old.csv", "old");
        d.finish(Manifest::new("analysis")).expect("finish");
        // `clientele report` may add a re-rendered page; a page of the user's blocks
        let page = r#"<html><head><meta name="generator" content="clientele">"#;
        fs::write(out.join("report.en.html"), page).expect("write");
        fs::write(out.join("report-final.html"), page).expect("write");
        assert!(OutputDir::begin(&out, &[]).is_err());
        fs::remove_file(out.join("report-final.html")).expect("remove");
        let d = OutputDir::begin(&out, &[]).expect("begin again");
        finish(&d, "new.csv", "new");
        d.finish(Manifest::new("analysis")).expect("finish again");
        assert!(out.join("new.csv").exists() && !out.join("old.csv").exists());
        assert_eq!(fs::read_dir(root.path()).expect("ls").count(), 1);
    }

    #[test]
    fn user_files_and_folders_are_refused_and_left_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let docs = root.path().join("Documents");
        fs::create_dir(&docs).expect("mkdir");
        fs::write(docs.join("notes.txt"), "mine").expect("write");
        let e = OutputDir::begin(&docs, &[])
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("did not write") && e.contains("notes.txt"),
            "{e}"
        );
        let file = root.path().join("notes.txt");
        fs::write(&file, "mine").expect("write");
        let e = OutputDir::begin(&file, &[])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("existing file"), "{e}");
        assert_eq!(fs::read_to_string(&file).expect("read"), "mine");
        assert_eq!(
            fs::read_to_string(docs.join("notes.txt")).expect("read"),
            "mine"
        );
        assert_eq!(fs::read_dir(root.path()).expect("ls").count(), 2);
    }

    #[test]
    fn a_user_file_added_to_an_output_folder_blocks_its_replacement() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let d = OutputDir::begin(&out, &[]).expect("begin");
        finish(&d, "a.csv", "1");
        d.finish(Manifest::new("analysis")).expect("finish");
        fs::write(out.join("my notes.txt"), "mine").expect("write");
        let e = OutputDir::begin(&out, &[])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("my notes.txt"), "{e}");
    }

    #[test]
    fn an_output_of_an_earlier_version_is_recognised_by_its_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let old = root.path().join("old");
        fs::create_dir_all(old.join("segments/rfm")).expect("mkdir");
        fs::write(old.join("summary.json"), r#"{"tool": "clientele 0.1.0"}"#).expect("write");
        fs::write(old.join("segments/rfm/VIP.csv"), "id\n").expect("write");
        assert!(check_destination(&old, &[]).is_ok());
        fs::write(old.join("segments/notes.docx"), "mine").expect("write");
        assert!(check_destination(&old, &[]).is_err());
    }

    #[test]
    fn the_current_folder_is_refused() {
        let e = check_destination(Path::new("."), &[])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("current folder"), "{e}");
        assert!(check_destination(Path::new(".."), &[]).is_err());
    }

    #[test]
    fn a_folder_holding_an_input_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        fs::create_dir(&data).expect("mkdir");
        let orders = data.join("orders.csv");
        fs::write(&orders, "customer_id\n").expect("write");
        let e = check_destination(&data, std::slice::from_ref(&orders))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("holds the input"), "{e}");
        let pattern = data.join("*.csv");
        assert!(check_destination(&data, &[pattern]).is_err());
        // the folder itself as the input, and an input folder above the output
        assert!(check_destination(&data, std::slice::from_ref(&data)).is_err());
    }

    #[test]
    fn leftovers_of_killed_runs_are_removed_but_not_other_folders() {
        let root = tempfile::tempdir().expect("tempdir");
        // a process id that does not run: above the kernel's maximum
        let dead = root.path().join(".out.tmp-4194304999");
        fs::create_dir(&dead).expect("mkdir");
        fs::write(dead.join(WRITING_MARK), "").expect("write");
        let foreign = root.path().join(".out.tmp-4194304998");
        fs::create_dir(&foreign).expect("mkdir");
        fs::write(foreign.join("mine.txt"), "").expect("write");
        let d = OutputDir::begin(&root.path().join("out"), &[]).expect("begin");
        d.finish(Manifest::new("analysis")).expect("finish");
        assert!(!dead.exists() || !cfg!(target_os = "linux"));
        assert!(foreign.exists());
    }

    #[test]
    fn an_unfinished_folder_is_removed_and_the_previous_output_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("out");
        let d = OutputDir::begin(&out, &[]).expect("begin");
        finish(&d, "a.csv", "1");
        d.finish(Manifest::new("analysis")).expect("finish");
        let d = OutputDir::begin(&out, &[]).expect("begin");
        finish(&d, "b.csv", "2");
        drop(d);
        assert_eq!(fs::read_to_string(out.join("a.csv")).expect("read"), "1");
        assert_eq!(fs::read_dir(root.path()).expect("ls").count(), 1);
    }

    #[test]
    fn single_files_are_replaced_only_when_allowed() {
        let root = tempfile::tempdir().expect("tempdir");
        let p = root.path().join("r.json");
        write_file(&p, b"1", |_| false).expect("new file");
        assert!(write_file(&p, b"2", |_| false).is_err());
        assert_eq!(fs::read_to_string(&p).expect("read"), "1");
        write_file(&p, b"3", |_| true).expect("forced");
        assert_eq!(fs::read_to_string(&p).expect("read"), "3");
        assert_eq!(fs::read_dir(root.path()).expect("ls").count(), 1);
    }
}
