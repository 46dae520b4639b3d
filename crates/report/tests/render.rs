//! The report shows what the engine's summary holds, as the engine chose it: every section of
//! the contract, the engine's groups, crossings and highlights, and why a step did not run.
//! The summaries are real runs (`common.rs`); the pages are written to the test output folder.

mod common;

use clientele_engine::{Step, Summary};
use clientele_report::{CHARTS_EMBEDDED, Lang, label, missing_labels, payload, render};
use serde_json::Value;

fn write(name: &str, html: &str) {
    std::fs::write(common::out_dir().join(name), html).expect("write report");
}

fn l(lang: Lang, key: &str) -> &'static str {
    label(lang, key).unwrap_or_else(|| panic!("no label {key}"))
}

fn section<'p>(p: &'p Value, id: &str) -> Option<&'p Value> {
    p["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == id)
}

fn cards<'p>(p: &'p Value, id: &str) -> &'p [Value] {
    section(p, id)
        .and_then(|s| s["cards"].as_array())
        .map_or(&[], Vec::as_slice)
}

fn card<'p>(p: &'p Value, id: &str, title: &str) -> Option<&'p Value> {
    cards(p, id).iter().find(|c| c["title"] == title)
}

/// The visible texts of a part of the payload (cells, KPI values, lines), one per line.
fn texts(v: &Value) -> String {
    let mut out = String::new();
    let mut walk = vec![v];
    while let Some(v) = walk.pop() {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(a) => walk.extend(a.iter().rev()),
            Value::Object(o) => {
                walk.extend(o.iter().filter(|(k, _)| *k != "option").map(|(_, v)| v))
            }
            _ => {}
        }
    }
    out
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where the report shows each field of the summary: its section, and the title (label key) of
/// a card in it (`None`: KPI tiles or notes only).
const SHOWN: &[(&str, &str, Option<&str>)] = &[
    ("as_of", "about", Some("about.run")),
    ("tool", "about", Some("about.run")),
    ("config_hash", "about", Some("about.run")),
    ("time_unit", "about", Some("about.run")),
    ("columns", "about", Some("about.columns")),
    ("kpis", "overview", None),
    ("inputs", "overview", Some("card.quality")),
    ("reconciliation", "overview", Some("card.quality")),
    ("side_tables", "overview", Some("card.side_tables")),
    (
        "leads_without_purchase",
        "overview",
        Some("card.side_tables"),
    ),
    ("next_steps", "next", Some("card.next")),
    ("target_lists", "next", Some("card.next")),
    ("grades", "grades", Some("scheme.behaviour")),
    ("skipped_presets", "grades", None),
    ("rfm", "rfm", Some("rfm.thresholds")),
    ("clv", "value", Some("fit.title")),
    ("value_tiers", "value", Some("pareto.title")),
    ("top_customers", "value", Some("top.title")),
    ("validation", "validation", Some("val.title")),
    ("clusters", "clusters", Some("cl.profiles")),
    ("behaviour", "behaviour", Some("beh.affinity_title")),
    ("lifecycle", "lifecycle", Some("lc.funnel")),
    ("lifecycle", "trends", Some("tr.revenue_title")),
    ("lifecycle", "cohorts", Some("co.title")),
    ("migration", "migration", Some("mig.summary")),
    ("history", "history", Some("hist.kpis")),
];

/// Fields of the summary the report does not show as such, and why.
const NOT_SHOWN: &[(&str, &str)] = &[
    ("schema_version", "the version of the shape"),
    (
        "lang",
        "the language of the data's labels; the page has its own",
    ),
    (
        "highlights",
        "which parts to show: the_engine_chooses_what_is_shown",
    ),
];

/// Whether a serialized field holds anything to show.
fn holds_something(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Object(o) => o.get("status").is_none_or(|s| s == "done"),
        _ => true,
    }
}

