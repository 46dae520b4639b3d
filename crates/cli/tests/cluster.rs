//! The cluster engine against a real Ballista cluster on loopback: a scheduler and two
//! executors started from the `clientele` binary itself, and `analyze --cluster` compared
//! with the embedded run, file for file, on CDNOW and on a 1M-row synthetic shop (the fold
//! plan; the SQL plan on CDNOW); then an executor killed in the middle of a job. With the PostgreSQL server `.ci/run` starts, a
//! database source on the cluster too.
//!
//! Skipped unless `CLIENTELE_CLUSTER_TESTS` is set (`.ci/run` sets it and builds with
//! `--features cluster`), so `cargo test` needs nothing but Rust.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod pg;

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
}

/// A free loopback port (released before use: the process started next binds it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct LoopbackCluster {
    url: String,
    scheduler: Proc,
    executors: Vec<(Proc, PathBuf)>,
    _dir: tempfile::TempDir,
}

impl LoopbackCluster {
    fn start() -> LoopbackCluster {
        let dir = tempfile::tempdir().unwrap();
        let sport = free_port();
        let scheduler = Proc(
            bin()
                .args(["cluster", "scheduler", "--bind"])
                .arg(format!("127.0.0.1:{sport}"))
                .args(["--executor-timeout", "10"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_listening(sport, "the scheduler");
        let mut executors = Vec::new();
        for k in 0..2 {
            let (port, grpc) = (free_port(), free_port());
            let work = dir.path().join(format!("executor-{k}"));
            let child = bin()
                .args(["cluster", "executor", "--scheduler"])
                .arg(format!("127.0.0.1:{sport}"))
                .args([
                    "--port",
                    &port.to_string(),
                    "--grpc-port",
                    &grpc.to_string(),
                ])
                .args(["--concurrent-tasks", "2", "--work-dir"])
                .arg(&work)
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            wait_listening(port, "an executor");
            executors.push((Proc(child), work));
        }
        LoopbackCluster {
            url: format!("df://127.0.0.1:{sport}"),
            scheduler,
            executors,
            _dir: dir,
        }
    }
}

fn enabled() -> bool {
    if std::env::var_os("CLIENTELE_CLUSTER_TESTS").is_none() {
        eprintln!(
            "skipped: CLIENTELE_CLUSTER_TESTS unset (.ci/run sets it and builds with --features cluster)"
        );
        return false;
    }
    if !cfg!(feature = "cluster") {
        panic!("CLIENTELE_CLUSTER_TESTS is set: run with `--features cluster`");
    }
    true
}

/// Runs `clientele analyze` with `args` into `out`; the exit status and stderr.
fn analyze(args: &[&str], inputs: &[&Path], out: &Path) -> (bool, String) {
    let o = bin()
        .arg("analyze")
        .args(inputs)
        .args(args)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--lang", "en"])
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The outputs that must be equal: the customer table (every grade column), the rejects
/// and the summary (reconciliation, KPIs, models, grade sizes).
const SAME: [&str; 4] = [
    "customers.parquet",
    "customers.csv",
    "rejects.csv",
    "summary.json",
];

fn assert_same_outputs(embedded: &Path, cluster: &Path) {
    for name in SAME {
        let (a, b) = (embedded.join(name), cluster.join(name));
        if !a.exists() {
            assert!(!b.exists(), "{name} only in the cluster run");
            continue;
        }
        let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(
            a == b,
            "{name} differs between the embedded and the cluster run"
        );
    }
}

const CDNOW: [&str; 8] = [
    "--delimiter",
    "whitespace",
    "--date-col",
    "date",
    "--amount-col",
    "dollar_value",
    "--quantity-col",
    "number_of_cds",
];

#[test]
fn cluster_runs_equal_embedded_runs_and_survive_a_lost_executor() {
    if !enabled() {
        return;
    }
    let mut cluster = LoopbackCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url.clone();
    let on_cluster = ["--cluster", url.as_str()];

    // `name`: the same analysis embedded and on the cluster, outputs compared; both folders
    let both = |name: &str, args: &[&str], input: &Path| -> (PathBuf, PathBuf) {
        let (emb, clu) = (
            dir.path().join(format!("{name}-emb")),
            dir.path().join(format!("{name}-clu")),
        );
        let (ok, err) = analyze(args, &[input], &emb);
        assert!(ok, "{err}");
        let clock = Instant::now();
        let (ok, err) = analyze(&[args, &on_cluster[..]].concat(), &[input], &clu);
        assert!(ok, "{err}");
        eprintln!(
            "{name} on the cluster: {:.1} s",
            clock.elapsed().as_secs_f64()
        );
        assert_same_outputs(&emb, &clu);
        (emb, clu)
    };

    // CDNOW: 69,659 rows, 23,570 customers, no as-of (the last date is found on the cluster
    // path's client, as in an embedded run)
    let cdnow = manifest_dir().join("../ingest/tests/data/CDNOW_master.txt");
    let (emb, _) = both("CDNOW", &CDNOW, &cdnow);

    // by parts: each part of the customers one job on the cluster, its table kept on disk on
    // the client through the models (`--spill-dir`) and scored and graded `rows` customers at a
    // time (`--part-rows`); every output equal, the report included
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let spill_arg = spill.to_string_lossy().into_owned();
    let by_parts = |name: &str, args: &[&str], input: &[&Path], emb: &Path, parts: &str, rows| {
        let out = dir.path().join(name);
        let extra = [
            "--spill-dir",
            spill_arg.as_str(),
            "--spill-parts",
            parts,
            "--part-rows",
            rows,
        ];
        let (ok, err) = analyze(&[args, &on_cluster[..], &extra[..]].concat(), input, &out);
        assert!(ok, "{err}");
        assert_same_outputs(emb, &out);
        let (a, b) = (emb.join("report.html"), out.join("report.html"));
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "{name}: the report differs"
        );
        assert_eq!(
            std::fs::read_dir(&spill).unwrap().count(),
            0,
            "{name}: the spill folder is left behind"
        );
    };
    by_parts("CDNOW-parts", &CDNOW, &[&cdnow], &emb, "3", "5000");
    // the SQL plan aggregates the whole table at once: refused with the way out
    let (ok, err) = analyze(
        &[
            &CDNOW[..],
            &on_cluster[..],
            &["--cluster-plan", "sql", "--spill-dir", spill_arg.as_str()][..],
        ]
        .concat(),
        &[&cdnow],
        &dir.path().join("CDNOW-parts-sql"),
    );
    assert!(!ok && err.contains("--cluster-plan fold"), "{err}");

    // the SQL plan (what stock Ballista executors can run) gives the same outputs too
    let sql_plan = ["--cluster", url.as_str(), "--cluster-plan", "sql"];
    let sql = dir.path().join("CDNOW-sql");
    let (ok, err) = analyze(&[&CDNOW[..], &sql_plan[..]].concat(), &[&cdnow], &sql);
    assert!(ok, "{err}");
    assert_same_outputs(&emb, &sql);

    // a PostgreSQL source, when `.ci/run` started a server: the rows are read and validated on
    // the client and staged as a file's are; CDNOW with a row missing its date gives the same
    // outputs, and the same reject named by its primary key, as the embedded run
    if std::env::var("CLIENTELE_PG_TESTS").ok().as_deref() == Some("1") {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
        let (url, password) = (var("CLIENTELE_PG_URL"), var("CLIENTELE_PG_TEST_PASSWORD"));
        let mut c = pg::connect(&url, &password);
        pg::load_cdnow(&mut c, "cdnow_cluster");
        c.batch_execute(
            "INSERT INTO cdnow_cluster (customer_id, date, number_of_cds, dollar_value)
             VALUES ('00007', NULL, 1, 9.99)",
        )
        .unwrap();
        let run = |out: &Path, extra: &[&str]| {
            let o = bin()
                .arg("analyze")
                .args(["--postgres", url.as_str(), "--table", "cdnow_cluster"])
                .args(["--date-col", "date", "--amount-col", "dollar_value"])
                .args(["--quantity-col", "number_of_cds", "--as-of", "1998-06-30"])
                .args(extra)
                .arg("--out")
                .arg(out)
                .args(["--quiet", "--lang", "en"])
                .env("PGPASSWORD", &password)
                .env_remove("CLIENTELE_PG_PASSWORD")
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        };
        let (emb, clu) = (dir.path().join("pg-emb"), dir.path().join("pg-clu"));
        run(&emb, &[]);
        run(&clu, &on_cluster);
        assert_same_outputs(&emb, &clu);
        let rejects = std::fs::read_to_string(clu.join("rejects.csv")).unwrap();
        assert!(
            rejects.lines().count() == 2 && rejects.contains("line_no"),
            "one reject, named by its primary key: {rejects}"
        );
    } else {
        eprintln!("PostgreSQL source on the cluster skipped: no server (CLIENTELE_PG_TESTS=1)");
    }

    // `--history monthly`: the rows are staged once and aggregated on the cluster at the
    // as-of date and at each month end (three here); every snapshot equals the embedded one
    let as_of = ["--as-of", "1997-04-30", "--history", "monthly"];
    let (emb, clu) = both("history", &[&CDNOW[..], &as_of[..]].concat(), &cdnow);
    let history = |out: &Path| -> Vec<(std::ffi::OsString, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(out.join("snapshot/history"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(history(&emb).len(), 3);
    assert!(history(&emb) == history(&clu), "the month ends differ");

    // a calibration/holdout validation: calibration table and holdout purchase days from the
    // staged rows; summary.json (with the validation's errors) equal
    let holdout = ["--as-of", "1998-06-30", "--calibration-end", "1997-09-30"];
    let (_, clu) = both("holdout", &[&CDNOW[..], &holdout[..]].concat(), &cdnow);
    let summary = std::fs::read_to_string(clu.join("summary.json")).unwrap();
    assert!(summary.contains("\"calibration_end\": \"1997-09-30\""));

    // calendar periods (`[time] periods = "calendar"`, weeks from Monday): frequency, recency
    // and T in whole weeks, and the holdout's weeks, from the cluster's period query
    let config = dir.path().join("calendar.toml");
    std::fs::write(
        &config,
        "[time]\nunit = \"weeks\"\nperiods = \"calendar\"\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let calendar = [&CDNOW[..], &holdout[..], &["--config", config.as_str()][..]].concat();
    let (emb, _) = both("calendar", &calendar, &cdnow);
    // the SQL plan writes the period index in SQL: the same periods
    let sql = dir.path().join("calendar-sql");
    let (ok, err) = analyze(&[&calendar[..], &sql_plan[..]].concat(), &[&cdnow], &sql);
    assert!(ok, "{err}");
    assert_same_outputs(&emb, &sql);

    // a synthetic shop of about 1M rows, with categories, order ids, profit and returns
    let shop = dir.path().join("shop");
    let o = bin()
        .args(["generate", "--customers", "180000", "--seed", "11", "--out"])
        .arg(&shop)
        .args(["--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tx = std::fs::read_dir(&shop)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("transactions"))
        })
        .expect("the generated transactions");
    let (emb, _) = both("the 1M-row shop", &[], &tx);

    // by parts, with the shop's side tables (attributes, satisfaction, leads) joined part by
    // part: equal to the embedded run in memory
    let side = |name: &str| shop.join(name).to_string_lossy().into_owned();
    let (attributes, satisfaction, leads) = (
        side("customers.csv"),
        side("satisfaction.csv"),
        side("leads.csv"),
    );
    let with_side = [
        "--attributes",
        attributes.as_str(),
        "--satisfaction",
        satisfaction.as_str(),
        "--leads",
        leads.as_str(),
    ];
    let side_emb = dir.path().join("shop-side-emb");
    let (ok, err) = analyze(&with_side, &[&tx], &side_emb);
    assert!(ok, "{err}");
    by_parts(
        "shop-side-parts",
        &with_side,
        &[&tx],
        &side_emb,
        "5",
        "40000",
    );

    // Ctrl-C while the rows are staged: the staging folder (every valid row again) is removed
    // before the process ends, and the output is not made
    let staging = dir.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let stopped = dir.path().join("shop-stopped");
    let mut job = bin()
        .arg("analyze")
        .arg(&tx)
        .args(on_cluster)
        .arg("--cluster-staging")
        .arg(&staging)
        .arg("--out")
        .arg(&stopped)
        .args(["--quiet", "--lang", "en"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let staged = || {
        std::fs::read_dir(&staging)
            .unwrap()
            .flatten()
            .any(|run| std::fs::read_dir(run.path()).is_ok_and(|mut files| files.next().is_some()))
    };
    let start = Instant::now();
    while !staged() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(staged(), "the run staged its rows");
    let kill = Command::new("kill")
        .args(["-INT", &job.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = job.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut job.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted: the rows staged for the cluster are removed"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0, "{err}");
    assert!(!stopped.join("customers.parquet").exists());

    // an executor killed while the job runs: the job completes with the same results, or
    // fails saying the cluster failed; never a wrong result
    let lost = dir.path().join("shop-lost");
    let mut job = bin()
        .arg("analyze")
        .arg(&tx)
        .args(on_cluster)
        .arg("--out")
        .arg(&lost)
        .args(["--quiet", "--lang", "en"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // kill it once the fold's job has begun on it (its job folder is there; the work folder
    // may still hold earlier runs' jobs)
    let (victim, work) = cluster.executors.pop().unwrap();
    let before = jobs(&work);
    let start = Instant::now();
    while jobs(&work) < before + 1 && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_after = start.elapsed();
    drop(victim);
    eprintln!(
        "killed an executor {:.1} s into the job",
        killed_after.as_secs_f64()
    );
    let status = wait_for(&mut job, Duration::from_secs(900));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut job.stderr.take().unwrap(), &mut err).unwrap();
    if status {
        eprintln!("the job completed without the lost executor");
        assert_same_outputs(&emb, &lost);
    } else {
        eprintln!("the job failed: {err}");
        assert!(
            err.contains("the cluster at") && err.contains("failed while computing"),
            "not a clear error: {err}"
        );
        assert!(!lost.join("customers.parquet").exists(), "a partial output");
    }
    drop(cluster.scheduler);
}

/// Job folders in an executor's work folder (one per job it ran tasks of).
fn jobs(work: &Path) -> usize {
    std::fs::read_dir(work).map_or(0, |it| {
        it.flatten()
            .filter(|e| {
                e.path().is_dir() && !e.file_name().to_string_lossy().starts_with("datafusion")
            })
            .count()
    })
}

/// Waits for `child` at most `limit`; true when it succeeded. Kills it past the limit (the
/// test then fails: a job hanging on a lost executor is not a clear error).
fn wait_for(child: &mut Child, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the job neither finished nor failed within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A build without the cluster engine refuses `--cluster`, naming the rebuild; a malformed
/// URL is refused in any build.
#[test]
fn a_cluster_needs_the_feature_and_a_df_url() {
    let dir = tempfile::tempdir().unwrap();
    let cdnow = manifest_dir().join("../ingest/tests/data/CDNOW_master.txt");
    let (ok, err) = analyze(
        &[&CDNOW[..], &["--cluster", "http://127.0.0.1:50050"]].concat(),
        &[&cdnow],
        &dir.path().join("bad"),
    );
    assert!(!ok && err.contains("df://"), "{err}");
    if cfg!(feature = "cluster") {
        eprintln!("skipped the half without the feature: this build has the cluster engine");
        return;
    }
    let o = bin()
        .arg("analyze")
        .arg(&cdnow)
        .args(CDNOW)
        .args(["--cluster", "df://127.0.0.1:50050", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--features cluster"), "{err}");
    assert!(!dir.path().join("out").exists());
}
