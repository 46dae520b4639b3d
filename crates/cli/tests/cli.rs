//! CLI tests: run the real `clientele` binary in temporary directories.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This crate's folder, read when the test runs (cargo sets it then too): a test binary built in
/// another checkout and reused from a shared build folder would otherwise read that checkout.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
}

fn data(name: &str) -> PathBuf {
    manifest_dir().join("../ingest/tests/data").join(name)
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run clientele");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn cdnow_args(cmd: &mut Command) -> &mut Command {
    cmd.arg(data("CDNOW_master.txt"))
        .args([
            "--delimiter",
            "whitespace",
            "--date-col",
            "date",
            "--amount-col",
            "dollar_value",
        ])
        .args([
            "--quantity-col",
            "number_of_cds",
            "--as-of",
            "1998-06-30",
            "--quiet",
            "--lang",
            "zh",
        ])
}

#[test]
fn help_has_examples_in_both_languages() {
    let (ok, out, _) = run(bin().arg("--help"));
    assert!(ok);
    assert!(out.contains("Examples:") && out.contains("示例"), "{out}");
    let (ok, out, _) = run(bin().args(["analyze", "--help"]));
    assert!(ok);
    assert!(
        out.contains("--encoding") && out.contains("--as-of"),
        "{out}"
    );
}

#[test]
fn analyze_cdnow_prints_and_writes_everything() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cdnow");
    let (ok, stdout, stderr) = run(cdnow_args(bin().arg("analyze"))
        .arg("--target-lists")
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("读取 69659 行 = 接受 69659 + 拒绝 0（+ 基准日之后 0）"),
        "{stdout}"
    );
    assert!(
        stdout.contains("客户 23570 · 销售额 2500315.63"),
        "{stdout}"
    );
    // the 8-class (checked against pandas) and R×F distributions (the default `balanced`
    // scores, checked against numpy) in crates/rfm/tests
    let cn8 = "RFM cn8: 重要价值客户 4604 · 重要发展客户 281 · 重要保持客户 435 · 重要挽留客户 593 · \
               一般价值客户 1945 · 一般发展客户 1561 · 一般保持客户 492 · 一般挽留客户 13659";
    assert!(stdout.contains(cn8), "{stdout}");
    assert!(
        stdout.contains("RFM rf10: 冠军客户 3431 · 忠诚客户 1813"),
        "{stdout}"
    );
    for f in [
        "customers.parquet",
        "customers.csv",
        "summary.json",
        "rejects.csv",
        "snapshot/snapshot.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read(out.join("customers.csv")).unwrap();
    assert!(
        csv.starts_with(b"\xEF\xBB\xBFcustomer_id,first_purchase"),
        "BOM + header"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["kpis"]["customers"], 23570);
    assert_eq!(summary["inputs"]["accepted"], 69659);
    assert!(
        summary["clv"]["model"]["converged"].as_bool().unwrap(),
        "{}",
        summary["clv"]
    );
    // monthly trends and cohorts equal an independent DuckDB computation
    // (crates/engine/tests/reference/cdnow_trends.py; CI also reruns it against this output)
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(manifest_dir().join("../engine/tests/data/cdnow_trends_duckdb.json"))
            .unwrap(),
    )
    .unwrap();
    let trends = summary["lifecycle"]["trends"].as_array().unwrap();
    assert_eq!(trends.len(), 18);
    for (r, t) in reference["trends"].as_array().unwrap().iter().zip(trends) {
        assert_eq!(r["month"], t["month"]);
        for k in ["orders", "active", "new"] {
            assert_eq!(r[k], t[k], "{k} in {}", r["month"]);
        }
        assert!((r["revenue"].as_f64().unwrap() - t["revenue"].as_f64().unwrap()).abs() < 1e-6);
    }
    for row in summary["lifecycle"]["cohorts"]["rows"].as_array().unwrap() {
        let r = &reference["cohorts"][row["cohort"].as_str().unwrap()];
        assert_eq!(r["size"], row["size"]);
        assert_eq!(r["active"], row["active"], "cohort {}", row["cohort"]);
    }
    // --target-lists: one file per grade, with the action
    let list = out.join("segments/rfm_cn8/重要挽留客户.csv");
    let text = std::fs::read_to_string(&list).unwrap();
    assert_eq!(text.lines().count(), 1 + 593);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("grade,action,scheme,config_hash,as_of"),
        "{text}"
    );
    // and the same list on demand has the same customers in the same order
    let (ok, exported, stderr) = run(bin().arg("export").arg(&out).args([
        "--scheme",
        "rfm_cn8",
        "--grade",
        "重要挽留客户",
        "--out",
        "-",
    ]));
    assert!(ok, "{stderr}");
    let ids = |t: &str| -> Vec<String> {
        t.trim_start_matches('\u{feff}')
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&exported), ids(&text));
}