#[test]
fn every_field_of_the_contract_has_its_section() {
    let s = common::demo();
    let fields = serde_json::to_value(s).expect("serialize");
    let fields = fields.as_object().expect("an object");
    // a field the report neither shows nor lists fails here: a new or renamed field of the
    // engine cannot drop out of the report unnoticed
    for name in fields.keys() {
        assert!(
            SHOWN.iter().any(|(f, _, _)| f == name) || NOT_SHOWN.iter().any(|(f, _)| f == name),
            "summary field {name} is not in the report"
        );
    }
    for (name, _) in NOT_SHOWN {
        assert!(
            fields.contains_key(*name),
            "{name} is no longer a summary field"
        );
    }
    // the demo run has every section, so the check below cannot pass by having nothing
    for name in [
        "clv",
        "validation",
        "clusters",
        "behaviour",
        "lifecycle",
        "rfm",
        "grades",
        "value_tiers",
        "next_steps",
        "top_customers",
        "migration",
        "history",
        "side_tables",
    ] {
        assert!(holds_something(&fields[name]), "the demo run has no {name}");
    }
    for lang in [Lang::Zh, Lang::En] {
        let p = payload(s, lang);
        for (name, id, card_title) in SHOWN {
            let value = fields
                .get(*name)
                .unwrap_or_else(|| panic!("no summary field {name}"));
            if !holds_something(value) {
                continue;
            }
            assert!(
                section(&p, id).is_some(),
                "{lang}: {name} has no section {id}"
            );
            if let Some(key) = card_title {
                assert!(
                    card(&p, id, l(lang, key)).is_some(),
                    "{lang}: {name} has no card {key} in {id}"
                );
            }
        }
    }
}

#[test]
fn the_numbers_and_groups_are_the_engines() {
    let s = common::demo();
    let p = payload(s, Lang::En);
    let overview = texts(section(&p, "overview").expect("overview"));
    assert!(overview.contains(&thousands(s.kpis.customers)));
    assert!(overview.contains(&thousands(s.inputs.accepted as usize)));
    assert!(overview.contains(&s.as_of.to_string()));

    // next steps: the engine's groups, in its order, with their files or export arguments
    let next = card(&p, "next", l(Lang::En, "card.next")).expect("next steps");
    let rows = next["table"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), s.next_steps.len());
    for (row, step) in rows.iter().zip(&s.next_steps) {
        assert_eq!(row[0], step.name_en.as_str());
        assert_eq!(row[2]["v"], step.customers as f64);
        let list = row[6].as_str().expect("a list");
        match &step.file {
            Some(f) => assert_eq!(list, f),
            None => assert!(
                list.starts_with("--scheme ") && list.contains(&step.name_en),
                "{list}"
            ),
        }
    }

    // the Pareto crossing is the engine's
    let cross = s
        .value_tiers
        .as_ref()
        .and_then(|v| v.customers_for_80_percent);
    let cross = cross.expect("a crossing");
    let pareto = card(&p, "value", l(Lang::En, "pareto.title")).expect("pareto");
    assert!(
        pareto["sub"]
            .as_str()
            .expect("sub")
            .starts_with(&format!("{:.1}%", cross * 100.0))
    );

    // moved shares are the lifecycle crate's
    let m = s.migration.as_ref().expect("migration");
    let summary = card(&p, "migration", l(Lang::En, "mig.summary")).expect("migration summary");
    let rows = summary["table"]["rows"].as_array().expect("rows");
    for (row, mig) in rows.iter().zip(m.lifecycle.iter().chain(&m.schemes)) {
        assert_eq!(row[3]["v"].as_f64(), mig.moved_share, "{}", mig.name);
    }

    // the best customers, best first, as the engine ranked them
    let top = card(&p, "value", l(Lang::En, "top.title")).expect("top customers");
    let ids: Vec<&str> = top["table"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[1].as_str().expect("id"))
        .collect();
    let expected: Vec<&str> = s
        .top_customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(ids, expected);
}

