//! Renders the demo shop and CDNOW reports and checks sections and key numbers.

mod common;

use clientele_report::{CHARTS_EMBEDDED, Lang, ReportExtras, render};
use common::{fixture, out_dir};

fn write(name: &str, html: &str) {
    std::fs::write(out_dir().join(name), html).expect("write report");
}

#[test]
fn demo_zh_has_sections_and_numbers() {
    let s = fixture("demo");
    let t = std::time::Instant::now();
    let html = render(&s, Lang::Zh, &ReportExtras::default()).expect("render");
    eprintln!("render took {:?}, {} bytes", t.elapsed(), html.len());
    write("demo-zh.html", &html);
    for id in [
        "overview",
        "next",
        "grades",
        "rfm",
        "value",
        "clusters",
        "lifecycle",
        "trends",
        "cohorts",
        "about",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    // KPIs: customers, revenue, orders, AOV, active share, as-of, accepted/rejected rows.
    for needle in [
        "5,000",
        "510.6万",
        "21,969",
        "232.43",
        "33.5%",
        "2025-12-30",
        "29,695 / 0",
        "81.3%",
        "重要价值客户",
        "重要挽留客户",
        "VIP",
        "专属客服一对一维护",
        "segments/behaviour/普通客户.csv",
        "帕累托曲线",
        "39.5%",
        "k = 2",
        "高价值-高频-近期",
        "生命周期漏斗",
        "同期群留存热力图",
        "2024-01",
        "BG/NBD",
        "Gamma-Gamma",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains("<section id=\"migration\""));
    assert!(!html.contains("{v}"), "unfilled placeholder");
}

#[test]
fn cdnow_en_has_sections_and_numbers() {
    let s = fixture("cdnow");
    let html = render(&s, Lang::En, &ReportExtras::default()).expect("render");
    write("cdnow-en.html", &html);
    for needle in [
        "23,570",
        "2.50M",
        "67,591",
        "36.99",
        "14.1%",
        "1998-06-30",
        "69,659 / 0",
        "Important value",
        "Champions",
        "Pareto curve",
        "32.6%",
        "Cohort retention heatmap",
        "1997-01",
        "Preset grading schemes not run",
        "behaviour, attributes, profit, satisfaction",
        "segments/rfm_cn8/",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    // No grading scheme ran: the grades section has only its note.
    assert!(!html.contains("Behaviour grades"));
    assert!(!html.contains("{v}"), "unfilled placeholder");
}

#[test]
fn offline_and_self_contained() {
    for (name, lang) in [("demo", Lang::Zh), ("cdnow", Lang::En)] {
        let html = render(&fixture(name), lang, &ReportExtras::default()).expect("render");
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
        assert_eq!(
            html.contains("echarts"),
            CHARTS_EMBEDDED || html.contains("ECharts")
        );
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
fn missing_sections_are_left_out_with_reasons() {
    let mut s = fixture("demo");
    let o = s.as_object_mut().expect("object");
    o.insert("clv".into(), serde_json::Value::Null);
    o.insert("clv_error".into(), "too few repeat customers".into());
    o.insert("clusters".into(), serde_json::Value::Null);
    o.insert("cluster_error".into(), "only 3 customers".into());
    o.remove("lifecycle");
    o.remove("rfm");
    o.insert(
        "unknown_future_key".into(),
        serde_json::json!({"x": [1, 2]}),
    );
    let html = render(&s, Lang::En, &ReportExtras::default()).expect("render");
    assert!(html.contains("CLV not computed: too few repeat customers"));
    assert!(html.contains("No clustering: only 3 customers"));
    assert!(!html.contains("<section id=\"trends\""));
    assert!(!html.contains("<section id=\"cohorts\""));
    assert!(!html.contains("<section id=\"rfm\""));
    assert!(!html.contains("Model fit"));
    // A bare object renders too.
    let html = render(&serde_json::json!({}), Lang::Zh, &ReportExtras::default()).expect("render");
    assert!(html.contains("客户分析报告"));
    assert!(render(&serde_json::json!([1]), Lang::Zh, &ReportExtras::default()).is_err());
}

#[test]
fn extras_add_sections() {
    let s = fixture("demo");
    let extras = ReportExtras {
        top_customers: Some(serde_json::json!([
            {"customer_id": "C0042", "monetary": 18234.5, "orders": 31, "recency_days": 3, "clv": 5120.25, "p_alive": 0.98, "segment_cn8": "重要价值客户"},
            {"customer_id": "C0007", "monetary": 15000.0, "orders": 20, "recency_days": 12, "clv": 4000.0, "p_alive": 0.91, "segment_cn8": "重要价值客户"}
        ])),
        validation: Some(serde_json::json!({
            "duration": 26.0,
            "model": {"n": 5000, "mae": 1.1, "rmse": 1.9, "sum_predicted": 4100.0, "sum_actual": 4000.0},
            "baseline": {"n": 5000, "mae": 1.5, "rmse": 2.4, "sum_predicted": 5200.0, "sum_actual": 4000.0},
            "by_frequency": [
                {"frequency": "0", "n": 900, "mean_actual": 0.2, "mean_predicted": 0.25, "mean_baseline": 0.0},
                {"frequency": "7+", "n": 300, "mean_actual": 4.1, "mean_predicted": 3.9, "mean_baseline": 5.0}
            ],
            "tracking": [{"period": "2025-07", "actual": 100.0, "predicted": 98.0}, {"period": "2025-08", "actual": 210.0, "predicted": 201.0}]
        })),
        migration: Some(serde_json::json!({
            "old_as_of": "2025-06-30", "new_as_of": "2025-12-30", "old_customers": 4000, "new_customers": 5000,
            "in_both": 3900, "appeared": 1100, "gone": 100,
            "schemes": [{"name": "cn8", "rows": ["A", "B", "(new customer)"], "columns": ["A", "B", "(gone)"],
                         "counts": [[10, 5, 1], [3, 20, 2], [7, 8, 0]], "revenue": [[0,0,0],[0,0,0],[0,0,0]],
                         "stayed": 30, "moved": 8, "moves": [], "drift": {"name": "cn8", "bins": [], "psi": 0.042, "band": "stable"}}],
            "lifecycle": null,
            "scores": [{"name": "r_score", "bins": [], "psi": 0.12, "band": "moderate"}]
        })),
        behaviour: Some(serde_json::json!({
            "orders_per_customer": [{"label": "1", "customers": 934}, {"label": "2", "customers": 1266}, {"label": "3+", "customers": 2800}]
        })),
    };
    for lang in [Lang::Zh, Lang::En] {
        let html = render(&s, lang, &extras).expect("render");
        write(&format!("demo-extras-{lang}.html"), &html);
        for id in ["migration", "behaviour"] {
            assert!(
                html.contains(&format!("<section id=\"{id}\"")),
                "{lang}: section {id}"
            );
        }
        for needle in [
            "C0042",
            "18,234.50",
            "98.0%",
            "4.100",
            "0.042",
            "3,900",
            "1,266",
        ] {
            assert!(html.contains(needle), "{lang}: missing {needle}");
        }
        let missing = clientele_report::missing_labels(&s, lang, &extras).expect("build");
        assert!(missing.is_empty(), "{lang}: missing labels {missing:?}");
    }
}

#[test]
fn renders_fast() {
    let s = fixture("cdnow");
    let t = std::time::Instant::now();
    for _ in 0..5 {
        render(&s, Lang::Zh, &ReportExtras::default()).expect("render");
    }
    let per = t.elapsed() / 5;
    assert!(
        per < std::time::Duration::from_secs(1),
        "render took {per:?}"
    );
}

#[test]
fn demo_full_has_new_sections_and_numbers() {
    let s = fixture("demo_full");
    for lang in [Lang::Zh, Lang::En] {
        let html = render(&s, lang, &ReportExtras::default()).expect("render");
        write(&format!("demo-full-{lang}.html"), &html);
        for id in ["next", "value", "validation", "behaviour", "migration"] {
            assert!(
                html.contains(&format!("<section id=\"{id}\"")),
                "{lang}: section {id}"
            );
        }
        // No history in this run (`--history monthly` not given).
        assert!(!html.contains("<section id=\"history\""));
        for needle in [
            // CLV distribution: 3,929 customers below 500.
            "3,929",
            "≥3,500",
            // Holdout: window, customers, model vs baseline MAE, predicted / actual purchases.
            "2025-06-30",
            "4,188",
            "1.064",
            "1.634",
            "5,150 / 4,950",
            "3.487",
            // Behaviour: orders-per-customer bins, affinity pair and lift, breakdown.
            "1,266",
            "11–20",
            "宠物 + 珠宝",
            "1.079",
            // Migration: lifecycle moved, previous as-of.
            "1,869",
            "2025-09-30",
        ] {
            assert!(html.contains(needle), "{lang}: missing {needle}");
        }
        let missing =
            clientele_report::missing_labels(&s, lang, &ReportExtras::default()).expect("build");
        assert!(missing.is_empty(), "{lang}: missing labels {missing:?}");
        assert!(!html.contains("{v}"), "unfilled placeholder");
    }
    let zh = render(&s, Lang::Zh, &ReportExtras::default()).expect("render");
    for needle in [
        "品类关联",
        "星期分布",
        "高峰：9月",
        "城市 × 行为分级",
        "CLV 分布",
        "线索培育：首单优惠券",
        "按频次比较预测与实际",
    ] {
        assert!(zh.contains(needle), "zh: missing {needle}");
    }
    let en = render(&s, Lang::En, &ReportExtras::default()).expect("render");
    for needle in [
        "Category affinity",
        "peak: Sep",
        "peak: Tue",
        "City × Behaviour grades",
        "CLV distribution",
        "Lead nurturing: first-order coupon",
        "Migration by scheme",
    ] {
        assert!(en.contains(needle), "en: missing {needle}");
    }
}

#[test]
fn history_adds_lines() {
    let mut s = fixture("demo_full");
    s["history"] = serde_json::json!([
        {"as_of": "2025-10-31", "kpis": {"customers": 4900, "revenue": 4.9e6, "active_90d_share": 0.3},
         "sizes": {"behaviour": {"VIP": 80, "普通客户": 4700}, "lifecycle": {"active": 1500, "churned": 900}}},
        {"as_of": "2025-11-30", "kpis": {"customers": 4950, "revenue": 5.0e6, "active_90d_share": 0.32},
         "sizes": {"behaviour": {"VIP": 85, "普通客户": 4740}, "lifecycle": {"active": 1550, "churned": 950}}}
    ]);
    for lang in [Lang::Zh, Lang::En] {
        let html = render(&s, lang, &ReportExtras::default()).expect("render");
        assert!(html.contains("<section id=\"history\""), "{lang}");
        assert!(
            html.contains("2025-11-30") && html.contains("4,740"),
            "{lang}"
        );
        let missing =
            clientele_report::missing_labels(&s, lang, &ReportExtras::default()).expect("build");
        assert!(missing.is_empty(), "{lang}: missing labels {missing:?}");
    }
}