#[test]
fn bad_inputs_give_one_clear_line_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope.csv");
    let out = bin()
        .arg("analyze")
        .arg(&missing)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!("error: {}: no such file or directory", missing.display())
    );
    let (ok, _, err) = run(bin().args(["analyze", "--quiet"]));
    assert!(!ok);
    assert!(err.contains("no transaction files given"), "{err}");
    let (ok, _, err) = run(bin().args(["analyze", "x.csv", "--as-of", "2024-13-01"]));
    assert!(!ok);
    assert!(
        err.contains("--as-of") && err.contains("2024-13-01"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn validate_reproduces_the_published_cdnow_holdout() {
    let (ok, out, err) = run(bin()
        .args(["validate", "--quiet"])
        .arg(data("CDNOW_sample.txt"))
        .args([
            "--delimiter",
            "whitespace",
            "--no-header",
            "--customer-id-col",
            "column_2",
        ])
        .args(["--date-col", "column_3", "--amount-col", "column_5"])
        .args(["--calibration-end", "1997-09-30", "--as-of", "1998-06-30"])
        // the published numbers are BG/NBD's; the default model is MBG/NBD
        .args(["--model", "bg_nbd"]));
    assert!(ok, "{err}");
    assert!(
        out.contains("r 0.2426, alpha 4.4136, a 0.7929, b 2.4259"),
        "{out}"
    );
    assert!(out.contains("log-likelihood -9582.43"), "{out}");
    // Σ predicted ≈ 1,653 vs 1,882 actual repeat purchases in weeks 40–78
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("model "))
        .unwrap();
    assert!(line.contains("1653.") && line.ends_with("1882"), "{line}");
}

fn generate(dir: &Path, customers: &str) -> PathBuf {
    let shop = dir.join("shop");
    let (ok, _, err) = run(bin()
        .args([
            "generate",
            "--quiet",
            "--customers",
            customers,
            "--seed",
            "3",
            "--out",
        ])
        .arg(&shop));
    assert!(ok, "{err}");
    shop
}

#[test]
fn demo_shop_compare_two_as_of_dates() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "3000");
    let tx = shop.join("transactions.csv");
    for (as_of, out) in [("2025-06-30", "a"), ("2025-12-30", "b")] {
        let (ok, stdout, err) = run(bin()
            .arg("analyze")
            .arg(&tx)
            .arg("--attributes")
            .arg(shop.join("customers.csv"))
            .arg("--satisfaction")
            .arg(shop.join("satisfaction.csv"))
            .args(["--as-of", as_of, "--quiet", "--out"])
            .arg(d.path().join(out)));
        assert!(ok, "{err}");
        assert!(stdout.contains("grading behaviour: VIP"), "{stdout}");
    }
    let (ok, stdout, err) = run(bin()
        .args(["compare", "--lang", "en"])
        .arg(d.path().join("a"))
        .arg(d.path().join("b"))
        .arg("--out")
        .arg(d.path().join("cmp")));
    assert!(ok, "{err}");
    assert!(stdout.contains("rfm_cn8:"), "{stdout}");
    let cmp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("cmp/comparison.json")).unwrap())
            .unwrap();
    let old_n = cmp["old_customers"].as_u64().unwrap();
    let new_n = cmp["new_customers"].as_u64().unwrap();
    assert!(cmp["appeared"].as_u64().unwrap() > 0);
    for m in cmp["schemes"].as_array().unwrap() {
        let counts: Vec<Vec<u64>> = serde_json::from_value(m["counts"].clone()).unwrap();
        let rows: Vec<String> = serde_json::from_value(m["rows"].clone()).unwrap();
        let cols: Vec<String> = serde_json::from_value(m["columns"].clone()).unwrap();
        // rows = old grades + "(new customer)", columns = new grades + "(gone)"
        let old_total: u64 = counts
            .iter()
            .zip(&rows)
            .filter(|(_, r)| !r.starts_with('('))
            .map(|(c, _)| c.iter().sum::<u64>())
            .sum();
        let new_total: u64 = (0..cols.len())
            .filter(|&j| !cols[j].starts_with('('))
            .map(|j| counts.iter().map(|r| r[j]).sum::<u64>())
            .sum();
        assert_eq!(old_total, old_n, "{}", m["name"]);
        assert_eq!(new_total, new_n, "{}", m["name"]);
    }
    // moves.csv: one row per customer who moved, as many as the matrices count off the diagonal
    let moves = std::fs::read_to_string(d.path().join("cmp/moves.csv")).unwrap();
    let mut lines = moves.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("customer_id,scheme,from,to"));
    let off_diagonal: u64 = cmp["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(cmp["lifecycle"].as_object().map(|_| &cmp["lifecycle"]))
        .flat_map(|m| m["moves"].as_array().unwrap())
        .map(|mv| mv["count"].as_u64().unwrap())
        .sum();
    assert_eq!(lines.count() as u64, off_diagonal);
    assert!(off_diagonal > 0);
}

