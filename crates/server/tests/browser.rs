//! The dashboard in headless Chromium, served for real on a socket (`clientele_server::serve`
//! on port 0) over a real run (`browser/fixture.rs`): a person's walk through it
//! (`browser/drive.mjs`: overview → scheme → grade list → filter → sort → customer → language
//! switch, the CSV export fetched, trends, cohorts, migration) in Chinese and English at 1280
//! and 1920 px. No console message, no failed load, nothing wider than the window or spilling
//! out of its box, charts drawn, the export's BOM and row count; screenshots of every step in
//! `$CARGO_TARGET_DIR/server-test-output/<lang>-<width>-<step>.png`.
//!
//! Skipped unless `CLIENTELE_BROWSER_TESTS` is set, `/usr/bin/chromium` exists and `node` (20
//! or newer, for its WebSocket) runs: the same convention as the report's browser test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clientele_server::ServeOptions;
use serde_json::Value;

#[path = "browser/fixture.rs"]
mod fixture;

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_tests_enabled() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if std::env::var_os("CLIENTELE_BROWSER_TESTS").is_none()
        || !Path::new(CHROMIUM).exists()
        || !node
    {
        eprintln!("skipped: chromium or node not found (or CLIENTELE_BROWSER_TESTS unset)");
        return false;
    }
    true
}

/// Serves the fixture's runs on a free loopback port, in the background for the rest of the
/// test binary's life.
fn serve() -> SocketAddr {
    let f = fixture::fixture();
    let mut opts = ServeOptions::new(vec![f.out.clone(), f.prev.clone()]);
    opts.bind = "127.0.0.1:0".parse().expect("an address");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let served = rt.block_on(clientele_server::serve(opts, move |addr, _| {
            let _ = tx.send(addr);
        }));
        if let Err(e) = served {
            eprintln!("the server stopped: {e}");
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the server listens")
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

#[test]
fn a_person_walks_the_dashboard_in_both_languages_at_laptop_and_wide_windows() {
    if !browser_tests_enabled() {
        return;
    }
    let addr = serve();
    let out = fixture::out_dir();
    for e in std::fs::read_dir(&out).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let run = Command::new("node")
        .arg("--experimental-websocket")
        .arg(manifest_dir().join("tests/browser/drive.mjs"))
        .arg(CHROMIUM)
        .arg(format!("http://{addr}"))
        .arg(&out)
        .arg("zh,en")
        .arg("1280,1920")
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the driver failed: {stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the driver's report ({e}): {stdout}\n{stderr}"));
    assert!(report.get("fatal").is_none(), "{report}");
    let failures = report["failures"].as_array().expect("failures");
    assert!(failures.is_empty(), "the walk stopped: {failures:#?}");

    let pages = report["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 2 * 2 * 10, "every step of every walk");
    let mut problems = Vec::new();
    for p in pages {
        let tag = format!(
            "{}-{}-{} ({})",
            p["lang"].as_str().unwrap_or("?"),
            p["width"],
            p["step"].as_str().unwrap_or("?"),
            p["url"].as_str().unwrap_or("?")
        );
        let want = if p["expectLang"] == "zh" {
            "zh-CN"
        } else {
            "en"
        };
        if p["lang"] != "zh" && p["lang"] != "en" {
            problems.push(format!("{tag}: walked in {}", p["lang"]));
        }
        if p["lang"].as_str().is_some() && p["expectLang"].as_str().is_some() {
            let page_lang = pages_lang(p);
            if page_lang != want {
                problems.push(format!("{tag}: <html lang={page_lang}>, expected {want}"));
            }
        }
        for m in p["messages"].as_array().into_iter().flatten() {
            problems.push(format!("{tag}: {m}"));
        }
        for o in p["overflow"].as_array().into_iter().flatten() {
            problems.push(format!("{tag}: {o}"));
        }
        if !p["error"].is_null() {
            problems.push(format!("{tag}: an error on the page: {}", p["error"]));
        }
        let step = p["step"].as_str().unwrap_or("");
        if step.ends_with("list") || step.ends_with("filtered") || step.ends_with("sorted") {
            let rows = p["rows"].as_u64().unwrap_or(0);
            if rows == 0 || rows > 50 {
                problems.push(format!("{tag}: {rows} rows"));
            }
        }
        if step.ends_with("filtered") {
            let (after, before) = (number(&p["total"]), number(&p["before"]));
            let applied = p["url"].as_str().unwrap_or("").contains("where=");
            if !(applied && after > 0 && after < before) {
                problems.push(format!("{tag}: filtered {before} → {after}"));
            }
        }
        if step.ends_with("sorted") && !p["order"].as_str().unwrap_or("").contains("num desc") {
            problems.push(format!(
                "{tag}: no column sorted descending: {}",
                p["order"]
            ));
        }
        if ["trends", "cohorts", "migration"]
            .iter()
            .any(|x| step.ends_with(x))
            && clientele_report::CHARTS_EMBEDDED
        {
            let (drawn, divs) = (
                p["charts"].as_u64().unwrap_or(0),
                p["chartDivs"].as_u64().unwrap_or(0),
            );
            if drawn == 0 || drawn != divs {
                problems.push(format!("{tag}: {drawn} of {divs} charts drawn"));
            }
        }
        let shot = p["shot"].as_str().unwrap_or("");
        let size = std::fs::metadata(shot).map(|m| m.len()).unwrap_or(0);
        if size < 20_000 {
            problems.push(format!("{tag}: screenshot {shot} is {size} bytes"));
        }
    }
    let exports = report["exports"].as_array().expect("exports");
    assert_eq!(exports.len(), 4);
    for e in exports {
        let total = e["total"].as_u64().unwrap_or(0);
        if e["status"] != 200
            || e["bom"] != true
            || e["rows"].as_u64() != Some(total)
            || e["count"].as_str() != Some(total.to_string().as_str())
            || total == 0
        {
            problems.push(format!("export: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("screenshots: {}", out.display());
}

/// The page's `<html lang>`.
fn pages_lang(p: &Value) -> String {
    p["pageLang"].as_str().unwrap_or("").to_string()
}

/// A number the driver reported as a number or as text.
fn number(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}
