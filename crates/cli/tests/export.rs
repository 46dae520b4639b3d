//! `clientele export`: lists on demand from a finished run, as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;
use std::process::Command;

fn clientele(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clientele"));
    c.current_dir(dir);
    c
}

#[test]
fn a_grade_is_exported_on_demand_and_no_file_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = clientele(d)
        .args([
            "demo",
            "--customers",
            "800",
            "--lang",
            "en",
            "--quiet",
            "--dir",
            "demo",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // a run writes no per-grade files unless asked (--target-lists), and points to none
    assert!(!d.join("demo/out/segments").exists());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("demo/out/summary.json")).unwrap()).unwrap();
    assert!(summary["target_lists"].as_array().unwrap().is_empty());
    let steps = summary["next_steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.iter().all(|s| s["file"].is_null()));
    // the oracle: the run's own customers.csv
    let mut r = csv::Reader::from_path(d.join("demo/out/customers.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let stage = h.iter().position(|c| c == "lifecycle_stage").unwrap();
    let at_risk: Vec<String> = r
        .records()
        .map(Result::unwrap)
        .filter(|x| &x[stage] == "At risk")
        .map(|x| x[0].to_string())
        .collect();
    assert!(!at_risk.is_empty());
    // by the stage's key; the file is named after the scheme and grade
    let o = clientele(d)
        .args([
            "export",
            "demo/out",
            "--scheme",
            "lifecycle",
            "--grade",
            "at_risk",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{} customers", at_risk.len())));
    let bytes = std::fs::read(d.join("lifecycle_at_risk.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let ids: Vec<String> = r.records().map(|x| x.unwrap()[0].to_string()).collect();
    assert_eq!(ids, at_risk);
    // again: the file is there, and is not replaced without --force
    let o = clientele(d)
        .args([
            "export",
            "demo/out",
            "--scheme",
            "lifecycle",
            "--grade",
            "At risk",
            "--out",
            "lifecycle_at_risk.csv",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    // a filter and an order, to standard output
    let o = clientele(d)
        .args([
            "export",
            "demo/out",
            "--where",
            "orders >= 3",
            "--sort",
            "-monetary",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_reader(&o.stdout[3..]);
    let h = r.headers().unwrap().clone();
    let (oi, mi) = (
        h.iter().position(|c| c == "orders").unwrap(),
        h.iter().position(|c| c == "monetary").unwrap(),
    );
    let rows: Vec<(i64, f64)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[oi].parse().unwrap(), x[mi].parse().unwrap())
        })
        .collect();
    assert!(!rows.is_empty() && rows.iter().all(|(o, _)| *o >= 3));
    assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1), "largest first");
    // a grade that is not there names the ones that are
    let o = clientele(d)
        .args([
            "export",
            "demo/out",
            "--scheme",
            "lifecycle",
            "--grade",
            "nope",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("At risk"));
    // --list shows every scheme and grade with its key
    let o = clientele(d)
        .args(["export", "demo/out", "--list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains("lifecycle") && listed.contains("At risk (at_risk)"),
        "{listed}"
    );
}

/// A demo run of 300 customers in `lang`, in `d/<lang>`.
fn demo(d: &Path, lang: &str) -> String {
    let dir = format!("demo-{lang}");
    let o = clientele(d)
        .args([
            "demo",
            "--customers",
            "300",
            "--quiet",
            "--lang",
            lang,
            "--dir",
            &dir,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    format!("{dir}/out")
}

/// `clientele export <run> <args>` with the locale in the other language: the run's wins.
fn export_err(d: &Path, run: &str, locale: &str, args: &[&str]) -> String {
    let o = clientele(d)
        .env("LC_ALL", locale)
        .args(["export", run, "--out", "-"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_bad_filter_grade_or_sort_is_said_in_the_runs_language() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (zh, en) = (demo(d, "zh"), demo(d, "en"));
    let e = export_err(d, &zh, "en_US.UTF-8", &["--where", "monetry > 5"]);
    assert_eq!(
        e.trim_end(),
        "错误：筛选条件 `monetry > 5`：列 `monetry` 不存在；把 `monetry` 改为 `monetary`"
    );
    let e = export_err(d, &en, "zh_CN.UTF-8", &["--where", "monetry > 5"]);
    assert_eq!(
        e.trim_end(),
        "error: filter `monetry > 5`: unknown column `monetry`: write `monetary` instead of \
         `monetry`"
    );
    // sqlparser's own words stay quoted; the rest is Chinese
    let e = export_err(d, &zh, "en_US.UTF-8", &["--where", "orders >"]);
    assert!(
        e.starts_with("错误：筛选条件 `orders >`：条件的写法有误（SQL 解析器：")
            && e.contains("写成 SQL 条件"),
        "{e}"
    );
    // a grade the run does not have: the grades listed by their Chinese names
    let e = export_err(
        d,
        &zh,
        "en_US.UTF-8",
        &["--scheme", "lifecycle", "--grade", "nope"],
    );
    assert!(
        e.starts_with("错误：方案 `lifecycle` 中没有等级 `nope`；请使用以下等级之一：")
            && e.contains("活跃"),
        "{e}"
    );
    let e = export_err(
        d,
        &en,
        "zh_CN.UTF-8",
        &["--scheme", "lifecycle", "--grade", "nope"],
    );
    assert!(
        e.starts_with("error: no grade `nope` in scheme `lifecycle`: use one of: ")
            && e.contains("Active"),
        "{e}"
    );
    let e = export_err(d, &zh, "en_US.UTF-8", &["--sort", "-monetry"]);
    assert_eq!(
        e.trim_end(),
        "错误：排序 `-monetry`：没有可排序的列 `monetry`；按 `monetary` 排序"
    );
}