/// One language per run beyond `analyze`: `compare`, `validate` and `config check` of a
/// Chinese run print Chinese (grade names, numbers and flags aside), and English when asked.
#[test]
fn compare_validate_and_config_check_speak_the_runs_language() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "800");
    let tx = shop.join("transactions.csv");
    for (out, as_of) in [("a", "2025-06-30"), ("b", "2025-12-30")] {
        let (ok, _, err) = run(bin()
            .args([
                "analyze", "--quiet", "--lang", "zh", "--as-of", as_of, "--out",
            ])
            .arg(d.path().join(out))
            .arg(&tx));
        assert!(ok, "{err}");
    }
    let han = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let english = [
        "customers",
        "stayed",
        "moved",
        "drift",
        "fitted",
        "holdout",
        "actual",
    ];
    let compare = |lang: &str| {
        let (ok, out, err) = run(bin()
            .args(["compare", "--lang", lang])
            .arg(d.path().join("a"))
            .arg(d.path().join("b")));
        assert!(ok, "{err}");
        out
    };
    let zh = compare("zh");
    for phrase in [
        "客户 ",
        "两期都有",
        "未变",
        "迁移",
        "（新客户）",
        "分布漂移",
        "中位数",
    ] {
        assert!(zh.contains(phrase), "{phrase}: {zh}");
    }
    for word in english {
        assert!(!zh.contains(word), "{word}: {zh}");
    }
    let en = compare("en");
    assert!(
        en.contains("stayed") && en.contains("(new customer)"),
        "{en}"
    );
    // the runs given the wrong way round: refused in the language asked for
    for (lang, says) in [
        (
            "zh",
            "错误：比较：旧快照（基准日 2025-12-30）晚于新快照（基准日 2025-06-30）：请交换两者",
        ),
        (
            "en",
            "error: compare: the old snapshot (as of 2025-12-30) is later than the new one",
        ),
    ] {
        let (ok, _, err) = run(bin()
            .args(["compare", "--lang", lang])
            .arg(d.path().join("b"))
            .arg(d.path().join("a")));
        assert!(!ok);
        assert!(err.starts_with(says), "{err}");
    }
    let (ok, out, err) = run(bin()
        .args([
            "validate",
            "--quiet",
            "--lang",
            "zh",
            "--calibration-end",
            "2025-06-30",
        ])
        .arg(&tx));
    assert!(ok, "{err}");
    for phrase in ["拟合", "对数似然", "留出期", "模型", "基线", "实际"] {
        assert!(out.contains(phrase), "{phrase}: {out}");
    }
    for word in english {
        assert!(!out.contains(word), "{word}: {out}");
    }
    let cfg = d.path().join("zh.toml");
    std::fs::write(&cfg, "[output]\nlang = \"zh\"\n").unwrap();
    let (ok, out, err) = run(bin()
        .args(["config", "check", "--quiet", "--config"])
        .arg(&cfg)
        .arg(&tx));
    assert!(ok, "{out}{err}");
    assert!(han(&out) && out.contains("配置无误"), "{out}");
    assert!(
        !out.contains("config OK") && !out.contains("customers"),
        "{out}"
    );
}

