//! Every fix the engine suggests works: each case makes the real problem, finds the suggested
//! config snippet in the message (`[rfm.f] method = "ntile"`, `decimal = ","` in [source],
//! `default = "普通客户"`), applies it, and sees the run or the check accepted. The flags the CLI
//! suggests are run by the CLI tests (`crates/cli/tests/cli.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{Analysis, AnalyzeOptions, Config, NoProgress, analyze};
use clientele_grade::{SchemeConfig, Severity, TableSchema, check_all};

/// A seeded synthetic shop, generated once for the whole file.
fn shop() -> &'static Path {
    static SHOP: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SHOP
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let shop =
                generate(&ShopSpec::new(400, 11), &dir.path().join("shop"), &|_| {}).unwrap();
            (dir, shop.transactions)
        })
        .1
}

/// Deep-merges TOML `fix` into TOML `base` (a dotted key such as `rfm.r.bins = 5` is a table).
fn apply(base: &str, fix: &str) -> String {
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (k, v) in from {
            match (into.get_mut(&k), v) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                (_, v) => {
                    into.insert(k, v);
                }
            }
        }
    }
    let mut t: toml::Table = toml::from_str(base).unwrap();
    let f: toml::Table = toml::from_str(fix).unwrap_or_else(|e| panic!("the fix `{fix}`: {e}"));
    merge(&mut t, f);
    toml::to_string(&t).unwrap()
}

/// `base` without the key at `path` (`rfm.r.cuts`): what "remove `cuts`" asks for.
fn remove(base: &str, path: &str) -> String {
    let mut t: toml::Table = toml::from_str(base).unwrap();
    let keys: Vec<&str> = path.split('.').collect();
    let (last, tables) = keys.split_last().unwrap();
    let mut at = &mut t;
    for k in tables {
        at = at.get_mut(*k).and_then(toml::Value::as_table_mut).unwrap();
    }
    assert!(at.remove(*last).is_some(), "{path} is not in {base}");
    toml::to_string(&t).unwrap()
}

/// The first backticked span of `text` after `from` (`[rfm.f] method = "ntile"`).
fn code_after<'a>(text: &'a str, from: &str) -> &'a str {
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("`{from}` is not in: {text}"));
    text[at..].split('`').nth(1).unwrap()
}

/// The backticked span of `text` that holds `words`.
fn span_with<'a>(text: &'a str, words: &str) -> &'a str {
    text.split('`')
        .skip(1)
        .step_by(2)
        .find(|s| s.contains(words))
        .unwrap_or_else(|| panic!("no `…{words}…` in: {text}"))
}

/// A suggestion written `[table] key = value` as TOML.
fn as_toml(snippet: &str) -> String {
    match snippet.strip_prefix('[') {
        Some(rest) => {
            let (table, kv) = rest.split_once(']').unwrap();
            format!("[{table}]\n{}\n", kv.trim())
        }
        None => format!("{snippet}\n"),
    }
}

/// The config `text` reading the shop.
fn config(text: &str) -> Config {
    let mut c = Config::from_toml(text, "<case>").unwrap_or_else(|e| panic!("{e}\n{text}"));
    if c.source.transactions.is_empty() {
        c.source.transactions = vec![shop().to_path_buf()];
    }
    c.clv.enabled = text.contains("[clv]");
    c.cluster.enabled = text.contains("[cluster]");
    c
}

fn run(text: &str) -> Result<Analysis, String> {
    analyze(&config(text), &AnalyzeOptions::default(), &NoProgress).map_err(|e| e.to_string())
}

/// Every string in the summary (notes, reasons, skipped steps).
fn texts(a: &Analysis) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(x) => x.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::to_value(&a.summary).unwrap(), &mut out);
    out
}

