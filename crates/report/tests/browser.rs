//! Opens the reports of the real runs in headless Chromium with the network disabled: no
//! console errors, charts drawn, and screenshots saved under the test output folder
//! (`$CARGO_TARGET_DIR/report-test-output/report-screenshot*.png`); and measures their layout
//! at laptop (1280 px) and wide (1920 px) windows in both languages (`layoutcheck.js`).
//!
//! Skipped unless `CLIENTELE_BROWSER_TESTS` is set and `/usr/bin/chromium` exists (`.ci/run`
//! installs it with `apt-get install chromium fonts-noto-cjk`).

use std::path::Path;
use std::process::Command;

use clientele_engine::Summary;

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

fn browser_tests_enabled() -> bool {
    if std::env::var_os("CLIENTELE_BROWSER_TESTS").is_none() || !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: chromium not found (or CLIENTELE_BROWSER_TESTS unset)");
        return false;
    }
    true
}

#[test]
fn report_opens_offline_without_console_errors() {
    if !browser_tests_enabled() {
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

/// The probe: after the charts are drawn it writes what does not fit, one problem a line, and
/// a last line `checked …` into `<pre id="layoutcheck">`.
const LAYOUT_PROBE: &str = include_str!("layoutcheck.js");

/// What the probe found in `html` opened in a window `width` px wide: the problems, and its
/// last line (`checked T tables, R rows, C charts, X texts; …`).
fn layout_problems(dir: &Path, tag: &str, html: &str, width: u32) -> (Vec<String>, String) {
    let at = html.rfind("</body>").expect("a page");
    let page = format!(
        "{}<script>{LAYOUT_PROBE}</script>{}",
        &html[..at],
        &html[at..]
    );
    let file = dir.join(format!("{tag}.html"));
    std::fs::write(&file, page).expect("write page");
    let run = chromium(
        &dir.join(format!("profile-{tag}")),
        &["--dump-dom", &format!("--window-size={width},1000")],
        &format!("file://{}", file.display()),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{tag}: chromium failed: {stderr}");
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "{tag}: console errors: {errors:#?}");
    let dom = String::from_utf8_lossy(&run.stdout);
    // the probe's <pre> is the last element; the script itself names the id too
    let start = dom
        .rfind("<pre id=\"layoutcheck\">")
        .unwrap_or_else(|| panic!("{tag}: the probe wrote nothing"));
    let text = &dom[start + "<pre id=\"layoutcheck\">".len()..];
    let text = &text[..text.find("</pre>").expect("end of the probe's text")];
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.pop().unwrap_or_default();
    assert!(
        last.starts_with("checked "),
        "{tag}: probe ended with {last:?}"
    );
    (lines, last)
}

/// How many of a kind the probe's last line says it checked (`checked 40 tables, …`).
fn checked(last: &str, what: &str) -> usize {
    last.split([',', ';'])
        .find_map(|part| {
            let mut words = part.split_whitespace().filter(|w| *w != "checked");
            let n = words.next()?.parse().ok()?;
            (words.next()? == what).then_some(n)
        })
        .unwrap_or(0)
}

/// No table wider than its card, no table row taller than two lines of text, no chart text
/// outside its chart or over another: the demo (every section) and CDNOW, in Chinese and
/// English, at 1280 and 1920 px. The pages run side by side (Chromium mostly waits).
#[test]
fn report_fits_laptop_and_wide_windows_in_both_languages() {
    if !browser_tests_enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs: [(&str, &Summary); 2] = [("demo", common::demo()), ("cdnow", common::cdnow())];
    let mut pages = Vec::new();
    for (name, summary) in runs {
        for lang in [Lang::Zh, Lang::En] {
            let html = render(summary, lang).expect("render");
            std::fs::write(
                common::out_dir().join(format!("layout-{name}-{lang}.html")),
                &html,
            )
            .expect("write report");
            for width in [1280, 1920] {
                pages.push((format!("{name}-{lang}-{width}"), html.clone(), width));
            }
        }
    }
    let results: Vec<(String, Vec<String>, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pages
            .iter()
            .map(|(tag, html, width)| {
                let dir = tmp.path();
                scope.spawn(move || {
                    let (problems, last) = layout_problems(dir, tag, html, *width);
                    (tag.clone(), problems, last)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a page's check"))
            .collect()
    });
    let mut all = Vec::new();
    for (tag, problems, last) in results {
        eprintln!("{tag}: {last}");
        // the probe measured a drawn page, not an empty one
        assert!(checked(&last, "tables") >= 20, "{tag}: {last}");
        assert!(checked(&last, "rows") >= 200, "{tag}: {last}");
        if CHARTS_EMBEDDED {
            assert!(checked(&last, "charts") >= 20, "{tag}: {last}");
            assert!(checked(&last, "texts") >= 300, "{tag}: {last}");
        }
        all.extend(problems.into_iter().map(|p| format!("{tag}: {p}")));
    }
    assert!(all.is_empty(), "layout problems:\n{}", all.join("\n"));
}

/// The probe finds what it looks for: on a page whose cells may not wrap (tables overflow),
/// whose first column is one character wide (rows grow tall) and whose charts may put their
/// labels outside the chart, it reports each kind of problem.
#[test]
fn layout_probe_reports_a_broken_page() {
    if !browser_tests_enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let html = render(common::demo(), Lang::En).expect("render");
    let broken = html
        .replacen(
            "</head>",
            "<style>.tbl td:not(:first-child),.tbl th{white-space:nowrap!important}\
             .tbl td:first-child{width:1px;white-space:normal!important;word-break:break-all}</style></head>",
            1,
        )
        .replace("\"outerBoundsMode\":\"same\"", "\"outerBoundsMode\":\"none\"")
        .replace("\"left\":12,", "\"left\":0,");
    let (problems, last) = layout_problems(tmp.path(), "broken", &broken, 1280);
    let has = |kind: &str| problems.iter().any(|p| p.starts_with(kind));
    assert!(has("table "), "no table overflow found: {problems:#?}");
    assert!(has("row "), "no tall row found: {problems:#?}");
    if CHARTS_EMBEDDED {
        assert!(
            has("label "),
            "no clipped label found ({last}): {problems:#?}"
        );
    }
}