#[test]
fn config_init_then_check_on_data() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "500");
    let cfg = d.path().join("clientele.toml");
    let (ok, _, err) = run(bin().args(["config", "init"]).arg(&cfg));
    assert!(ok, "{err}");
    let (ok, _, err) = run(bin().args(["config", "init"]).arg(&cfg));
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, err) = run(bin()
        .args(["config", "check", "--quiet", "--config"])
        .arg(&cfg)
        .arg(shop.join("transactions.csv")));
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("scheme behaviour:") && out.contains("VIP") && out.contains("config OK"),
        "{out}"
    );
    // a typo in a condition names the column and the closest one
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("orders > 15", "order > 15");
    std::fs::write(&cfg, text).unwrap();
    let (ok, out, _) = run(bin()
        .args(["config", "check", "--quiet", "--config"])
        .arg(&cfg)
        .arg(shop.join("transactions.csv")));
    assert!(!ok);
    assert!(
        out.contains("unknown column `order`") && out.contains("did you mean `orders`"),
        "{out}"
    );
}

/// A bad grading scheme (a misspelt column, a condition that does not parse) is said in the
/// run's language: by `config check`, and by a run that refuses it.
#[test]
fn a_bad_schemes_findings_are_said_in_the_runs_language() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "300");
    let tx = shop.join("transactions.csv");
    let cfg = d.path().join("bad.toml");
    std::fs::write(
        &cfg,
        r#"
[[scheme]]
name = "behaviour"
rules = [
  { grade = "VIP", when = "ordres > 15" },
  { grade = "高级客户", when = "orders > 10 AND (monetary > 400" },
]
default = "普通客户"
"#,
    )
    .unwrap();
    let check = |lang: &str| {
        let (ok, out, err) = run(bin()
            .args(["config", "check", "--quiet", "--lang", lang, "--config"])
            .arg(&cfg)
            .arg(&tx));
        assert!(!ok, "{out}{err}");
        (out, err)
    };
    let zh_says = [
        "错误：方案 `behaviour`，规则 1（`VIP`）：`ordres > 15` 中的列 `ordres` 不存在；是不是 \
         `orders`？可用的列：",
        "\n  修改建议：把 `ordres` 改为 `orders`\n",
        "错误：方案 `behaviour`，规则 2（`高级客户`）：无法解析 `orders > 10 AND (monetary > 400`：\
         第 17 列的 `(` 没有闭合\n  修改建议：每个 `(` 都要有对应的 `)`\n",
    ];
    let en_says = [
        "error: scheme `behaviour`, rule 1 (`VIP`): unknown column `ordres` in `ordres > 15`; did \
         you mean `orders`? Available columns: ",
        "\n  fix: write `orders` instead of `ordres`\n",
        "error: scheme `behaviour`, rule 2 (`高级客户`): cannot parse `orders > 10 AND (monetary > \
         400`: `(` at column 17 is never closed\n  fix: close every `(` with a `)`\n",
    ];
    let (zh, err) = check("zh");
    for says in zh_says {
        assert!(zh.contains(says), "{says}\n---\n{zh}");
    }
    for english in [
        "unknown column",
        "did you mean",
        "cannot parse",
        "fix:",
        "error:",
    ] {
        assert!(!zh.contains(english), "{english}: {zh}");
    }
    assert!(err.contains("中有 2 个问题"), "{err}");
    let (en, err) = check("en");
    for says in en_says {
        assert!(en.contains(says), "{says}\n---\n{en}");
    }
    for chinese in ["不存在", "无法解析", "修改建议", "错误"] {
        assert!(!en.contains(chinese), "{chinese}: {en}");
    }
    assert!(err.contains("2 problem(s)"), "{err}");
    // a run refuses the scheme in its language too
    for (lang, lead, says, not) in [
        (
            "zh",
            "错误：分级：方案 `behaviour` 无效：\n",
            zh_says,
            "unknown column",
        ),
        (
            "en",
            "error: grade: scheme `behaviour` is invalid:\n",
            en_says,
            "不存在",
        ),
    ] {
        let (ok, _, err) = run(bin()
            .args(["analyze", "--quiet", "--lang", lang, "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(d.path().join(lang))
            .arg(&tx));
        assert!(!ok);
        assert!(err.starts_with(lead), "{err}");
        for s in says {
            assert!(format!("{err}\n").contains(s), "{s}\n---\n{err}");
        }
        assert!(!err.contains(not), "{err}");
    }
}

#[test]
fn customer_table_only_with_timings() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let (ok, stdout, stderr) = run(cdnow_args(bin().arg("analyze"))
        .args(["--customer-table-only", "--timings", "--out"])
        .arg(&out));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("客户 23570"), "{stdout}");
    // a Chinese run's timings are in Chinese, as its bars were
    assert!(stderr.contains("耗时（墙钟时间）："), "{stderr}");
    for step in ["读取 ", "构建顾客表", "写出结果", "合计"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(step) && l.ends_with(" s")),
            "{step}: {stderr}"
        );
    }
    // the table alone: no model outputs
    assert!(out.join("customers.parquet").exists());
    assert!(!out.join("report.html").exists());
}

