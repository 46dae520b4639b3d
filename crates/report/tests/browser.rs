//! Opens the reports of the real runs in headless Chromium with the network disabled: no
//! console errors, charts drawn, and screenshots saved under the test output folder
//! (`$CARGO_TARGET_DIR/report-test-output/report-screenshot*.png`).
//!
//! Skipped unless `CLIENTELE_BROWSER_TESTS` is set and `/usr/bin/chromium` exists (`.ci/run`
//! installs it with `apt-get install chromium fonts-noto-cjk`).

use std::path::Path;
use std::process::Command;

use clientele_report::{CHARTS_EMBEDDED, Lang, render};

mod common;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        // No network: every host resolves nowhere, and no proxy is used.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--no-proxy-server",
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd.args(extra).arg(url);
    cmd.output().expect("run chromium")
}

fn console_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            // The page logs nothing when all is well: any console message counts.
            l.contains("Uncaught")
                || l.contains(":CONSOLE")
                || l.contains("ERR_NAME_NOT_RESOLVED")
                || l.contains("Failed to load resource")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn report_opens_offline_without_console_errors() {
    if std::env::var_os("CLIENTELE_BROWSER_TESTS").is_none() || !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: chromium not found (or CLIENTELE_BROWSER_TESTS unset)");
        return;
    }
    let out = common::out_dir();
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, summary, lang, shot) in [
        ("demo", common::demo(), Lang::Zh, "report-screenshot.png"),
        (
            "demo",
            common::demo(),
            Lang::En,
            "report-screenshot-demo-en.png",
        ),
        (
            "cdnow",
            common::cdnow(),
            Lang::En,
            "report-screenshot-cdnow-en.png",
        ),
    ] {
        let html = render(summary, lang).expect("render");
        for bad in ["src=\"http", "href=\"http", "src='http", "href='http"] {
            assert!(!html.contains(bad), "external reference {bad}");
        }
        let file = tmp.path().join(format!("{name}-{lang}.html"));
        std::fs::write(&file, &html).expect("write report");
        let url = format!("file://{}", file.display());

        let profile = tmp.path().join(format!("profile-dom-{name}-{lang}"));
        let dom = chromium(&profile, &["--dump-dom"], &url);
        let stdout = String::from_utf8_lossy(&dom.stdout);
        let stderr = String::from_utf8_lossy(&dom.stderr);
        assert!(dom.status.success(), "{name}: chromium failed: {stderr}");
        let errors = console_errors(&stderr);
        assert!(errors.is_empty(), "{name}: console errors: {errors:#?}");
        if CHARTS_EMBEDDED {
            let drawn = stdout.matches("_echarts_instance_").count();
            assert!(drawn >= 10, "{name}: only {drawn} charts drawn");
            assert!(stdout.contains("<canvas"), "{name}: no canvas");
        }

        let shot_path = out.join(shot);
        let _ = std::fs::remove_file(&shot_path);
        let profile = tmp.path().join(format!("profile-shot-{name}-{lang}"));
        let run = chromium(
            &profile,
            &[
                &format!("--screenshot={}", shot_path.display()),
                if name == "demo" {
                    "--window-size=1400,12000"
                } else {
                    "--window-size=1400,4000"
                },
            ],
            &url,
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{name}: screenshot failed: {stderr}");
        let errors = console_errors(&stderr);
        assert!(errors.is_empty(), "{name}: console errors: {errors:#?}");
        let size = std::fs::metadata(&shot_path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 50_000, "{name}: screenshot too small ({size} bytes)");
        eprintln!("screenshot: {}", shot_path.display());
    }
}