#[test]
fn an_empty_rfm_level_names_the_method_that_fills_it() {
    // most customers bought once: the quantile cut points of orders tie at 1
    let d = tempfile::tempdir().unwrap();
    let mut text = "customer_id,order_date,amount\n".to_string();
    for i in 0..100 {
        for k in 0..(if i % 10 == 0 { 1 + i / 10 } else { 1 }) {
            text.push_str(&format!(
                "c{i:03},2024-{:02}-{:02},{}\n",
                1 + k % 12,
                1 + i % 28,
                10 + i
            ));
        }
    }
    let p = file(d.path(), "ties.csv", text.as_bytes());
    let run = |c: &str| run_file(c, &p);
    let base = "[rfm.f]\nmethod = \"quantile\"\n";
    let a = run(base).unwrap();
    let notes = texts(&a);
    let note = notes
        .iter()
        .find(|t| t.contains("method = \"ntile\""))
        .unwrap_or_else(|| panic!("no note suggests ntile: {notes:?}"));
    // "…; [rfm.f] method = "ntile" splits ties by customer id instead"
    let start = note.find("[rfm.").unwrap();
    let value = note[start..].find("= \"").unwrap() + 3;
    let end = value + note[start + value..].find('"').unwrap() + 1;
    let fixed = apply(base, &as_toml(&note[start..start + end]));
    let a = run(&fixed).unwrap();
    assert!(
        !texts(&a)
            .iter()
            .any(|t| t.contains("ties are kept together")),
        "{fixed}"
    );
}

#[test]
fn a_scheme_on_other_bins_names_the_bins_it_needs() {
    let mut text = "[rfm]\nbins = 4\nschemes = [\"rf10\"]\n".to_string();
    let mut fixes = 0;
    loop {
        match run(&text) {
            Ok(a) => {
                assert!(fixes > 0);
                assert!(a.summary.rfm.is_some());
                break;
            }
            Err(e) => {
                // "set rfm.r.bins = 5 (and a binned method)"
                let at = e.find("set rfm.").unwrap_or_else(|| panic!("{e}"));
                let fix = e[at + 4..].split(" (").next().unwrap();
                text = apply(&text, fix);
                fixes += 1;
                assert!(fixes <= 3, "{e}");
            }
        }
    }
}