#[test]
fn timings_name_every_model_step_and_what_explains_it() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "1500");
    let (ok, _, stderr) = run(bin()
        .args(["analyze", "--quiet", "--timings", "--lang", "en", "--out"])
        .arg(d.path().join("out"))
        .arg(shop.join("transactions.csv")));
    assert!(ok, "{stderr}");
    for step in [
        "CLV fit",
        "CLV P(alive) and expected purchases",
        "CLV purchase chances and next purchase",
        "CLV spend model, values and forecast",
        "CLV intervals",
        "lifecycle stages, trends, cohorts",
        "RFM scores and segments",
        "value tiers",
        "K-means (choice of k, fit, profiles)",
        "gradings",
        "behaviour (distributions, categories)",
        "target lists, next steps, best customers",
    ] {
        let line = stderr.lines().find(|l| l.trim_start().starts_with(step));
        assert!(line.is_some_and(|l| l.contains(" s")), "{step}: {stderr}");
    }
    assert!(stderr.contains("(k = "), "the chosen k: {stderr}");
    assert!(
        !stderr
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{stderr}"
    );
    // and the writing, file by file
    for file in [
        "customers.parquet",
        "customers.csv",
        "summary.json",
        "report.html",
        "snapshot/snapshot.json",
        "manifest and the swap into place",
    ] {
        let line = stderr.lines().find(|l| l.trim_start().starts_with(file));
        assert!(line.is_some_and(|l| l.contains(" s")), "{file}: {stderr}");
    }
}

/// One language per run: a Chinese run names its steps (and what explains their time) in
/// Chinese, with no English step left over.
#[test]
fn a_chinese_runs_timings_are_in_chinese() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "1500");
    let (ok, _, stderr) = run(bin()
        .args(["analyze", "--quiet", "--timings", "--lang", "zh", "--out"])
        .arg(d.path().join("out"))
        .arg(shop.join("transactions.csv")));
    assert!(ok, "{stderr}");
    for step in [
        "耗时（墙钟时间）：",
        "读取 ",
        "构建顾客表",
        "CLV 拟合",
        "CLV 区间",
        "生命周期阶段、趋势、同期群",
        "RFM 评分与分群",
        "价值分层",
        "K-means（选 k、拟合、画像）",
        "分级",
        "目标名单、下一步行动、最佳顾客",
        "写出结果",
        "清单与替换到位",
        "合计",
    ] {
        let line = stderr.lines().find(|l| l.trim_start().starts_with(step));
        assert!(line.is_some(), "{step}: {stderr}");
    }
    assert!(stderr.contains("（选定 k = "), "the chosen k: {stderr}");
    assert!(stderr.contains("次参数抽样）"), "the draws: {stderr}");
    for english in [
        "reading", "building", "CLV fit", "writing", "total", "draws", "chosen",
    ] {
        assert!(!stderr.contains(english), "{english}: {stderr}");
    }
}

/// A step the data does not allow says why in the run's language: the console, the report and
/// `summary.json` (which keeps both).
#[test]
fn why_a_step_did_not_run_is_said_in_the_runs_language() {
    let d = tempfile::tempdir().unwrap();
    // 30 customers who each bought once: no repeat purchases, so no CLV
    let mut csv = String::from("customer_id,order_date,amount\n");
    for i in 0..30 {
        csv.push_str(&format!(
            "c{i},2025-0{}-1{},{}.50\n",
            1 + i % 9,
            i % 9,
            10 + i
        ));
    }
    let input = d.path().join("once.csv");
    std::fs::write(&input, csv).unwrap();
    let zh = "没有客户购买过一次以上（共 30 位客户）：购买模型需要重复购买";
    let en = "no customer bought more than once (30 customers)";
    for (lang, says, not) in [("zh", zh, en), ("en", en, zh)] {
        let out = d.path().join(lang);
        let (ok, stdout, stderr) = run(bin()
            .args(["analyze", "--lang", lang, "--out"])
            .arg(&out)
            .arg(&input));
        assert!(ok, "{stderr}");
        let console = format!("{stdout}{stderr}");
        assert!(console.contains(says), "{lang}: {console}");
        assert!(!console.contains(not), "{lang}: {console}");
        let report = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(report.contains(says), "{lang} report");
        assert!(!report.contains(not), "{lang} report");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["clv"]["status"], "skipped");
        assert!(summary["clv"]["reason"].as_str().unwrap().starts_with(en));
        assert_eq!(summary["clv"]["reason_zh"], zh);
    }
}

