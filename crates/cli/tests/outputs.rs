//! Outputs never touch what clientele did not write: the real binary against users' files and
//! folders, inputs inside `--out`, re-runs, and a run killed while it writes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run clientele");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

const ORDERS: &str = "customer_id,order_date,amount\n\
    a,2024-01-03,10.50\na,2024-02-03,20\nb,2024-01-05,7\nc,2024-03-01,12\nc,2024-03-09,3\n";

/// `clientele analyze INPUTS --out OUT --quiet --lang en`.
fn analyze_cmd(inputs: &[&Path], out: &Path) -> Command {
    let mut c = bin();
    c.arg("analyze")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--lang", "en"]);
    c
}

fn analyze(inputs: &[&Path], out: &Path) -> (Option<i32>, String, String) {
    run(&mut analyze_cmd(inputs, out))
}

/// The files of an output folder but its manifest (run times, sizes): a run by parts writes
/// every one of them, `customers.parquet` included, byte for byte as a run in memory does.
fn files_but_the_manifest(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    contents(dir)
        .into_iter()
        .filter(|(p, _)| p != Path::new("clientele-manifest.json"))
        .collect()
}

/// The two output folders hold the same files with the same bytes (the manifest aside); a
/// difference is named by the file, not shown.
fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files_but_the_manifest(a), files_but_the_manifest(b));
    let names = |f: &[(PathBuf, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb));
    for ((p, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{p:?} differs between {a:?} and {b:?}");
    }
}

/// Every file under `dir` with its bytes, sorted.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                v.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn out_naming_the_data_folder_is_refused_and_nothing_is_touched() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let orders = data.join("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    std::fs::write(data.join("notes.txt"), "mine").unwrap();
    let before = contents(d.path());
    let (code, _, err) = analyze(&[&orders], &data);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--out") && err.contains("holds the input"),
        "{err}"
    );
    // an output inside an input folder would be read as input by the next run
    let (code, _, err) = analyze(&[&data], &data.join("out"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("inside the input folder"), "{err}");
    assert_eq!(contents(d.path()), before);
}

#[test]
fn out_naming_a_users_folder_or_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let orders = d.path().join("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    let docs = d.path().join("Documents");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("thesis.docx"), "mine").unwrap();
    let notes = d.path().join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let before = contents(d.path());
    let (code, _, err) = analyze(&[&orders], &docs);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("did not write") && err.contains("thesis.docx"),
        "{err}"
    );
    let (code, _, err) = analyze(&[&orders], &notes);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("existing file"), "{err}");
    // in a Chinese run, said in Chinese
    let zh = |out: &Path| {
        run(bin()
            .arg("analyze")
            .arg(&orders)
            .arg("--out")
            .arg(out)
            .args(["--quiet", "--lang", "zh"]))
    };
    let (code, _, err) = zh(&docs);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("错误：--out")
            && err.contains("不是 clientele 写的文件夹（其中有 thesis.docx）")
            && err.contains("只替换它自己写的文件夹")
            && !err.contains("did not write"),
        "{err}"
    );
    let (code, _, err) = zh(&notes);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("是一个已有的文件") && !err.contains("existing file"),
        "{err}"
    );
    // the sample-shop generator and a comparison follow the same rule
    let (code, _, err) = run(bin()
        .args(["generate", "--customers", "10", "--quiet", "--out"])
        .arg(&docs));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        contents(d.path()),
        before,
        "nothing moved, hidden or removed"
    );
}

#[test]
fn an_earlier_output_is_replaced_whole_and_an_empty_folder_is_used() {
    let d = tempfile::tempdir().unwrap();
    let orders = d.path().join("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    let out = d.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (code, _, err) = analyze(&[&orders], &out);
    assert_eq!(code, Some(0), "{err}");
    let manifest = std::fs::read_to_string(out.join("clientele-manifest.json")).unwrap();
    assert!(
        manifest.contains("\"tool\": \"clientele\"") && manifest.contains("summary.json"),
        "{manifest}"
    );
    // a re-rendered report beside it does not block the next run
    let (code, _, err) = run(bin().arg("report").arg(&out).args(["--lang", "zh"]));
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = analyze(&[&orders], &out);
    assert_eq!(code, Some(0), "{err}");
    // only the output folder and the input are left: no hidden temporary folders
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["orders.csv", "out"]);
    // a user's file added to the output folder is not swept away with it
    std::fs::write(out.join("my-campaign.xlsx"), "mine").unwrap();
    let (code, _, err) = analyze(&[&orders], &out);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("my-campaign.xlsx"), "{err}");
    assert!(out.join("my-campaign.xlsx").exists());
}

