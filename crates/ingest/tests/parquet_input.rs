//! Parquet input gives the same customer table as the same rows in CSV, whatever the
//! Parquet column types: integer ids and order ids (read as their decimal text), integer
//! quantities, text, categories (read as a dictionary), and nulls.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    UInt64Array,
};
use clientele_ingest::{IngestOptions, NoProgress, load};
use parquet::arrow::ArrowWriter;

/// (customer, day since 1970, amount, order, quantity, category); `None` = null in Parquet,
/// empty in CSV.
type Tx = (
    Option<i64>,
    i32,
    f64,
    Option<i64>,
    Option<i64>,
    Option<&'static str>,
);

/// Categories, blank and padded ones included (both are trimmed, blank = none).
const CATEGORIES: [Option<&str>; 6] = [
    Some(" b "),
    Some("a"),
    None,
    Some("  "),
    Some("食品"),
    Some("b"),
];

fn rows() -> Vec<Tx> {
    let mut v = Vec::new();
    for i in 0..400i64 {
        let customer = match i % 9 {
            0 => None, // rejected: missing customer id
            k => Some([0, 7, 42, 12_345_678, 123_456_789_012, 5, 999_999_999, 3][k as usize - 1]),
        };
        let day = 19_000 + (i % 37) as i32;
        let amount = ((i * 7919) % 20_000 - 1_000) as f64 / 100.0;
        let order = (i % 5 != 0).then_some(9_000_000 + i / 3);
        let quantity = (i % 4 != 0).then_some(1 + i % 3);
        let category = CATEGORIES[(i * 7 % 11 % 6) as usize];
        v.push((customer, day, amount, order, quantity, category));
    }
    v
}

fn date(day: i32) -> String {
    clientele_core::Day(day).to_string()
}

fn write_csv(dir: &Path, rows: &[Tx]) -> PathBuf {
    let cell = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut text = String::from("customer_id,order_date,amount,order_id,quantity,category\n");
    for &(c, d, a, o, q, k) in rows {
        text.push_str(&format!(
            "{},{},{a},{},{},{}\n",
            cell(c),
            date(d),
            cell(o),
            cell(q),
            k.unwrap_or_default()
        ));
    }
    let p = dir.join("tx.csv");
    std::fs::write(&p, text).unwrap();
    p
}

/// How the id columns are typed in the Parquet file.
#[derive(Clone, Copy)]
enum Ids {
    Int64,
    Int32,
    UInt64,
    Text,
}

fn write_parquet(dir: &Path, rows: &[Tx], ids: Ids, name: &str) -> PathBuf {
    let customers = rows.iter().map(|r| r.0);
    let orders = rows.iter().map(|r| r.3);
    let id_array = |v: Vec<Option<i64>>| -> ArrayRef {
        match ids {
            Ids::Int64 => Arc::new(Int64Array::from(v)),
            Ids::Int32 => Arc::new(Int32Array::from(
                v.into_iter()
                    .map(|x| x.map(|x| i32::try_from(x).unwrap_or(-1)))
                    .collect::<Vec<_>>(),
            )),
            Ids::UInt64 => Arc::new(UInt64Array::from(
                v.into_iter()
                    .map(|x| x.map(|x| x as u64))
                    .collect::<Vec<_>>(),
            )),
            Ids::Text => Arc::new(StringArray::from(
                v.into_iter()
                    .map(|x| x.map(|x| format!(" {x} ")))
                    .collect::<Vec<_>>(),
            )),
        }
    };
    let batch = RecordBatch::try_from_iter([
        ("customer_id", id_array(customers.collect())),
        (
            "order_date",
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ),
        ("order_id", id_array(orders.collect())),
        (
            "quantity",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
        ),
        (
            "category",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.5).collect::<Vec<_>>(),
            )),
        ),
    ])
    .unwrap();
    let p = dir.join(name);
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p
}

fn table(p: PathBuf) -> (String, u64, u64) {
    let got = load(&IngestOptions::new(vec![p]), &NoProgress).unwrap();
    (
        format!("{:?}", got.table),
        got.stats.accepted,
        got.stats.rejected,
    )
}

#[test]
fn parquet_columns_of_any_type_give_the_csv_table() {
    let dir = tempfile::tempdir().unwrap();
    let all = rows();
    let from_csv = table(write_csv(dir.path(), &all));
    assert!(from_csv.0.contains("\"123456789012\""), "{}", from_csv.0);
    assert_eq!((from_csv.1, from_csv.2), (355, 45));
    for (ids, name) in [
        (Ids::Int64, "int64.parquet"),
        (Ids::UInt64, "uint64.parquet"),
        (Ids::Text, "text.parquet"),
    ] {
        let got = table(write_parquet(dir.path(), &all, ids, name));
        assert_eq!(got, from_csv, "{name}");
    }
    // ids that fit in 32 bits
    let small: Vec<Tx> = all
        .into_iter()
        .filter(|r| r.0.is_none_or(|c| c < i64::from(i32::MAX)))
        .collect();
    let from_csv = table(write_csv(dir.path(), &small));
    let got = table(write_parquet(
        dir.path(),
        &small,
        Ids::Int32,
        "int32.parquet",
    ));
    assert_eq!(got, from_csv);
}

/// Enough rows for several batches in one row group: read on one thread, the rows are folded
/// every batch, and a category numbered in one batch must mean the same in the next.
#[test]
fn many_batches_of_dictionary_categories_give_the_csv_table() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Tx> = (0..150_000i64)
        .map(|i| {
            let day = 19_000 + (i % 400) as i32;
            let amount = ((i * 7919) % 20_000 - 500) as f64 / 100.0;
            let category = CATEGORIES[(i * 13 % 17 % 6) as usize];
            (
                Some(i % 20_011),
                day,
                amount,
                Some(i / 2),
                Some(1 + i % 4),
                category,
            )
        })
        .collect();
    let from_csv = table(write_csv(dir.path(), &all));
    assert_eq!((from_csv.1, from_csv.2), (150_000, 0));
    assert!(from_csv.0.contains("食品"), "{}", &from_csv.0[..2000]);
    let got = table(write_parquet(dir.path(), &all, Ids::Int64, "many.parquet"));
    assert!(
        got == from_csv,
        "the Parquet table differs from the CSV one"
    );
}