/// An error that stops a run is said in the run's language: a missing file, a column the
/// input lacks (with the columns it has and the flags that map them), a step's settings.
#[test]
fn an_error_that_stops_a_run_is_said_in_the_runs_language() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("orders.csv");
    std::fs::write(&input, "id,date,amt\n1,2025-01-01,3\n").unwrap();
    let analyze = |lang: &str, file: &Path| {
        run(bin()
            .args(["analyze", "--lang", lang, "--out"])
            .arg(d.path().join("out"))
            .arg(file))
    };
    let (ok, _, zh) = analyze("zh", &input);
    assert!(!ok);
    assert!(zh.starts_with("错误："), "{zh}");
    for says in [
        "找不到必需的列 `customer_id`",
        "id, date, amt",
        "--date-col date",
    ] {
        assert!(zh.contains(says), "{says}: {zh}");
    }
    assert!(!zh.contains("not found") && !zh.contains("Likely"), "{zh}");
    let (_, _, en) = analyze("en", &input);
    assert!(
        en.starts_with("error: ") && en.contains("required column `customer_id`"),
        "{en}"
    );
    let (ok, _, zh) = analyze("zh", &d.path().join("missing.csv"));
    assert!(!ok);
    assert!(zh.contains("missing.csv：没有这个文件或目录"), "{zh}");
    assert_eq!(zh.lines().count(), 1, "said once: {zh}");
    // a setting out of range, in the config
    let config = d.path().join("c.toml");
    std::fs::write(&config, "[rfm]\nbins = 12\n").unwrap();
    let good = d.path().join("good.csv");
    std::fs::write(&good, "customer_id,order_date,amount\n1,2025-01-01,3\n").unwrap();
    for (lang, says) in [
        (
            "zh",
            "错误：RFM：rfm.bins：bins 应在 2 到 9 之间，实际为 12",
        ),
        (
            "en",
            "error: rfm: rfm.bins: bins must be between 2 and 9, got 12",
        ),
    ] {
        let (ok, _, err) = run(bin()
            .args(["analyze", "--lang", lang, "--config"])
            .arg(&config)
            .arg("--out")
            .arg(d.path().join("out"))
            .arg(&good));
        assert!(!ok);
        assert_eq!(err.trim(), says);
    }
}

#[test]
fn report_renders_a_summary_of_clientele_0_1() {
    // a run of the previous schema version, written by clientele 0.1 (no schema_version key)
    let v1 = manifest_dir().join("../engine/tests/data/v1/small_full_0.1_summary.json");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&v1, dir.path().join("summary.json")).unwrap();
    let (ok, out, err) = run(bin().arg("report").arg(dir.path()).args(["--lang", "en"]));
    assert!(ok, "{out}{err}");
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // its sections are there: the CLV fit, the RFM segments, the migration from --previous
    for id in [
        "id=\"value\"",
        "id=\"rfm\"",
        "id=\"migration\"",
        "id=\"validation\"",
    ] {
        assert!(page.contains(id), "{id} missing");
    }
}

