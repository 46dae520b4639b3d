//! Golden test on the full CDNOW cohort against numbers computed independently with pandas
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test
//! (`tests/reference/cdnow_rfm_reference.py` → `cdnow_rfm_reference.json`).

use std::collections::{BTreeMap, HashMap};

use clientele_rfm::{Lang, Method, MetricConfig, MonetaryDef, RfmConfig, RfmData, RfmModel};
use serde_json::Value;

/// Days since 1970-01-01 of a `YYYYMMDD` date (civil-from-days inverse, Howard Hinnant).
fn days(ymd: &str) -> i64 {
    let y: i64 = ymd[0..4].parse().unwrap();
    let m: i64 = ymd[4..6].parse().unwrap();
    let d: i64 = ymd[6..8].parse().unwrap();
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Cust {
    last: i64,
    days: Vec<i64>,
    monetary: f64,
}

/// (ids, recency_days, orders = distinct purchase days, monetary = Σ dollar_value).
fn cdnow() -> (Vec<String>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let text = include_str!("data/CDNOW_master.txt");
    let mut by: BTreeMap<String, Cust> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            continue;
        }
        let d = days(f[1]);
        let c = by.entry(f[0].to_string()).or_insert(Cust {
            last: i64::MIN,
            days: Vec::new(),
            monetary: 0.0,
        });
        c.last = c.last.max(d);
        c.days.push(d);
        c.monetary += f[3].parse::<f64>().unwrap();
    }
    let as_of = days("19980630");
    let mut ids = Vec::new();
    let (mut r, mut o, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for (id, mut c) in by {
        c.days.sort_unstable();
        c.days.dedup();
        ids.push(id);
        r.push((as_of - c.last) as f64);
        o.push(c.days.len() as f64);
        m.push(c.monetary);
    }
    (ids, r, o, m)
}

fn reference() -> Value {
    serde_json::from_str(include_str!("reference/cdnow_rfm_reference.json")).unwrap()
}

fn counts(names: Vec<&str>) -> HashMap<String, u64> {
    let mut h = HashMap::new();
    for n in names {
        *h.entry(n.to_string()).or_insert(0) += 1;
    }
    h
}

