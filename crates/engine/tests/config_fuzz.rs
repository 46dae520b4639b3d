//! Fuzzing the config on stable Rust: arbitrary text, and TOML built from the real sections
//! and keys with hostile values, never panics. A config that parses is then run on a small
//! shop: the analysis either succeeds or returns an error, whatever the values.
//! `PROPTEST_CASES` sets the number of cases (CI runs many more).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::PathBuf;
use std::sync::OnceLock;

use clientele_engine::{AnalyzeOptions, Config, Fault, NoProgress, analyze};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small shop with repeat buyers, categories and profit, written once.
fn shop() -> &'static PathBuf {
    static SHOP: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SHOP
        .get_or_init(|| {
            let d = tempfile::tempdir().unwrap();
            let mut t = String::from("customer_id,order_date,amount,category,profit\n");
            for i in 0..60u32 {
                for v in 0..(1 + i % 4) {
                    let month = 1 + (i + 3 * v) % 12;
                    let day = 1 + (i * 7 + v) % 28;
                    let cat = ["Food", "Toys", "书籍", "Home"][((i + v) % 4) as usize];
                    t.push_str(&format!(
                        "c{i},2024-{month:02}-{day:02},{}.50,{cat},{}\n",
                        10 + (i * 17 + v * 5) % 90,
                        (i % 9) as i32 - 2
                    ));
                }
            }
            let p = d.path().join("orders.csv");
            std::fs::write(&p, t).unwrap();
            (d, p)
        })
        .1
}

const SECTIONS: [(&str, &[&str]); 9] = [
    (
        "source",
        &[
            "encoding",
            "delimiter",
            "no_header",
            "decimal",
            "satisfaction_score",
        ],
    ),
    (
        "columns",
        &[
            "customer_id",
            "order_date",
            "amount",
            "category",
            "profit",
            "date_format",
        ],
    ),
    ("time", &["as_of", "unit", "calibration_end"]),
    (
        "clv",
        &[
            "enabled",
            "model",
            "spend",
            "horizon_months",
            "monthly_discount",
            "month",
            "penalizer",
        ],
    ),
    ("rfm", &["bins", "frequency", "monetary", "schemes"]),
    (
        "cluster",
        &[
            "enabled",
            "k",
            "n_init",
            "max_iter",
            "tol",
            "seed",
            "sample_size",
            "features",
        ],
    ),
    ("lifecycle", &["mode", "new_days"]),
    (
        "output",
        &["format", "lang", "target_lists", "parquet_compression"],
    ),
    ("value_tiers", &["enabled"]),
];

const VALUES: [&str; 34] = [
    "\"\"",
    "\"gbk\"",
    "\"x\"",
    "\"weeks\"",
    "\"days\"",
    "\"months\"",
    "\"bg_bb\"",
    "\"pareto_nbd\"",
    "\"none\"",
    "\",\"",
    "\".\"",
    "\"whitespace\"",
    "\"%Q\"",
    "\"%Y\"",
    "\"en\"",
    "\"2024-06-30\"",
    "\"1900-01-01\"",
    "\"9999-12-31\"",
    "0",
    "1",
    "-1",
    "2",
    "255",
    "256",
    "1000000",
    "9223372036854775807",
    "1e308",
    "-1e-308",
    "nan",
    "inf",
    "true",
    "[]",
    "[1, 2]",
    "[0, 100]",
];

fn toml_strategy() -> impl Strategy<Value = String> {
    let line = (0..SECTIONS.len(), 0usize..8, 0..VALUES.len());
    let scheme = (0usize..6, 0usize..6);
    (prop::collection::vec(line, 0..8), prop::option::of(scheme)).prop_map(|(lines, scheme)| {
        let mut by_section: Vec<Vec<String>> = vec![Vec::new(); SECTIONS.len()];
        for (s, k, v) in lines {
            let keys = SECTIONS[s].1;
            let key = keys[k % keys.len()];
            if !by_section[s].iter().any(|l| l.starts_with(&format!("{key} ="))) {
                by_section[s].push(format!("{key} = {}", VALUES[v]));
            }
        }
        let mut t = String::new();
        for (s, lines) in by_section.iter().enumerate() {
            if !lines.is_empty() {
                t.push_str(&format!("[{}]\n{}\n", SECTIONS[s].0, lines.join("\n")));
            }
        }
        if let Some((w, g)) = scheme {
            let when = ["orders > 1", "monetary >", "", "(((", "profit > 1e400", "x IN ()"][w];
            let grade = ["VIP", "", "..", "a/b", "重要", "VIP"][g];
            t.push_str(&format!(
                "[[scheme]]\nname = \"s\"\nrules = [{{ grade = \"{grade}\", when = \"{when}\" }}]\ndefault = \"{grade}\"\n"
            ));
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(16)))]

    #[test]
    fn arbitrary_text_is_a_config_or_an_error(text in "\\PC{0,300}") {
        let _ = Config::from_toml(&text, "fuzz");
    }

    #[test]
    fn hostile_values_in_real_keys_never_panic(text in toml_strategy()) {
        let Ok(mut c) = Config::from_toml(&text, "fuzz") else {
            return Ok(());
        };
        let _ = c.hash();
        if c.ingest_options().is_err() {
            return Ok(());
        }
        c.source.transactions = vec![shop().clone()];
        c.source.encoding = Default::default();
        c.source.delimiter = Default::default();
        c.source.no_header = false;
        c.columns = Default::default();
        // whatever the values, a failure is the config's or the data's, never a bug
        if let Err(e) = analyze(&c, &AnalyzeOptions::default(), &NoProgress) {
            prop_assert_ne!(e.fault(), Fault::Internal, "{}", e);
        }
    }
}