#[test]
fn the_language_follows_the_locale_unless_given() {
    let d = tempfile::tempdir().unwrap();
    for (locale, lang) in [
        ("zh_CN.UTF-8", "zh"),
        ("C.UTF-8", "en"),
        ("en_GB.UTF-8", "en"),
    ] {
        let cfg = d.path().join(format!("{lang}-{locale}.toml"));
        let mut init = bin();
        init.args(["config", "init"]).arg(&cfg);
        init.env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", locale);
        let (ok, _, err) = run(&mut init);
        assert!(ok, "{err}");
        let text = std::fs::read_to_string(&cfg).unwrap();
        assert!(text.contains(&format!("lang = \"{lang}\"")), "{locale}");
        // the line is TOML that says so
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(parsed["output"]["lang"].as_str(), Some(lang), "{locale}");
    }
    let out = d.path().join("run");
    let mut analyze = bin();
    analyze.arg("analyze").arg(data("CDNOW_sample.txt"));
    analyze.args(["--delimiter", "whitespace", "--no-header", "--quiet"]);
    analyze.args(["--customer-id-col", "column_2", "--date-col", "column_3"]);
    analyze.args(["--amount-col", "column_5", "--out"]);
    analyze.arg(&out).env("LC_ALL", "zh_CN.UTF-8");
    let (ok, _, err) = run(&mut analyze);
    assert!(ok, "{err}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"lang\": \"zh\""));
}

#[test]
fn an_error_is_said_once() {
    // a model crate's error inside a step's error: its words appear once, not again as a cause
    let d = tempfile::tempdir().unwrap();
    for (name, hash) in [("a.json", "aaaaaaaaaaaa"), ("b.json", "bbbbbbbbbbbb")] {
        let snap = format!(
            r#"{{"as_of": "2024-01-01", "config_hash": "{hash}", "customers": [], "schemes": {{}},
                "grade_order": {{}}, "scores": {{}}, "lifecycle": null, "monetary": []}}"#
        );
        std::fs::write(d.path().join(name), snap).unwrap();
    }
    let (ok, _, err) = run(bin()
        .arg("compare")
        .arg(d.path().join("a.json"))
        .arg(d.path().join("b.json")));
    assert!(!ok);
    // runs that did not record their settings: the two hashes, said once
    assert_eq!(err.matches("different settings").count(), 1, "{err}");
    assert!(
        err.contains("aaaaaaaaaaaa") && err.contains("bbbbbbbbbbbb"),
        "{err}"
    );
    assert!(!err.contains("caused by"), "{err}");
}

/// The flags a message tells to pass: the words after each `pass ` up to the end of the
/// line or the next `(`.
fn passed_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in text.lines() {
        for part in line.replace("Pass ", "pass ").split("pass ").skip(1) {
            let words = part.split(" (").next().unwrap_or_default();
            flags.extend(words.split_whitespace().map(str::to_string));
        }
    }
    flags
}

#[test]
fn a_chinese_export_is_told_the_flags_to_pass_and_they_work() {
    let d = tempfile::tempdir().unwrap();
    let mut csv = "客户编号,下单日期,金额,商品类别,数量\n".to_string();
    for i in 0..60 {
        for m in 1..=(1 + i % 4) {
            let cat = ["食品", "家居", "服饰", "数码", "美妆", "母婴", "图书"][(i + m) % 7];
            csv.push_str(&format!(
                "c{i:02},2024-0{m}-1{},{}.5,{cat},{m}\n",
                i % 9,
                20 + i
            ));
        }
    }
    let file = d.path().join("订单.csv");
    std::fs::write(&file, csv).unwrap();
    let analyze = |extra: &[String], out: &str| {
        run(bin()
            .arg("analyze")
            .arg(&file)
            .args(["--quiet", "--lang", "en", "--out"])
            .arg(d.path().join(out))
            .args(extra))
    };
    // the required columns: the candidates and the flags, in one line
    let (ok, _, err) = analyze(&[], "o1");
    assert!(!ok);
    assert!(
        err.contains(
            "Likely `客户编号` for customer_id, `下单日期` for order_date, `金额` for amount"
        ),
        "{err}"
    );
    let mut flags = passed_flags(&err);
    assert_eq!(
        flags,
        [
            "--customer-id-col",
            "客户编号",
            "--date-col",
            "下单日期",
            "--amount-col",
            "金额"
        ]
    );
    // the optional ones: the category (the behaviour grading needs it) and the quantity
    let (ok, out, err) = analyze(&flags, "o2");
    assert!(ok, "{err}");
    assert!(
        out.contains("classic grading not applied: behaviour")
            && out.contains("--category-col 商品类别"),
        "{out}"
    );
    assert!(
        out.contains("note: `数量` looks like the quantity column"),
        "{out}"
    );
    let more = passed_flags(&out);
    let mut pairs: Vec<String> = more.chunks(2).map(|p| p.join(" ")).collect();
    pairs.sort();
    assert_eq!(pairs, ["--category-col 商品类别", "--quantity-col 数量"]);
    flags.extend(more);
    let (ok, out, err) = analyze(&flags, "o3");
    assert!(ok, "{err}");
    assert!(out.contains("grading behaviour:"), "{out}");
    assert!(!out.contains("pass --"), "{out}");
    let header = std::fs::read_to_string(d.path().join("o3/customers.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        header.contains(",categories,") && header.contains(",items,"),
        "{header}"
    );
}

#[test]
fn the_satisfaction_score_flag_a_message_names_reads_the_score() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "300");
    let survey = d.path().join("survey.csv");
    let scores = std::fs::read_to_string(shop.join("satisfaction.csv")).unwrap();
    let (head, rest) = scores.split_once('\n').unwrap();
    std::fs::write(
        &survey,
        format!("{}\n{rest}", head.replace("score", "满意度")),
    )
    .unwrap();
    let analyze = |extra: &[String], out: &str| {
        run(bin()
            .arg("analyze")
            .arg(shop.join("transactions.csv"))
            .arg("--satisfaction")
            .arg(&survey)
            .args(["--quiet", "--lang", "en", "--out"])
            .arg(d.path().join(out))
            .args(extra))
    };
    let (ok, _, err) = analyze(&[], "a");
    assert!(!ok);
    let flags = passed_flags(&err);
    assert_eq!(flags, ["--satisfaction-score", "满意度"], "{err}");
    let (ok, out, err) = analyze(&flags, "b");
    assert!(ok, "{err}");
    assert!(out.contains("grading satisfaction:"), "{out}");
}