#[test]
fn each_rfm_setting_message_names_a_fix_that_is_accepted() {
    // (config, words of the message, the fix as a change of the config)
    type Fix = fn(&str) -> String;
    let cases: [(&str, &str, Fix); 5] = [
        (
            "[rfm.r]\ncuts = [30, 90]\n",
            "set method = \"fixed\"",
            |c| apply(c, "[rfm.r]\nmethod = \"fixed\"\n"),
        ),
        ("[rfm.r]\ncuts = [30, 90]\n", "remove cuts", |c| {
            remove(c, "rfm.r.cuts")
        }),
        (
            "[rfm.r]\nmethod = \"fixed\"\n",
            "needs cuts = [c1, c2, …]",
            |c| apply(c, "[rfm.r]\ncuts = [30, 90, 180, 365]\n"),
        ),
        (
            "[rfm.r]\nmethod = \"fixed\"\ncuts = [30, 90]\nbins = 5\n",
            "drop bins",
            |c| remove(c, "rfm.r.bins"),
        ),
        (
            "[rfm.m]\nmethod = \"vs_mean\"\nbins = 5\n",
            "drop bins",
            |c| remove(c, "rfm.m.bins"),
        ),
    ];
    for (text, words, fix) in cases {
        let e = run(text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        assert!(e.contains(words), "{text}: {e}");
        let fixed = fix(text);
        run(&fixed).unwrap_or_else(|e| panic!("{fixed}: {e}"));
    }
}

#[test]
fn cluster_feature_messages_name_fixes_that_are_accepted() {
    let text = "[cluster]\nk = 3\nfeatures = [\"log(monetary)\", \"orders\"]\n";
    let a = run(text).unwrap();
    let why = format!("{:?}", a.summary.clusters.problem());
    // "write a column name, `log1p(column)` or `none(column)`"
    assert!(why.contains("`log1p(column)`"), "{why}");
    let fixed = text.replace("log(monetary)", "log1p(monetary)");
    let a = run(&fixed).unwrap();
    assert!(a.summary.clusters.done().is_some(), "{fixed}");

    let text = "[cluster]\nk = 3\nfeatures = []\n";
    let a = run(text).unwrap();
    let why = format!("{:?}", a.summary.clusters.problem());
    assert!(why.contains("remove the key"), "{why}");
    let a = run(&remove(text, "cluster.features")).unwrap();
    assert!(a.summary.clusters.done().is_some());
}

#[test]
fn the_clv_fixes_are_accepted() {
    // a failed fit suggests a penalizer or another model, a spend fit without a finite mean
    // the run without CLV: each is a run that works
    for fix in [
        "[clv]\npenalizer = 0.001\n",
        "[clv]\nmodel = \"bg_nbd\"\n",
        "[clv]\nmodel = \"pareto_nbd\"\n",
        "[clv]\nspend = \"none\"\n",
    ] {
        let a = run(fix).unwrap_or_else(|e| panic!("{fix}: {e}"));
        assert!(
            a.summary.clv.done().is_some(),
            "{fix}: {:?}",
            a.summary.clv.problem()
        );
    }
}

/// The columns and score ranges `config check` checks schemes against.
fn schema() -> TableSchema {
    static A: OnceLock<TableSchema> = OnceLock::new();
    A.get_or_init(|| {
        let a = run("").unwrap();
        let mut s = TableSchema::of(&a.customers);
        for c in ["r_score", "f_score", "m_score"] {
            s = s.with_range(c, 1, 5);
        }
        s
    })
    .clone()
}

fn schemes(text: &str) -> Vec<SchemeConfig> {
    Config::from_toml(text, "<case>")
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .scheme
}

/// The findings of `config check` on `text`, errors and warnings.
fn findings(text: &str) -> Vec<(String, String)> {
    check_all(&schemes(text), &schema())
        .into_iter()
        .filter(|d| matches!(d.severity, Severity::Error | Severity::Warning))
        .map(|d| (d.message, d.fix.unwrap_or_default()))
        .collect()
}

/// A suggested snippet with its placeholders filled (`grade = "..."` → `grade = "A"`) and a
/// trailing `, ...` of a list dropped.
fn filled(snippet: &str) -> String {
    snippet
        .replace(", ...]", "]")
        .replace("grade = \"...\"", "grade = \"A\"")
        .replace("when = \"...\"", "when = \"orders > 1\"")
        .replace("name = \"...\"", "name = \"fixed\"")
        .replace("default = \"...\"", "default = \"其他\"")
}

/// Where a fix goes: the scheme, or its first rule or tier.
#[derive(Debug, Clone, Copy)]
enum To {
    Scheme,
    Rule,
    Tier,
}

/// The scheme (`[[scheme]]`), or its first rule or tier, with `snippet` added.
fn add_to_scheme(text: &str, snippet: &str, to: To) -> String {
    let mut t: toml::Table = toml::from_str(text).unwrap();
    let fix: toml::Table = toml::from_str(snippet).unwrap_or_else(|e| panic!("{snippet}: {e}"));
    let scheme = t["scheme"].as_array_mut().unwrap()[0]
        .as_table_mut()
        .unwrap();
    fn first<'a>(s: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
        s.get_mut(key)
            .and_then(toml::Value::as_array_mut)
            .and_then(|a| a.first_mut())
            .and_then(toml::Value::as_table_mut)
            .unwrap()
    }
    let target = match to {
        To::Scheme => scheme,
        To::Rule => first(scheme, "rules"),
        To::Tier => first(scheme, "tiers"),
    };
    target.extend(fix);
    toml::to_string(&t).unwrap()
}

