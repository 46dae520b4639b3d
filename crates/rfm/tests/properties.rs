//! Invariants on random data and random scorer configs: scores in range, segment counts add
//! up, results independent of row order, frozen thresholds reproduce a run.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use std::collections::HashMap;

use clientele_core::{ColumnData, CustomerTable};
use clientele_rfm::{
    CompareOn, Method, MetricConfig, Reference, RfmConfig, RfmData, RfmModel, RfmResult,
};
use proptest::prelude::*;

fn metric_config() -> impl Strategy<Value = MetricConfig> {
    prop_oneof![
        (2u8..=9).prop_map(|b| MetricConfig {
            method: Method::Balanced,
            bins: Some(b),
            ..MetricConfig::default()
        }),
        (2u8..=9).prop_map(|b| MetricConfig {
            method: Method::Quantile,
            bins: Some(b),
            ..MetricConfig::default()
        }),
        (2u8..=9).prop_map(|b| MetricConfig {
            method: Method::Ntile,
            bins: Some(b),
            ..MetricConfig::default()
        }),
        proptest::collection::btree_set(0i32..40, 1..=8).prop_map(|s| MetricConfig {
            method: Method::Fixed,
            cuts: Some(s.into_iter().map(f64::from).collect()),
            ..MetricConfig::default()
        }),
        any::<bool>().prop_map(|strict| MetricConfig {
            method: Method::VsMean,
            strict: Some(strict),
            ..MetricConfig::default()
        }),
        any::<bool>().prop_map(|strict| MetricConfig {
            method: Method::VsMedian,
            strict: Some(strict),
            ..MetricConfig::default()
        }),
        Just(MetricConfig::default()),
    ]
}

/// Values with many ties (small integers) or spread out (cents).
fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        proptest::collection::vec((0i32..6).prop_map(f64::from), n),
        proptest::collection::vec((0i32..100_000).prop_map(|c| f64::from(c) / 100.0), n),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    cfg: RfmConfig,
    r: Vec<f64>,
    f: Vec<f64>,
    m: Vec<f64>,
    perm: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (0usize..60).prop_flat_map(|n| {
        (
            metric_config(),
            metric_config(),
            metric_config(),
            values(n),
            values(n),
            values(n),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
            .prop_map(|(r, f, m, rv, fv, mv, perm)| Case {
                cfg: RfmConfig {
                    r,
                    f,
                    m,
                    ..RfmConfig::default()
                },
                r: rv,
                f: fv,
                m: mv,
                perm,
            })
    })
}

fn ids(n: usize) -> Vec<String> {
    // Not zero-padded, so id order differs from row order.
    (0..n).map(|i| format!("id{i}")).collect()
}

fn score(cfg: &RfmConfig, ids: Vec<String>, r: &[f64], f: &[f64], m: &[f64]) -> RfmResult {
    let d = RfmData::new(ids, r.to_vec(), f.to_vec(), m.to_vec()).unwrap();
    RfmModel::new(cfg.clone()).unwrap().score(&d)
}

