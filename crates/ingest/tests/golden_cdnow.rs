//! Golden tests: the CLV-convention customer table on CDNOW equals lifetimes'
//! `summary_data_from_transaction_data` (daily) for all 23,570 customers, and the sample
//! rebuilt in fractional weeks equals the published summary for all 2,357 customers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::HashMap;
use std::path::PathBuf;

use clientele_core::{Day, TimeUnit};
use clientele_ingest::{Delimiter, IngestOptions, NoProgress, OptionalColumn, load};

/// This crate's folder, read when the test runs (cargo sets it then too): a test binary built in
/// another checkout and reused from a shared build folder would otherwise read that checkout.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

fn data(name: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(name)
}

fn read_csv(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.trim_end().split(',').map(str::to_string).collect())
        .collect()
}

fn cdnow_master(unit: TimeUnit) -> IngestOptions {
    let mut o = IngestOptions::new(vec![data("CDNOW_master.txt")]);
    o.csv.delimiter = Delimiter::Whitespace;
    o.columns.order_date = "date".into();
    o.columns.amount = "dollar_value".into();
    o.columns.quantity = OptionalColumn::explicit("number_of_cds");
    o.unit = unit;
    o.as_of = Day::from_ymd(1998, 6, 30);
    o
}

#[test]
fn cdnow_master_daily_equals_lifetimes() {
    let got = load(&cdnow_master(TimeUnit::Days), &NoProgress).unwrap();
    assert_eq!(got.stats.read, 69_659);
    assert_eq!(got.stats.accepted, 69_659);
    assert_eq!(got.stats.rejected, 0);
    assert_eq!(got.stats.after_as_of, 0);
    let t = &got.table;
    assert_eq!(t.len(), 23_570);
    let reference = read_csv("lifetimes_cdnow_master_daily.csv");
    assert_eq!(reference.len(), 23_570);
    let (f, r, tt, m) = (
        t.floats("frequency").unwrap(),
        t.floats("recency").unwrap(),
        t.floats("T").unwrap(),
        t.floats("monetary_value").unwrap(),
    );
    let index: HashMap<&str, usize> = t.ids().iter().enumerate().map(|(i, s)| (s, i)).collect();
    let mut max_money_err = 0.0f64;
    for row in &reference {
        let i = index[row[0].as_str()];
        let num = |j: usize| row[j].parse::<f64>().unwrap();
        assert_eq!(f.get(i), Some(num(1)), "frequency of {}", row[0]);
        assert_eq!(r.get(i), Some(num(2)), "recency of {}", row[0]);
        assert_eq!(tt.get(i), Some(num(3)), "T of {}", row[0]);
        let err = (m.get(i).unwrap() - num(4)).abs();
        max_money_err = max_money_err.max(err);
    }
    // the fixture is printed with 10 significant digits
    assert!(
        max_money_err < 1e-6,
        "monetary_value max abs error {max_money_err}"
    );
    // the CDs column came through as items, and totals reconcile
    let total: f64 = t.floats("monetary").unwrap().iter().flatten().sum();
    assert!((total - got.stats.total_amount).abs() < 1e-6);
    assert!((total - 2_500_315.63).abs() < 0.01, "{total}");
}

#[test]
fn cdnow_sample_in_fractional_weeks_equals_the_published_summary() {
    let mut o = IngestOptions::new(vec![data("CDNOW_sample.txt")]);
    o.csv.delimiter = Delimiter::Whitespace;
    o.csv.no_header = true;
    o.columns.customer_id = "column_2".into();
    o.columns.order_date = "column_3".into();
    o.columns.amount = "column_5".into();
    o.unit = TimeUnit::Weeks;
    o.as_of = Day::from_ymd(1997, 9, 30);
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(got.stats.read, 6_919);
    assert!(got.stats.after_as_of > 0);
    let t = &got.table;
    assert_eq!(t.len(), 2_357);
    // the sample keeps its ids zero-padded ("0001"); the published summary prints 1
    let index: HashMap<String, usize> = t
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.trim_start_matches('0').to_string(), i))
        .collect();
    let (f, r, tt, m) = (
        t.floats("frequency").unwrap(),
        t.floats("recency").unwrap(),
        t.floats("T").unwrap(),
        t.floats("monetary_value").unwrap(),
    );
    assert_eq!(&t.ids()[0], "0001");
    let published = read_csv("cdnow_customers_summary.csv");
    assert_eq!(published.len(), 2_357);
    for row in &published {
        let i = index[&row[0]];
        let num = |j: usize| row[j].parse::<f64>().unwrap();
        assert_eq!(f.get(i), Some(num(1)), "frequency of {}", row[0]);
        // published to 2 decimals
        assert!(
            (r.get(i).unwrap() - num(2)).abs() <= 0.005 + 1e-9,
            "recency of {}: {:?} vs {}",
            row[0],
            r.get(i),
            num(2)
        );
        assert!(
            (tt.get(i).unwrap() - num(3)).abs() <= 0.005 + 1e-9,
            "T of {}: {:?} vs {}",
            row[0],
            tt.get(i),
            num(3)
        );
    }
    let with_tx = read_csv("cdnow_customers_summary_with_transactions.csv");
    for row in &with_tx {
        let i = index[&row[0]];
        let zbar = row[4].parse::<f64>().unwrap();
        assert!(
            (m.get(i).unwrap() - zbar).abs() <= 0.005 + 1e-9,
            "zbar of {}: {:?} vs {zbar}",
            row[0],
            m.get(i)
        );
    }
}