#[test]
fn each_grading_check_names_a_fix_that_clears_it() {
    let cases = [
        // (scheme, words of the fix, where the snippet goes)
        (
            "[[scheme]]\nname = \"s\"\nrules = [{ grade = \"A\", when = \"orders > 3\" }]\n",
            "default = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \"s\"\ndefault = \"B\"\n",
            "rules = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"points\"\nrules = [{ grade = \"A\", when = \"orders > 3\" }]\n\
             tiers = [{ grade = \"金\", min_points = 0 }]\n",
            "points = ",
            To::Rule,
        ),
        (
            "[[scheme]]\nname = \"s\"\ndefault = \"B\"\nrules = [{ when = \"orders > 3\" }]\n",
            "grade = ",
            To::Rule,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"grid\"\nrules = [{ grade = \"hi\", when = \"r_score >= 3\" }, \
             { grade = \"lo\", when = \"r_score < 3\" }]\n",
            "axes = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"grid\"\naxes = [\"r_score\"]\nrange = [5, 1]\n\
             rules = [{ grade = \"hi\", when = \"r_score >= 3\" }, { grade = \"lo\", when = \"r_score < 3\" }]\n",
            "range = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"points\"\ndefault = \"B\"\n\
             rules = [{ when = \"orders > 3\", points = 10 }]\ntiers = [{ grade = \"金\", min_points = inf }]\n",
            "min_points = ",
            To::Tier,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"points\"\ndefault = \"B\"\nrules = [{ when = \"orders > 3\", points = 10 }]\n",
            "tiers = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \"s\"\nmode = \"points\"\nrules = [{ when = \"orders > 3\", points = 10 }]\n\
             tiers = [{ grade = \"金\", min_points = 10 }]\n",
            "default = ",
            To::Scheme,
        ),
        (
            "[[scheme]]\nname = \" \"\ndefault = \"B\"\nrules = [{ grade = \"A\", when = \"orders > 3\" }]\n",
            "name = ",
            To::Scheme,
        ),
    ];
    for (text, words, to) in cases {
        let found = findings(text);
        let (_, fix) = found
            .iter()
            .find(|(_, fix)| fix.contains(words))
            .unwrap_or_else(|| panic!("no fix with `{words}` for\n{text}: {found:?}"));
        let snippet = filled(span_with(fix, words));
        let fixed = add_to_scheme(text, &snippet, to);
        let after = findings(&fixed);
        assert!(
            after.is_empty(),
            "the fix `{snippet}` for\n{text}left {after:?}\n{fixed}"
        );
    }
}

#[test]
fn a_misspelt_column_names_the_column_to_write_and_removed_keys_clear_warnings() {
    let text = "[[scheme]]\nname = \"s\"\ndefault = \"B\"\nrules = [{ grade = \"A\", when = \"order > 3\" }]\n";
    let found = findings(text);
    // "write `orders` instead of `order`"
    let fix = &found[0].1;
    let (right, wrong) = (code_after(fix, "write"), code_after(fix, "instead of"));
    let fixed = text.replace(&format!("{wrong} >"), &format!("{right} >"));
    assert!(findings(&fixed).is_empty(), "{fixed}");

    // "remove `axes` or change `mode`", "remove `points` or use `mode = \"points\"`"
    for (text, key) in [
        (
            "[[scheme]]\nname = \"s\"\ndefault = \"B\"\naxes = [\"r_score\"]\nrules = [{ grade = \"A\", when = \"orders > 3\" }]\n",
            "axes",
        ),
        (
            "[[scheme]]\nname = \"s\"\ndefault = \"B\"\nrules = [{ grade = \"A\", when = \"orders > 3\", points = 3 }]\n",
            "points",
        ),
    ] {
        let found = findings(text);
        assert!(
            found
                .iter()
                .any(|(_, f)| f.contains(&format!("remove `{key}`"))),
            "{found:?}"
        );
        let mut t: toml::Table = toml::from_str(text).unwrap();
        let s = t["scheme"].as_array_mut().unwrap()[0]
            .as_table_mut()
            .unwrap();
        if key == "points" {
            s["rules"].as_array_mut().unwrap()[0]
                .as_table_mut()
                .unwrap()
                .remove("points");
        } else {
            s.remove(key);
        }
        let fixed = toml::to_string(&t).unwrap();
        assert!(findings(&fixed).is_empty(), "{fixed}");
    }

    // a second scheme of the same name: "give every [[scheme]] its own `name`"
    let text = "[[scheme]]\nname = \"s\"\npreset = \"behaviour\"\n[[scheme]]\nname = \"s\"\npreset = \"profit\"\n";
    let found = findings(text);
    assert!(
        found.iter().any(|(_, f)| f.contains("its own `name`")),
        "{found:?}"
    );
    let fixed = text.replacen(
        "name = \"s\"\npreset = \"profit\"",
        "name = \"t\"\npreset = \"profit\"",
        1,
    );
    assert!(findings(&fixed).is_empty(), "{fixed}");

    // an unknown preset names the presets; an unknown parameter names the parameters
    let text = "[[scheme]]\nname = \"s\"\npreset = \"behavior\"\n";
    let found = findings(text);
    let list = found[0].1.split(": ").nth(1).unwrap();
    let first = list.split(", ").next().unwrap();
    assert!(
        findings(&text.replace("behavior", first)).is_empty(),
        "{found:?}"
    );
    let text = "[[scheme]]\nname = \"s\"\npreset = \"behaviour\"\nparams = { vip_order = 20 }\n";
    let found = findings(text);
    let list = found[0].1.split(": ").nth(1).unwrap();
    let first = list.split(", ").next().unwrap();
    assert!(
        findings(&text.replace("vip_order", first)).is_empty(),
        "{found:?}"
    );
}