/// Per-customer outcome: scores and every scheme's segment id.
fn per_customer(ids: &[String], res: &RfmResult) -> HashMap<String, (String, Vec<String>)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let segs = res
                .schemes
                .iter()
                .map(|s| s.segment_of(i).id.clone())
                .collect();
            (id.clone(), (res.rfm_code[i].clone(), segs))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scores_are_in_range_and_segment_counts_add_up(c in case()) {
        let n = c.r.len();
        let res = score(&c.cfg, ids(n), &c.r, &c.f, &c.m);
        let t = &res.thresholds;
        for (s, bins) in [(&res.r_score, t.recency.bins), (&res.f_score, t.frequency.bins), (&res.m_score, t.monetary.bins)] {
            prop_assert_eq!(s.len(), n);
            prop_assert!(s.iter().all(|&x| (1..=bins).contains(&x)));
        }
        for s in &res.schemes {
            prop_assert_eq!(s.labels.len(), n);
            prop_assert_eq!(s.summary.iter().map(|x| x.customers).sum::<u64>(), n as u64, "{}", &s.name);
        }
        let grid: u64 = res.rf_grid.customers.iter().flatten().sum();
        prop_assert_eq!(grid, n as u64);
        // Every empty level is explained.
        let empty: usize = [&res.level_counts.recency, &res.level_counts.frequency, &res.level_counts.monetary]
            .iter()
            .map(|c| c.iter().filter(|&&x| x == 0).count())
            .sum();
        prop_assert_eq!(res.notes.len(), empty);
    }

    #[test]
    fn balanced_leaves_no_level_empty_when_there_are_enough_distinct_values(
        n in 0usize..80,
        bins in 2u8..=9,
        v in proptest::collection::vec(prop_oneof![
            // mostly ones, a long tail: orders of a shop with many one-time buyers
            8 => Just(1.0),
            3 => (2i32..4).prop_map(f64::from),
            1 => (4i32..40).prop_map(f64::from),
        ], 80),
    ) {
        let v = &v[..n];
        let cfg = RfmConfig {
            bins,
            schemes: Some(vec![]),
            ..RfmConfig::default()
        };
        let res = score(&cfg, ids(n), v, v, v);
        let mut distinct = v.to_vec();
        distinct.sort_unstable_by(f64::total_cmp);
        distinct.dedup();
        let t = &res.thresholds.frequency;
        prop_assert_eq!(t.method, Method::Balanced);
        if distinct.len() >= usize::from(bins) {
            prop_assert!(res.level_counts.frequency.iter().all(|&c| c > 0), "{:?} {:?}", t.cuts, res.level_counts.frequency);
        }
        // Ties stay together: equal values, equal scores.
        for i in 0..n {
            for j in 0..n {
                if v[i] == v[j] {
                    prop_assert_eq!(res.f_score[i], res.f_score[j]);
                }
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_row_order(c in case()) {
        let n = c.r.len();
        let id = ids(n);
        let base = score(&c.cfg, id.clone(), &c.r, &c.f, &c.m);
        let pick = |v: &[f64]| c.perm.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let pid: Vec<String> = c.perm.iter().map(|&i| id[i].clone()).collect();
        let shuffled = score(&c.cfg, pid.clone(), &pick(&c.r), &pick(&c.f), &pick(&c.m));
        prop_assert_eq!(per_customer(&id, &base), per_customer(&pid, &shuffled));
        prop_assert_eq!(&base.thresholds, &shuffled.thresholds);
        prop_assert_eq!(&base.rf_grid.customers, &shuffled.rf_grid.customers);
    }

    #[test]
    fn frozen_thresholds_reproduce_the_run(c in case()) {
        let n = c.r.len();
        prop_assume!(n > 0);
        let id = ids(n);
        let first = score(&c.cfg, id.clone(), &c.r, &c.f, &c.m);
        // Through JSON, as a frozen file would be.
        let json = serde_json::to_string(&first.frozen()).unwrap();
        let cfg = RfmConfig { frozen: Some(serde_json::from_str(&json).unwrap()), ..c.cfg.clone() };
        let again = score(&cfg, id.clone(), &c.r, &c.f, &c.m);
        prop_assert_eq!(per_customer(&id, &first), per_customer(&id, &again));
        prop_assert_eq!(&first.thresholds, &again.thresholds);
    }

    /// Scored a part at a time (a table kept on disk), every customer gets the scores and
    /// segments and the report is the one of a single call, whatever the parts' size; with
    /// the 8-class split on mean or median scores, which reads every customer's scores.
    #[test]
    fn scored_by_parts_equals_one_call(c in case(), part_rows in 1usize..9, on_scores in any::<bool>()) {
        let n = c.r.len();
        let id = ids(n);
        let mut cfg = c.cfg.clone();
        if on_scores {
            cfg.cn8.on = CompareOn::Score;
            cfg.cn8.reference = Reference::Median;
        }
        let mut table = CustomerTable::new(id.clone());
        for (name, v) in [("recency_days", &c.r), ("orders", &c.f), ("monetary", &c.m)] {
            table.push(name, ColumnData::Float(v.iter().map(|x| Some(*x)).collect())).unwrap();
        }
        let model = RfmModel::new(cfg).unwrap();
        let whole = model.score_table(&table).unwrap();
        let stored = clientele_core::testing::in_parts(&table, part_rows);
        let mut codes = Vec::new();
        let mut segments: Vec<Vec<String>> = Vec::new();
        let report = model
            .score_table_by_parts(&stored, |p| -> Result<(), clientele_rfm::RfmError> {
                for i in 0..p.len() {
                    codes.push(p.rfm_code(i));
                    segments.push((0..p.schemes.len()).map(|k| p.segment(k, i).id.clone()).collect());
                }
                // the columns as written: the same labels, in the same order, as the strings
                let code_strings: clientele_core::Texts = (0..p.len()).map(|i| Some(p.rfm_code(i))).collect();
                let column = p.code_column();
                assert_eq!(column.labels(), code_strings.labels());
                assert_eq!(column.to_vec(), code_strings.to_vec());
                for lang in [clientele_core::Lang::Zh, clientele_core::Lang::En] {
                    for k in 0..p.schemes.len() {
                        let names: clientele_core::Texts =
                            (0..p.len()).map(|i| Some(p.segment(k, i).name(lang))).collect();
                        let column = p.segment_column(k, lang);
                        assert_eq!(column.labels(), names.labels());
                        assert_eq!(column.to_vec(), names.to_vec());
                    }
                }
                Ok(())
            })
            .unwrap();
        prop_assert_eq!(&report, &whole.report());
        prop_assert_eq!(&codes, &whole.rfm_code);
        let want: Vec<Vec<String>> = (0..n)
            .map(|i| whole.schemes.iter().map(|s| s.segment_of(i).id.clone()).collect())
            .collect();
        prop_assert_eq!(segments, want);
    }
}
