//! A run's `customers.csv` and `summary.json` hold numbers as people read them: money to the
//! cent, other measures to 6 significant digits (at least 4 decimals), counts as integers, no
//! float noise; totals of input amounts are exact to the cent. Full precision stays in
//! `customers.parquet`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use clientele_core::Rounding;
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{AnalyzeOptions, Config, NoProgress, Summary, analyze, write_outputs};

mod common;

/// Significant digits and decimals of a number as written (`0.0000121469` → (6, 10)).
fn digits(text: &str) -> (usize, usize) {
    let t = text.trim_start_matches('-');
    let mantissa = t.split(['e', 'E']).next().unwrap();
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{whole}{frac}");
    let significant = all.trim_start_matches('0').len();
    (significant, if t.contains('e') { 0 } else { frac.len() })
}

/// A measure is written with at most 6 significant digits, or at most 4 decimals.
fn is_measure(text: &str) -> bool {
    let (sig, dec) = digits(text);
    sig <= 6 || dec <= 4
}

#[test]
fn customers_csv_and_summary_json_have_no_float_noise() {
    let dir = tempfile::tempdir().unwrap();
    let shop = generate(&ShopSpec::new(2000, 5), &dir.path().join("shop"), &|_| {}).unwrap();
    let mut config = Config::default();
    config.source.transactions = vec![shop.transactions];
    config.source.attributes = Some(shop.attributes);
    config.source.satisfaction = Some(shop.satisfaction);
    let a = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
    let out = dir.path().join("out");
    write_outputs(&a, &out, Default::default(), Default::default(), &[], &[]).unwrap();

    // customers.csv
    let text = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let kinds: Vec<(Rounding, Option<&str>)> = header
        .iter()
        .map(|h| {
            (
                Rounding::of_column(h),
                a.customers.get(h).map(|c| c.type_name()),
            )
        })
        .collect();
    let (mut money, mut measures, mut cents) = (0, 0, 0i64);
    let monetary = header.iter().position(|h| h == "monetary").unwrap();
    for row in r.records() {
        let row = row.unwrap();
        for (j, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let name = &header[j];
            match kinds[j] {
                (_, Some("int")) => assert!(cell.parse::<i64>().is_ok(), "{name}: {cell}"),
                (Rounding::Money, _) => {
                    let (_, dec) = digits(cell);
                    assert_eq!(dec, 2, "{name}: {cell}");
                    money += 1;
                }
                (Rounding::Measure, _) => {
                    assert!(is_measure(cell), "{name}: {cell}");
                    measures += 1;
                }
                _ => {}
            }
        }
        cents += (row[monetary].parse::<f64>().unwrap() * 100.0).round() as i64;
    }
    assert!(money > 10_000 && measures > 10_000, "{money} {measures}");
    for must in [
        "p_alive",
        "clv",
        "T",
        "avg_order_value",
        "contribution_share",
    ] {
        assert!(header.iter().any(|h| h == must), "{must} in {header:?}");
    }

    // summary.json: money to the cent, the rest without noise; the total of the amounts is
    // the sum of customers.csv's monetary, to the cent
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let revenue = v["kpis"]["revenue"].to_string();
    assert!(digits(&revenue).1 <= 2, "{revenue}");
    assert_eq!(
        (v["kpis"]["revenue"].as_f64().unwrap() * 100.0).round() as i64,
        cents
    );
    assert!(digits(&v["kpis"]["avg_order_value"].to_string()).1 <= 2);
    let mut checked = 0;
    walk(&v, &mut Vec::new(), &mut checked);
    assert!(checked > 500, "{checked}");

    // and it is still the summary: valid against the schema, read back the same
    assert_eq!(common::schema_errors(&v), Vec::<String>::new());
    let back = Summary::from_json(&text).unwrap();
    assert!(
        back == a.summary,
        "summary.json does not read back as the run's summary"
    );
}

/// Every float outside the kept subtrees (thresholds, fitted models, options) is rounded.
fn walk(v: &serde_json::Value, path: &mut Vec<String>, checked: &mut usize) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if ["thresholds", "model", "fit", "options"].contains(&k.as_str()) {
                    continue;
                }
                path.push(k.clone());
                walk(x, path, checked);
                path.pop();
            }
        }
        serde_json::Value::Array(x) => x.iter().for_each(|x| walk(x, path, checked)),
        serde_json::Value::Number(n) if n.is_f64() => {
            let text = n.to_string();
            assert!(is_measure(&text), "{}: {text}", path.join("."));
            *checked += 1;
        }
        _ => {}
    }
}