#[test]
fn single_file_outputs_keep_a_users_file() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("clientele.toml");
    std::fs::write(&cfg, "# my settings\n").unwrap();
    let (code, _, err) = run(bin().args(["config", "init"]).arg(&cfg));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "# my settings\n");
    let orders = d.path().join("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    let out = d.path().join("out");
    let (code, _, err) = analyze(&[&orders], &out);
    assert_eq!(code, Some(0), "{err}");
    let page = d.path().join("page.html");
    std::fs::write(&page, "my page").unwrap();
    let (code, _, err) = run(bin().arg("report").arg(&out).arg("--out").arg(&page));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "my page");
    // a page clientele rendered is replaced
    let fresh = d.path().join("fresh.html");
    for _ in 0..2 {
        let (code, _, err) = run(bin().arg("report").arg(&out).arg("--out").arg(&fresh));
        assert_eq!(code, Some(0), "{err}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let d = tempfile::tempdir().unwrap();
    let orders = d.path().join("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    let out = d.path().join("out");
    let mut child = analyze_cmd(&[&orders], &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // close the reading end at once, as `| head -0` would
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Kills a run at many moments while it writes over an earlier output, and finds a complete
/// output every time: the earlier one or the new one, never a mix or nothing; the next run
/// removes what the killed ones left.
#[test]
fn a_run_killed_while_writing_leaves_the_previous_output_complete() {
    let d = tempfile::tempdir().unwrap();
    let shop = d.path().join("shop");
    let (code, _, err) = run(bin()
        .args(["generate", "--customers", "3000", "--quiet", "--out"])
        .arg(&shop));
    assert_eq!(code, Some(0), "{err}");
    let tx = shop.join("transactions.csv");
    let out = d.path().join("out");
    let (code, _, err) = analyze(&[&tx], &out);
    assert_eq!(code, Some(0), "{err}");
    let complete = contents(&out);
    let listed = |c: &[(PathBuf, Vec<u8>)]| {
        let m = c
            .iter()
            .find(|(p, _)| p == Path::new("clientele-manifest.json"))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .expect("a manifest");
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        v["files"].as_array().unwrap().len()
    };
    let expected_files = listed(&complete);
    let started = Instant::now();
    let mut delays = 0;
    let mut mid_write = 0;
    for step in 0..12u64 {
        let mut child = analyze_cmd(&[&tx], &out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // wait until it writes (its temporary folder appears), then a little more each time
        let tmp = d.path().join(format!(".out.tmp-{}", child.id()));
        let waiting = Instant::now();
        while !tmp.exists() && waiting.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(8 * step));
        if tmp.exists() && child.try_wait().unwrap().is_none() {
            mid_write += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = contents(&out);
        assert_eq!(
            listed(&now) + 1,
            now.len(),
            "every file the manifest lists, and only those"
        );
        assert_eq!(listed(&now), expected_files);
        delays += 1;
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    assert!(delays > 3);
    assert!(mid_write > 0, "no run was killed while writing");
    let (code, _, err) = analyze(&[&tx], &out);
    assert_eq!(code, Some(0), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["out", "shop"],
        "leftovers of killed runs are removed"
    );
}

/// A run past `--memory-limit` stops with one message in the run's language, status 2, and
/// leaves the previous output as it was; within the limit the same run is unchanged.
#[test]
#[cfg(target_os = "linux")]
fn a_run_past_its_memory_limit_stops_with_one_message_and_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cdnow = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/CDNOW_master.txt");
    let cdnow_cmd = |extra: &[&str]| {
        let mut c = bin();
        c.arg("analyze").arg(&cdnow);
        c.args(["--delimiter", "whitespace", "--date-col", "date"]);
        c.args([
            "--amount-col",
            "dollar_value",
            "--as-of",
            "1998-06-30",
            "--quiet",
        ]);
        c.args(extra).arg("--out").arg(&out);
        c
    };
    let (code, _, err) = run(&mut cdnow_cmd(&[]));
    assert_eq!(code, Some(0), "{err}");
    let before = contents(&out);
    for (lang, start) in [("zh", "错误：内存用量达到"), ("en", "error: stopped at")] {
        let (code, _, err) = run(&mut cdnow_cmd(&["--lang", lang, "--memory-limit", "30MiB"]));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.starts_with(start), "{err}");
        assert!(err.contains("30.0 MiB"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(contents(&out) == before, "the previous output changed");
    }
    let (code, _, err) = run(&mut cdnow_cmd(&["--memory-limit", "50%"]));
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&mut cdnow_cmd(&["--memory-limit", "0"]));
    assert!(
        code == Some(2) && err.contains("leaves the run no memory"),
        "{err}"
    );
}

/// A `--customer-table-only` run (with its side tables) whose input would not fold within
/// half of `--memory-limit` builds the table part by part on disk, says so, and writes the
/// files of the run in memory; nothing is left beside the output. Ctrl-C during a spilled run removes the spill
/// files; `--history monthly` with `--spill-dir`, and a `--spill-dir` that is not an
/// existing folder, are refused.
#[test]
#[cfg(target_os = "linux")]
fn a_customer_table_past_its_memory_limit_spills_and_equals_the_run_in_memory() {
    let d = tempfile::tempdir().unwrap();
    let shop = d.path().join("shop");
    // 180,000 customers, about a million rows: 53 MB of CSV
    let (code, _, err) = run(bin()
        .args(["generate", "--customers", "180000", "--quiet", "--out"])
        .arg(&shop));
    assert_eq!(code, Some(0), "{err}");
    let tx = shop.join("transactions.csv");
    let table_only = |out: &Path, extra: &[&str]| {
        let mut c = bin();
        c.arg("analyze").arg(&tx).arg("--out").arg(out);
        c.args([
            "--quiet",
            "--lang",
            "en",
            "--customer-table-only",
            "--format",
            "both",
        ]);
        // the side tables are split by customer and joined part by part too
        for (flag, file) in [
            ("--attributes", "customers.csv"),
            ("--satisfaction", "satisfaction.csv"),
            ("--leads", "leads.csv"),
        ] {
            c.arg(flag).arg(shop.join(file));
        }
        c.args(extra);
        c
    };
    let memory = d.path().join("memory");
    let (code, out, err) = run(&mut table_only(&memory, &[]));
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("parts on disk"), "{out}");
    let spilled = d.path().join("spilled");
    let (code, out, err) = run(&mut table_only(&spilled, &["--memory-limit", "300MiB"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("the customer table was built in 3 parts on disk"),
        "{out}"
    );
    assert_same_files(&memory, &spilled);
    let rows =
        |dir: &Path| clientele_engine::read_customers(&dir.join("customers.parquet")).unwrap();
    assert_eq!(rows(&spilled), rows(&memory));
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["memory", "shop", "spilled"], "nothing left beside");

    // Ctrl-C while it spills: the spill folder goes, the output is not made
    let spill_home = d.path().join("spill");
    std::fs::create_dir(&spill_home).unwrap();
    let stopped = d.path().join("stopped");
    let mut child = table_only(&stopped, &["--spill-dir"])
        .arg(&spill_home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let folder = spill_home.join(format!(".stopped.spill-{}", child.id()));
    let waiting = Instant::now();
    while !folder.join("rows-0000.arrow").exists() && waiting.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(folder.exists(), "the run spilled");
    let (code, _, _) = run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    assert_eq!(code, Some(0));
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted: the spill files are removed"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&spill_home).unwrap().count(), 0);
    assert!(!stopped.exists());

    // stopped by the memory limit while it spills: the spill folder goes too
    let home = spill_home.to_string_lossy().into_owned();
    let (code, _, err) = run(&mut table_only(
        &stopped,
        &["--memory-limit", "60MiB", "--spill-dir", &home],
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("past the limit"), "{err}");
    assert_eq!(std::fs::read_dir(&spill_home).unwrap().count(), 0);
    assert!(!stopped.exists());

    let (code, _, err) = run(analyze_cmd(&[&tx], &stopped)
        .args(["--history", "monthly", "--spill-dir"])
        .arg(&spill_home));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot fold by parts on disk: --history monthly"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&spill_home).unwrap().count(), 0);

    // a mistyped --spill-dir is refused before any work, and not made
    for missing in [d.path().join("no-such/folder"), tx.clone()] {
        let (code, _, err) = run(table_only(&stopped, &["--spill-dir"]).arg(&missing));
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("does not exist: name an existing folder")
                || err.contains("is not a folder: name an existing folder"),
            "{err}"
        );
        assert!(!stopped.exists());
    }
    assert!(!d.path().join("no-such").exists(), "nothing made");
}

/// The whole analysis with its customer table folded by parts on disk (`--spill-dir`) writes
/// the files of the run in memory, report included, and says how it was made.
#[test]
fn a_whole_analysis_folded_by_parts_on_disk_equals_the_run_in_memory() {
    let d = tempfile::tempdir().unwrap();
    let cdnow = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/CDNOW_master.txt");
    let cdnow_cmd = |out: &Path, extra: &[&str]| {
        let mut c = bin();
        c.arg("analyze").arg(&cdnow);
        c.args(["--delimiter", "whitespace", "--date-col", "date"]);
        c.args(["--amount-col", "dollar_value", "--as-of", "1998-06-30"]);
        c.args(["--quiet", "--lang", "en"]);
        c.args(extra).arg("--out").arg(out);
        c
    };
    let memory = d.path().join("memory");
    let (code, out, err) = run(&mut cdnow_cmd(&memory, &[]));
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("parts on disk"), "{out}");
    let spill = d.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let by_parts = d.path().join("by-parts");
    let home = spill.to_string_lossy().into_owned();
    // the models score and grade 5,000 of the 23,570 customers at a time: five parts
    let (code, out, err) = run(&mut cdnow_cmd(
        &by_parts,
        &["--spill-dir", &home, "--part-rows", "5000", "--timings"],
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("scored in 5 parts of at most 5000 customers"),
        "{err}"
    );
    assert!(
        out.contains("the customer table was folded in 2 parts on disk"),
        "{out}"
    );
    let a = files_but_the_manifest(&memory);
    assert!(a.len() >= 5 && a.iter().any(|(p, _)| p == Path::new("report.html")));
    assert_same_files(&memory, &by_parts);
    let rows =
        |dir: &Path| clientele_engine::read_customers(&dir.join("customers.parquet")).unwrap();
    assert_eq!(rows(&by_parts), rows(&memory));
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
}