#[test]
fn the_engine_chooses_what_is_shown() {
    let s = common::demo();
    let h = &s.highlights;
    assert!(!h.migrations.is_empty() && !h.history.is_empty() && h.breakdown.is_some());
    for lang in [Lang::Zh, Lang::En] {
        let p = payload(s, lang);
        // one matrix per chosen migration, after the summary card
        let mig = cards(&p, "migration");
        let matrices: Vec<&Value> = mig
            .iter()
            .filter(|c| {
                c["chart"]["id"]
                    .as_str()
                    .is_some_and(|id| id.contains("-mig-"))
            })
            .collect();
        assert_eq!(matrices.len(), h.migrations.len(), "{lang}");
        // the lifecycle matrix names stages and new and gone customers in the page's language
        assert_eq!(h.migrations[0], "lifecycle");
        let rows = texts(&matrices[0]["table"]);
        assert!(
            !rows.contains("at_risk"),
            "{lang}: stage ids shown as they are"
        );
        assert!(rows.contains(l(lang, "mig.new")) && rows.contains(l(lang, "mig.gone")));
        if lang == Lang::Zh {
            for raw in [
                clientele_engine::lifecycle::NEW_CUSTOMER,
                clientele_engine::lifecycle::GONE,
            ] {
                assert!(!rows.contains(raw), "{raw} shown as it is");
            }
        }
        // one size history per chosen grouping
        let sizes = cards(&p, "history")
            .iter()
            .filter(|c| {
                c["chart"]["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with("hist-sizes"))
            })
            .count();
        assert_eq!(sizes, h.history.len(), "{lang}");
        // the chosen breakdown
        let b = s.behaviour.done().expect("behaviour");
        let chosen = &b.breakdowns[h.breakdown.expect("a breakdown")];
        let dim = label(lang, &format!("col.{}", chosen.dimension)).unwrap_or(&chosen.dimension);
        let breakdown = cards(&p, "behaviour")
            .iter()
            .find(|c| {
                c["chart"]["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with("beh-breakdown"))
            })
            .expect("breakdown");
        assert!(
            breakdown["title"].as_str().expect("title").starts_with(dim),
            "{lang}"
        );
    }
}

#[test]
fn steps_that_did_not_run_say_why_and_their_sections_are_left_out() {
    let mut s: Summary = common::demo().clone();
    s.clv = Step::Failed {
        error: "too few repeat customers".into(),
        error_zh: Some("回头客太少".into()),
    };
    s.clusters = Step::Skipped {
        reason: "only 3 customers".into(),
        reason_zh: None,
    };
    s.validation = Step::Failed {
        error: "calibration end after the data".into(),
        error_zh: None,
    };
    s.behaviour = Step::Skipped {
        reason: "no orders column".into(),
        reason_zh: None,
    };
    s.lifecycle = None;
    s.rfm = None;
    s.migration = None;
    s.history.clear();
    let html = render(&s, Lang::En).expect("render");
    write("demo-steps-missing-en.html", &html);
    for needle in [
        "CLV not computed: too few repeat customers",
        "No clustering: only 3 customers",
        "No holdout validation: calibration end after the data",
        "no orders column",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    // a Chinese run shows the model crate's Chinese words where it gave them
    let zh = render(&s, Lang::Zh).expect("render");
    assert!(zh.contains("未计算 CLV：回头客太少"), "zh reason");
    assert!(!zh.contains("too few repeat customers"), "en reason in zh");
    for id in [
        "trends",
        "cohorts",
        "rfm",
        "migration",
        "history",
        "lifecycle",
    ] {
        assert!(
            !html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(!html.contains(l(Lang::En, "fit.title")));
    for lang in [Lang::Zh, Lang::En] {
        assert_eq!(missing_labels(&s, lang), Vec::<String>::new(), "{lang}");
    }
    // a run without a single step still renders
    let mut bare = s.clone();
    bare.grades.clear();
    bare.value_tiers = None;
    bare.next_steps.clear();
    bare.top_customers.clear();
    bare.side_tables.clear();
    assert!(
        render(&bare, Lang::Zh)
            .expect("render")
            .contains(l(Lang::Zh, "title"))
    );
}

#[test]
fn offline_and_self_contained() {
    for (name, s, lang) in [
        ("demo", common::demo(), Lang::Zh),
        ("cdnow", common::cdnow(), Lang::En),
    ] {
        let html = render(s, lang).expect("render");
        write(&format!("{name}-{lang}.html"), &html);
        let lower = html.to_ascii_lowercase();
        for bad in [
            "src=\"http",
            "src='http",
            "href=\"http",
            "href='http",
            "@import",
            "url(http",
        ] {
            assert!(!lower.contains(bad), "{name}: external reference {bad}");
        }
        assert!(!lower.contains("<script src"), "{name}: external script");
        assert!(!lower.contains("<link "), "{name}: external stylesheet");
        assert!(!html.contains("{v}"), "{name}: unfilled placeholder");
        if CHARTS_EMBEDDED {
            assert!(html.contains("class=\"chart\""));
            assert!(!html.contains("class=\"banner\""));
        } else {
            assert!(html.contains("class=\"banner\""));
            assert!(!html.contains("class=\"chart\""));
        }
    }
}

#[test]
fn renders_fast() {
    for s in [common::demo(), common::cdnow()] {
        let t = std::time::Instant::now();
        for _ in 0..5 {
            render(s, Lang::Zh).expect("render");
        }
        let per = t.elapsed() / 5;
        assert!(
            per < std::time::Duration::from_secs(1),
            "render took {per:?}"
        );
    }
}