fn as_counts(v: &Value) -> HashMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn cdnow_scores_cn8_and_rf_grid_match_pandas() {
    let (ids, r, o, m) = cdnow();
    let want = reference();
    assert_eq!(ids.len() as u64, want["customers"].as_u64().unwrap());
    let data = RfmData::new(ids, r, o, m).unwrap();
    // The reference computes plain quantile scores (pandas/numpy); the default is `balanced`.
    let quantile = MetricConfig {
        method: Method::Quantile,
        ..MetricConfig::default()
    };
    let cfg = RfmConfig {
        r: quantile.clone(),
        f: quantile.clone(),
        m: quantile,
        ..RfmConfig::default()
    };
    let res = RfmModel::new(cfg).unwrap().score(&data);

    // Cut points and level counts.
    for (name, t) in [
        ("recency", &res.thresholds.recency),
        ("frequency", &res.thresholds.frequency),
        ("monetary", &res.thresholds.monetary),
    ] {
        let cuts: Vec<f64> = want["cuts"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (a, b) in t.cuts.iter().zip(&cuts) {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
    let lc = &want["level_counts"];
    let v = |x: &Value| -> Vec<u64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    assert_eq!(res.level_counts.recency, v(&lc["recency"]));
    assert_eq!(res.level_counts.frequency, v(&lc["frequency"]));
    assert_eq!(res.level_counts.monetary, v(&lc["monetary"]));
    // Frequency level 2 is empty (over 40% bought on one day only) and the result says why.
    let note = res
        .notes
        .iter()
        .find(|n| n.metric == "frequency" && n.score == 2)
        .expect("note for the empty frequency level");
    assert!(note.reason.contains("ties"), "{}", note.reason);

    // RFM codes.
    assert_eq!(
        counts(res.rfm_code.iter().map(String::as_str).collect()),
        as_counts(&want["rfm_code_counts"])
    );

    // 8-class distribution, means and revenue.
    let cn8 = res.scheme("cn8").unwrap();
    let got = counts(cn8.names(Lang::Zh));
    assert_eq!(got, as_counts(&want["cn8_counts"]));
    let refs = res.thresholds.cn8.unwrap();
    assert!((refs.r - want["cn8_means"]["recency_days"].as_f64().unwrap()).abs() < 1e-9);
    assert!((refs.f - want["cn8_means"]["orders"].as_f64().unwrap()).abs() < 1e-12);
    assert!((refs.m - want["cn8_means"]["monetary"].as_f64().unwrap()).abs() < 1e-9);
    for s in &cn8.summary {
        let w = want["cn8_revenue"][&s.zh].as_f64().unwrap_or(0.0);
        assert!(
            (s.revenue - w).abs() < 1e-6,
            "{}: {} vs {w}",
            s.zh,
            s.revenue
        );
    }
    let share: f64 = cn8.summary.iter().filter_map(|s| s.revenue_share).sum();
    assert!((share - 1.0).abs() < 1e-12);

    // R×F grid and 10-segment distribution.
    let grid: Vec<Vec<u64>> = want["rf_grid_customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(v)
        .collect();
    assert_eq!(res.rf_grid.customers, grid);
    for (r, row) in want["rf_grid_mean_monetary"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for (f, x) in row.as_array().unwrap().iter().enumerate() {
            match (x.as_f64(), res.rf_grid.mean_monetary[r][f]) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9 * a.abs().max(1.0)),
                (None, None) => {}
                other => panic!("cell R{} F{}: {other:?}", r + 1, f + 1),
            }
        }
    }
    let rf10 = res.scheme("rf10").unwrap();
    let ids: Vec<&str> = rf10
        .labels
        .iter()
        .map(|&l| rf10.segments[usize::from(l)].id.as_str())
        .collect();
    assert_eq!(counts(ids), as_counts(&want["rf10_counts"]));
}

/// The default `balanced` scoring against `tests/reference/cdnow_balanced_reference.py`, an
/// independent numpy implementation of the documented rule: every score level has customers
/// (orders 1 | 2 | 3 | 4–5 | 6+), where plain quantiles leave F2 empty.
#[test]
fn cdnow_default_balanced_scores_fill_every_level_and_match_numpy() {
    let (ids, r, o, m) = cdnow();
    let want: Value =
        serde_json::from_str(include_str!("reference/cdnow_balanced_reference.json")).unwrap();
    assert_eq!(ids.len() as u64, want["customers"].as_u64().unwrap());
    let data = RfmData::new(ids, r, o, m).unwrap();
    let res = RfmModel::new(RfmConfig::default()).unwrap().score(&data);
    let nums = |x: &Value| -> Vec<f64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    for (name, t) in [
        ("recency", &res.thresholds.recency),
        ("frequency", &res.thresholds.frequency),
        ("monetary", &res.thresholds.monetary),
    ] {
        assert_eq!(t.method, Method::Balanced);
        let cuts = nums(&want["cuts"][name]);
        assert_eq!(t.cuts.len(), cuts.len());
        for (a, b) in t.cuts.iter().zip(&cuts) {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
    assert_eq!(res.thresholds.frequency.cuts, [1.0, 2.0, 3.0, 5.0]);
    let lc = &want["level_counts"];
    let ints = |x: &Value| -> Vec<u64> { nums(x).into_iter().map(|v| v as u64).collect() };
    assert_eq!(res.level_counts.recency, ints(&lc["recency"]));
    assert_eq!(res.level_counts.frequency, ints(&lc["frequency"]));
    assert_eq!(res.level_counts.monetary, ints(&lc["monetary"]));
    assert_eq!(res.level_counts.frequency, [12054, 4040, 2205, 2427, 2844]);
    assert!(res.notes.is_empty(), "{:?}", res.notes);
    assert_eq!(
        counts(res.rfm_code.iter().map(String::as_str).collect()),
        as_counts(&want["rfm_code_counts"])
    );
    let grid: Vec<Vec<u64>> = want["rf_grid_customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(ints)
        .collect();
    assert_eq!(res.rf_grid.customers, grid);
    for f in 0..5 {
        assert!(grid.iter().map(|row| row[f]).sum::<u64>() > 0, "F{}", f + 1);
    }
    let rf10 = res.scheme("rf10").unwrap();
    let ids: Vec<&str> = rf10
        .labels
        .iter()
        .map(|&l| rf10.segments[usize::from(l)].id.as_str())
        .collect();
    assert_eq!(counts(ids), as_counts(&want["rf10_counts"]));
    // the 8-class scheme compares raw values with the means: the scoring method does not move it
    let cn8 = res.scheme("cn8").unwrap();
    let reference = reference();
    assert_eq!(
        counts(cn8.names(Lang::Zh)),
        as_counts(&reference["cn8_counts"])
    );
}

#[test]
fn cdnow_pymc_default_segments_match_pymc_rules() {
    let (ids, r, o, m) = cdnow();
    let mean: Vec<f64> = m.iter().zip(&o).map(|(m, o)| m / o).collect();
    let data = RfmData::new(ids, r, o, mean).unwrap();
    let cfg = RfmConfig {
        monetary: MonetaryDef::Mean,
        schemes: Some(vec!["pymc".into()]),
        m: MetricConfig::default(),
        ..RfmConfig::default()
    };
    let res = RfmModel::new(cfg).unwrap().score(&data);
    let pymc = res.scheme("pymc").unwrap();
    assert_eq!(
        counts(pymc.names(Lang::En)),
        as_counts(&reference()["pymc_counts"])
    );
    // Frequency has duplicate quartile edges on CDNOW; the run says so.
    assert!(
        pymc.notes
            .iter()
            .any(|n| n.en.starts_with("frequency") && n.zh.starts_with("购买频次")),
        "{:?}",
        pymc.notes
    );
}