/// A transactions file in `dir` with `text` (UTF-8) or `bytes`.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `config` (TOML) reading `path`, analyzed; the error text when it fails.
fn run_file(text: &str, path: &Path) -> Result<Analysis, String> {
    let mut c = config(text);
    c.source.transactions = vec![path.to_path_buf()];
    analyze(&c, &AnalyzeOptions::default(), &NoProgress).map_err(|e| e.to_string())
}

/// The `[section] key = value` a message names as `` `key = value` in [section] ``.
fn config_fix(message: &str) -> String {
    let at = message
        .find("` in [")
        .unwrap_or_else(|| panic!("no config fix in: {message}"));
    let snippet = message[..at].rsplit('`').next().unwrap();
    let section = message[at + 5..]
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches('[');
    format!("[{section}]\n{snippet}\n")
}

#[test]
fn each_input_problem_names_a_config_fix_that_reads_the_file() {
    let d = tempfile::tempdir().unwrap();
    let rows = |sep: &str, amounts: [&str; 4]| {
        let mut s = format!("customer_id{sep}order_date{sep}amount\n");
        for (i, a) in amounts.iter().enumerate() {
            s.push_str(&format!("c{i}{sep}2024-01-0{}{sep}{a}\n", i + 1));
        }
        s
    };

    // decimal commas: rejected, with `decimal = ","` in [source]
    let p = file(
        d.path(),
        "comma.csv",
        rows(";", ["12,50", "0,99", "1.234,56", "7"]).as_bytes(),
    );
    let a = run_file("[source]\ndelimiter = \";\"\n", &p).unwrap();
    assert_eq!(a.summary.inputs.rejected, 3);
    let fixed = apply(
        "[source]\ndelimiter = \";\"\n",
        &config_fix(&a.rejects[0].reason),
    );
    let a = run_file(&fixed, &p).unwrap();
    assert_eq!(
        (a.summary.inputs.rejected, a.summary.inputs.accepted),
        (0, 4)
    );

    // a header split by another delimiter: `delimiter = ";"` in [source]
    let p = file(
        d.path(),
        "semi.csv",
        rows(";", ["1", "2", "3", "4"]).as_bytes(),
    );
    let e = run_file("", &p).err().unwrap();
    let a = run_file(&config_fix(&e), &p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.summary.inputs.accepted, 4);

    // GBK bytes read as UTF-8: `encoding = "gbk"` in [source]
    let mut gbk = b"customer_id,order_date,amount\n".to_vec();
    for (i, name) in [[0xd5, 0xc5, 0xc8, 0xfd], [0xc0, 0xee, 0xcb, 0xc4]]
        .iter()
        .enumerate()
    {
        gbk.extend(name); // 张三, 李四
        gbk.extend(format!(",2024-01-0{},5\n", i + 1).as_bytes());
    }
    let p = file(d.path(), "gbk.csv", &gbk);
    let e = run_file("", &p).err().unwrap();
    let a = run_file(&config_fix(&e), &p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.summary.inputs.accepted, 2);
    assert_eq!(&a.customers.ids()[0], "张三");

    // a date far beyond the others: "If such dates are real, pass --as-of"
    let p = file(
        d.path(),
        "typo.csv",
        (rows(",", ["1", "2", "3", "4"]) + "c9,9999-12-31,5\n").as_bytes(),
    );
    let a = run_file("", &p).unwrap();
    assert!(
        a.rejects[0].reason.contains("pass --as-of"),
        "{:?}",
        a.rejects
    );
    let a = run_file("[time]\nas_of = 9999-12-31\n", &p).unwrap();
    assert_eq!(a.summary.inputs.rejected, 0);

    // an as-of before the data: "choose a later --as-of"
    let p = file(
        d.path(),
        "early.csv",
        rows(",", ["1", "2", "3", "4"]).as_bytes(),
    );
    let e = run_file("[time]\nas_of = 2023-01-01\n", &p).err().unwrap();
    assert!(e.contains("choose a later --as-of"), "{e}");
    run_file("[time]\nas_of = 2024-02-01\n", &p).unwrap();

    // a satisfaction table without `score`: the column that looks like it, as a key of [source]
    let p = file(
        d.path(),
        "orders.csv",
        rows(",", ["1", "2", "3", "4"]).as_bytes(),
    );
    let s = file(
        d.path(),
        "survey.csv",
        "customer_id,满意度\nc0,5\nc1,4\n".as_bytes(),
    );
    let base = format!("[source]\nsatisfaction = {:?}\n", s.display().to_string());
    let e = run_file(&base, &p).err().unwrap();
    assert!(e.contains("--satisfaction-score 满意度"), "{e}");
    let a = run_file(&apply(&base, &config_fix(&e)), &p).unwrap_or_else(|e| panic!("{e}"));
    assert!(a.customers.get("satisfaction").is_some());
}