#[test]
fn compare_says_which_settings_differ_and_force_compares_a_renamed_column() {
    let d = tempfile::tempdir().unwrap();
    let shop = generate(d.path(), "500");
    let tx = shop.join("transactions.csv");
    // the same data with the amount column renamed, as another export names it
    let renamed = d.path().join("renamed.csv");
    let text = std::fs::read_to_string(&tx).unwrap();
    let (head, rest) = text.split_once('\n').unwrap();
    std::fs::write(
        &renamed,
        format!("{}\n{rest}", head.replace("amount", "实付金额")),
    )
    .unwrap();
    let bins = d.path().join("bins.toml");
    std::fs::write(&bins, "[rfm]\nbins = 4\n").unwrap();
    let analyze = |file: &Path, extra: &[&str], out: &str| {
        let (ok, _, err) = run(bin()
            .arg("analyze")
            .arg(file)
            .args(["--quiet", "--lang", "en", "--as-of", "2025-12-30", "--out"])
            .arg(d.path().join(out))
            .args(extra));
        assert!(ok, "{err}");
    };
    analyze(&tx, &[], "a");
    analyze(&renamed, &["--amount-col", "实付金额"], "renamed");
    analyze(&tx, &["--config", bins.to_str().unwrap()], "bins");
    let compare = |old: &str, new: &str, force: bool| {
        let mut c = bin();
        c.arg("compare")
            .arg(d.path().join(old))
            .arg(d.path().join(new));
        if force {
            c.arg("--force");
        }
        run(&mut c)
    };
    // a renamed column: the setting, and --force to compare
    let (ok, _, err) = compare("a", "renamed", false);
    assert!(!ok);
    assert!(
        err.contains("columns.amount: (not set) → 实付金额"),
        "{err}"
    );
    assert!(err.contains("pass --force"), "{err}");
    let (ok, out, err) = compare("a", "renamed", true);
    assert!(ok, "{err}");
    assert!(
        out.contains("columns.amount: (not set) → 实付金额"),
        "{out}"
    );
    // the same customers, graded the same: nobody moved
    assert!(
        out.contains("rfm_cn8:") && out.contains(" 0 moved"),
        "{out}"
    );
    // another bin count changes the grades: named, and refused even with --force
    for force in [false, true] {
        let (ok, _, err) = compare("a", "bins", force);
        assert!(!ok);
        assert!(err.contains("rfm.bins: 5 → 4"), "{err}");
        assert!(
            err.contains("not comparable") && !err.contains("--force"),
            "{err}"
        );
    }
    // analyze --previous says the same
    let (ok, _, err) = run(bin()
        .arg("analyze")
        .arg(&tx)
        .args(["--quiet", "--lang", "en", "--previous"])
        .arg(d.path().join("bins"))
        .arg("--out")
        .arg(d.path().join("c")));
    assert!(!ok);
    assert!(err.contains("rfm.bins: 4 → 5"), "{err}");
}
