//! Property tests: the customer table does not depend on row order or on how the rows are
//! split into files, and the row accounting always reconciles.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::PathBuf;

use clientele_ingest::{IngestOptions, NoProgress, load};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Tx {
    customer: u8,
    day: u8,
    cents: i32,
    category: u8,
    bad: bool,
}

fn tx() -> impl Strategy<Value = Tx> {
    (
        0u8..12,
        0u8..60,
        -5_000i32..50_000,
        0u8..4,
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(customer, day, cents, category, bad)| Tx {
            customer,
            day,
            cents,
            category,
            bad,
        })
}

fn line(t: &Tx) -> String {
    let date = if t.bad {
        "2024-02-31".to_string()
    } else {
        format!("2024-{:02}-{:02}", 1 + t.day / 28, 1 + t.day % 28)
    };
    // short ids and ids over 8 bytes, which the fold keeps apart
    let id = if t.customer.is_multiple_of(2) {
        format!("C{:03}", t.customer)
    } else {
        format!("customer-{:03}", t.customer)
    };
    format!(
        "{id},{date},{}.{:02},cat{}\n",
        t.cents / 100,
        (t.cents % 100).abs(),
        t.category
    )
    .replace(",-0.", ",-0.")
}

fn write_files(dir: &std::path::Path, rows: &[Tx], parts: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let chunk = rows.len().div_ceil(parts).max(1);
    for (i, part) in rows.chunks(chunk).enumerate() {
        let p = dir.join(format!("part{i}.csv"));
        let mut text = String::from("customer_id,order_date,amount,category\n");
        for t in part {
            text.push_str(&line(t));
        }
        std::fs::write(&p, text).unwrap();
        files.push(p);
    }
    files
}

/// The table (or the error, with `dir` written as `<dir>` so that runs in different folders
/// compare equal) and the row accounting.
fn table_of(dir: &std::path::Path, files: Vec<PathBuf>) -> (String, clientele_ingest::IngestStats) {
    let got = load(&IngestOptions::new(files), &NoProgress);
    match got {
        Ok(g) => (format!("{:?}", g.table), g.stats),
        Err(e) => (
            e.to_string().replace(&dir.display().to_string(), "<dir>"),
            Default::default(),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn order_and_splitting_do_not_matter(rows in proptest::collection::vec(tx(), 1..120), seed in any::<u64>(), parts in 1usize..4) {
        // small values keep "-0.50"-style amounts exact; cents from -50.00 to 500.00
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let mut shuffled = rows.clone();
        // deterministic shuffle from the seed
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (t1, s1) = table_of(&a, write_files(&a, &rows, 1));
        let (t2, s2) = table_of(&b, write_files(&b, &shuffled, parts));
        prop_assert_eq!(&t1, &t2);
        if s1.read > 0 {
            prop_assert_eq!(s1.read, s1.accepted + s1.rejected);
            prop_assert_eq!(s1.accepted, s1.used + s1.after_as_of);
            prop_assert_eq!(s1.read as usize, rows.len());
            prop_assert_eq!(s1.rejected as usize, rows.iter().filter(|t| t.bad).count());
            prop_assert_eq!((s1.read, s1.accepted, s1.rejected), (s2.read, s2.accepted, s2.rejected));
        }
    }
}