#[test]
fn a_column_under_another_name_is_suggested_and_the_suggestion_reads_it() {
    let d = tempfile::tempdir().unwrap();
    let mut text = "客户编号,下单日期,金额,商品类别,数量\n".to_string();
    for i in 0..40 {
        for day in 1..=(1 + i % 3) {
            let cat = ["食品", "家居", "服饰", "数码", "美妆", "母婴", "图书"][(i + day) % 7];
            text.push_str(&format!(
                "c{i:02},2024-0{day}-1{},{},{cat},{}\n",
                i % 9,
                10 + i,
                day
            ));
        }
    }
    let p = file(d.path(), "订单.csv", text.as_bytes());
    // the required columns: "Likely `客户编号` for customer_id, …"
    let e = run_file("", &p).err().unwrap();
    assert!(e.contains("Likely `客户编号` for customer_id"), "{e}");
    let base =
        "[columns]\ncustomer_id = \"客户编号\"\norder_date = \"下单日期\"\namount = \"金额\"\n";
    let a = run_file(base, &p).unwrap();
    let fixes: Vec<String> = a.column_hints.iter().map(|h| h.config_fix()).collect();
    assert_eq!(fixes, ["category = \"商品类别\"", "quantity = \"数量\""]);
    // the skipped behaviour grading says which flag maps the category
    assert!(
        a.summary
            .skipped_presets
            .iter()
            .any(|s| s.en.starts_with("behaviour")
                && s.en.contains("--category-col 商品类别")
                && s.zh.contains("--category-col 商品类别")),
        "{:?}",
        a.summary.skipped_presets
    );
    let fixed = fixes.iter().fold(base.to_string(), |c, f| {
        apply(&c, &format!("[columns]\n{f}\n"))
    });
    let a = run_file(&fixed, &p).unwrap();
    assert!(a.column_hints.is_empty(), "{:?}", a.column_hints);
    assert!(a.summary.grades.iter().any(|g| g.scheme == "behaviour"));
    assert!(a.customers.get("items").is_some() && a.customers.get("categories").is_some());
}
