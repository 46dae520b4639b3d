//! Hostile Parquet input: every bad value is a located reject (row, column, reason) and every
//! unreadable file one refusal naming the file and the fix — never a guess, a panic or an
//! error naming no file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Date64Array, Decimal128Array, Float64Array, Int64Array,
    NullArray, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use clientele_core::Day;
use clientele_ingest::{IngestOptions, Ingested, NoProgress, load};
use parquet::arrow::ArrowWriter;

/// Writes columns `customer_id`, `order_date`, `amount` to `dir/name`.
fn write(dir: &Path, name: &str, ids: ArrayRef, dates: ArrayRef, amounts: ArrayRef) -> PathBuf {
    let batch = RecordBatch::try_from_iter([
        ("customer_id", ids),
        ("order_date", dates),
        ("amount", amounts),
    ])
    .unwrap();
    let p = dir.join(name);
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p
}

fn ids(n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("c{i}")),
    ))
}

fn amounts(n: usize) -> ArrayRef {
    Arc::new(Float64Array::from(vec![10.0; n]))
}

fn day(y: i32, m: u32, d: u32) -> i32 {
    Day::from_ymd(y, m, d).unwrap().0
}

fn run(path: &Path) -> Result<Ingested, String> {
    load(&IngestOptions::new(vec![path.to_path_buf()]), &NoProgress).map_err(|e| e.to_string())
}

/// Reads `path`, which must have at least one good row; the reject reasons by row.
fn rejects(path: &Path) -> Vec<(u64, String, String)> {
    let got = run(path).unwrap();
    let s = &got.stats;
    assert_eq!(s.read, s.accepted + s.rejected);
    got.rejects
        .iter()
        .map(|r| {
            assert_eq!(r.file, path.display().to_string());
            (r.line, r.column.clone(), r.reason.clone())
        })
        .collect()
}

const OUT: &str = "is outside the years 1000 to 9999";

#[test]
fn date32_outside_years_1000_to_9999_is_a_reject() {
    let d = tempfile::tempdir().unwrap();
    let days = vec![
        day(2024, 1, 2),
        day(999, 12, 31),
        day(10000, 1, 1),
        i32::MAX,
        i32::MIN,
        day(1000, 1, 1),
        day(9999, 12, 31),
    ];
    let p = write(
        d.path(),
        "d.parquet",
        ids(7),
        Arc::new(Date32Array::from(days)),
        amounts(7),
    );
    let r = rejects(&p);
    let want = |row: u64, v: &str| (row, "order_date".to_string(), format!("`{v}` {OUT}"));
    assert_eq!(
        r,
        vec![
            want(2, "0999-12-31"),
            want(3, "+10000-01-01"),
            want(4, "2147483647 days from 1970-01-01"),
            want(5, "-2147483648 days from 1970-01-01"),
            // within the years, but far beyond the rest of the data (no --as-of given)
            (
                7,
                "order_date".to_string(),
                "order date 9999-12-31 lies far beyond the other order dates (the last \
                 plausible day is 3048-01-03): a typo? If such dates are real, pass --as-of"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn timestamps_of_every_unit_outside_the_years_are_rejects() {
    let d = tempfile::tempdir().unwrap();
    let secs = [
        i64::from(day(2024, 1, 2)) * 86_400,
        i64::from(day(10000, 1, 1)) * 86_400,
        i64::from(day(999, 12, 31)) * 86_400,
    ];
    for (unit, per_sec) in [
        ("s", 1i64),
        ("ms", 1_000),
        ("us", 1_000_000),
        ("ns", 1_000_000_000),
    ] {
        for tz in [None, Some("Asia/Shanghai"), Some("+08:00")] {
            // in range for the unit, then the extremes
            let mut v: Vec<i64> = secs.iter().filter_map(|s| s.checked_mul(per_sec)).collect();
            v.extend([i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1]);
            let n = v.len();
            let a: ArrayRef = match unit {
                "s" => Arc::new(TimestampSecondArray::from(v).with_timezone_opt(tz)),
                "ms" => Arc::new(TimestampMillisecondArray::from(v).with_timezone_opt(tz)),
                "us" => Arc::new(TimestampMicrosecondArray::from(v).with_timezone_opt(tz)),
                _ => Arc::new(TimestampNanosecondArray::from(v).with_timezone_opt(tz)),
            };
            let p = write(
                d.path(),
                &format!("t_{unit}.parquet"),
                ids(n),
                a,
                amounts(n),
            );
            let r = rejects(&p);
            // nanoseconds in an i64 span only the years 1677–2262
            let want = if unit == "ns" { 0 } else { n - 1 };
            assert_eq!(r.len(), want, "{unit} {tz:?}: {r:?}");
            for (row, col, why) in &r {
                assert!(*row >= 2, "{unit} {tz:?}: {r:?}");
                assert_eq!(col, "order_date");
                assert!(why.ends_with(OUT), "{unit} {tz:?}: {why}");
            }
        }
    }
    // Date64 as well
    let v = vec![
        i64::from(day(2024, 1, 2)) * 86_400_000,
        i64::MAX,
        i64::MIN,
        i64::from(day(999, 1, 1)) * 86_400_000,
    ];
    let p = write(
        d.path(),
        "d64.parquet",
        ids(4),
        Arc::new(Date64Array::from(v)),
        amounts(4),
    );
    let r = rejects(&p);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r.iter().all(|(_, _, why)| why.ends_with(OUT)), "{r:?}");
}

/// One row at `utc` seconds in zone `tz`: its order day.
fn day_in_zone(d: &Path, utc: i64, tz: Option<&str>) -> Day {
    let a = TimestampMillisecondArray::from(vec![utc * 1000]).with_timezone_opt(tz);
    let p = write(d, "z.parquet", ids(1), Arc::new(a), amounts(1));
    let got = run(&p).unwrap();
    assert_eq!(got.stats.accepted, 1);
    got.stats.first_date.unwrap()
}

#[test]
fn a_named_zone_or_an_offset_gives_the_local_calendar_day() {
    let d = tempfile::tempdir().unwrap();
    let at = |y, m, dd, h: i64| i64::from(day(y, m, dd)) * 86_400 + h * 3600;
    let iso = |y, m, dd| Day(day(y, m, dd));
    // 2024-01-01 20:00 UTC is 2024-01-02 04:00 in Shanghai
    let t = at(2024, 1, 1, 20);
    assert_eq!(
        day_in_zone(d.path(), t, Some("Asia/Shanghai")),
        iso(2024, 1, 2)
    );
    assert_eq!(day_in_zone(d.path(), t, Some("+08:00")), iso(2024, 1, 2));
    assert_eq!(day_in_zone(d.path(), t, Some("UTC")), iso(2024, 1, 1));
    assert_eq!(day_in_zone(d.path(), t, None), iso(2024, 1, 1));
    // 03:00 UTC is the evening before in New York, in winter (-5) and summer (-4)
    let t = at(2024, 1, 2, 3);
    assert_eq!(
        day_in_zone(d.path(), t, Some("America/New_York")),
        iso(2024, 1, 1)
    );
    assert_eq!(day_in_zone(d.path(), t, Some("-05:00")), iso(2024, 1, 1));
    let t = at(2024, 7, 2, 3) + 59 * 60; // 23:59 local (EDT)
    assert_eq!(
        day_in_zone(d.path(), t, Some("America/New_York")),
        iso(2024, 7, 1)
    );
    let t = at(2024, 7, 2, 4); // midnight EDT
    assert_eq!(
        day_in_zone(d.path(), t, Some("America/New_York")),
        iso(2024, 7, 2)
    );
    // before 1970
    let t = at(1969, 12, 31, 20);
    assert_eq!(
        day_in_zone(d.path(), t, Some("Asia/Shanghai")),
        iso(1970, 1, 1)
    );
}

#[test]
fn an_unknown_zone_is_refused_naming_the_file_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let a = TimestampMillisecondArray::from(vec![0]).with_timezone("Mars/Olympus_Mons");
    let p = write(d.path(), "z.parquet", ids(1), Arc::new(a), amounts(1));
    let e = run(&p).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "{}: column `order_date`: time zone `Mars/Olympus_Mons` is not known (",
            p.display()
        )),
        "{e}"
    );
    assert!(
        e.ends_with(
            "write the timestamps in UTC, with an offset such as +08:00 or with a zone name \
             such as Asia/Shanghai"
        ),
        "{e}"
    );
}

fn not_parquet(p: &Path, cause: &str) -> String {
    format!(
        "{}: not a readable Parquet file ({cause}): check the file is complete, or pass a CSV \
         with its extension",
        p.display()
    )
}

#[test]
fn an_unreadable_file_is_refused_saying_what_it_is() {
    let d = tempfile::tempdir().unwrap();
    let good = write(
        d.path(),
        "good.parquet",
        ids(3),
        Arc::new(Date32Array::from(vec![19_000; 3])),
        amounts(3),
    );
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(
        run(&cut).unwrap_err(),
        not_parquet(
            &cut,
            "it does not end with the Parquet marker PAR1, so it is cut short"
        )
    );
    let csv = d.path().join("orders.parquet");
    std::fs::write(&csv, "customer_id,order_date,amount\nc1,2024-01-02,10\n").unwrap();
    assert_eq!(
        run(&csv).unwrap_err(),
        not_parquet(
            &csv,
            "it holds text, not Parquet data: a CSV file named .parquet?"
        )
    );
    let random = d.path().join("random.parquet");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8 | 0x80
        })
        .collect();
    std::fs::write(&random, &noise).unwrap();
    assert_eq!(
        run(&random).unwrap_err(),
        not_parquet(&random, "it does not start with the Parquet marker PAR1")
    );
    let tiny = d.path().join("tiny.parquet");
    std::fs::write(&tiny, b"PAR1").unwrap();
    assert_eq!(
        run(&tiny).unwrap_err(),
        not_parquet(&tiny, "it is only 4 bytes long")
    );
    // both markers, a damaged footer in between
    let mut broken = bytes.clone();
    let n = broken.len();
    let footer = u32::from_le_bytes(broken[n - 8..n - 4].try_into().unwrap()) as usize;
    for b in &mut broken[n - 8 - footer..n - 8] {
        *b = 0xff;
    }
    let damaged = d.path().join("damaged.parquet");
    std::fs::write(&damaged, &broken).unwrap();
    let e = run(&damaged).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "{}: not a readable Parquet file (its footer is damaged: ",
            damaged.display()
        )),
        "{e}"
    );
    assert!(
        e.ends_with("): check the file is complete, or pass a CSV with its extension"),
        "{e}"
    );
}

/// The message when every row is rejected: the first reject, located; no rejects file
/// promised when none is written.
#[test]
fn all_null_columns_say_which_row_was_rejected_first() {
    let d = tempfile::tempdir().unwrap();
    let date: ArrayRef = Arc::new(Date32Array::from(vec![19_000; 2]));
    let cases: [(&str, ArrayRef, ArrayRef, ArrayRef, &str); 4] = [
        (
            "ids",
            Arc::new(NullArray::new(2)),
            date.clone(),
            amounts(2),
            "customer_id` missing customer id",
        ),
        (
            "dates",
            ids(2),
            Arc::new(NullArray::new(2)),
            amounts(2),
            "order_date` missing order date",
        ),
        (
            "nulldates",
            ids(2),
            Arc::new(Date32Array::from(vec![None, None])),
            amounts(2),
            "order_date` missing order date",
        ),
        (
            "amounts",
            ids(2),
            date.clone(),
            Arc::new(Float64Array::from(vec![None, None])),
            "amount` missing amount",
        ),
    ];
    for (name, i, dt, a, why) in cases {
        let p = write(d.path(), &format!("{name}.parquet"), i, dt, a);
        let (col, reason) = why.split_once("` ").unwrap();
        let first = format!("{}:1: column `{col}`: {reason}", p.display());
        assert_eq!(
            run(&p).unwrap_err(),
            format!(
                "no valid transaction rows in {}: all 2 rows were rejected; the first: {first}",
                p.display()
            )
        );
        // with a rejects file, it is there and says so
        let out = d.path().join(format!("{name}-rejects.csv"));
        let mut o = IngestOptions::new(vec![p.clone()]);
        o.rejects_path = Some(out.clone());
        let e = load(&o, &NoProgress).unwrap_err().to_string();
        assert!(
            e.ends_with(&format!("(all of them are in {})", out.display())),
            "{e}"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}

/// One row with amount column `a`: the amount read, or the reject reason.
fn amount(d: &Path, a: ArrayRef, decimal_comma: bool) -> Result<f64, String> {
    let p = write(
        d,
        "a.parquet",
        ids(2),
        Arc::new(Date32Array::from(vec![19_000; 2])),
        a,
    );
    let mut o = IngestOptions::new(vec![p]);
    o.decimal_comma = decimal_comma;
    let got = load(&o, &NoProgress).map_err(|e| e.to_string())?;
    assert_eq!(got.stats.read, 2);
    match got.rejects.first() {
        Some(r) => {
            assert_eq!((r.line, r.column.as_str()), (2, "amount"));
            Err(r.reason.clone())
        }
        // to micro-units, as summed
        None => Ok(((got.stats.total_amount - 1.0) * 1e6).round() / 1e6),
    }
}

#[test]
fn amounts_as_text_follow_the_decimal_comma_rules() {
    let d = tempfile::tempdir().unwrap();
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec!["1", v])) };
    let e = amount(d.path(), text("12,50"), false).unwrap_err();
    assert!(e.starts_with("`12,50` "), "{e}");
    assert!(e.contains("--decimal-comma"), "{e}");
    assert_eq!(amount(d.path(), text("12,50"), true), Ok(12.5));
    assert_eq!(amount(d.path(), text("1.234,56"), true), Ok(1234.56));
    assert_eq!(amount(d.path(), text("1,234.56"), false), Ok(1234.56));
}

#[test]
fn decimals_of_any_scale_read_exactly_and_too_large_ones_are_rejects() {
    let d = tempfile::tempdir().unwrap();
    let dec = |v: i128, p: u8, s: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(vec![10i128.pow(s.max(0) as u32), v])
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    };
    let one = |a: ArrayRef| amount(d.path(), a, false);
    assert_eq!(one(dec(1250, 10, 2)), Ok(12.5));
    assert_eq!(one(dec(-1250, 10, 2)), Ok(-12.5));
    assert_eq!(one(dec(7, 10, 0)), Ok(7.0));
    // 0.0000005 rounds half away from zero to one micro-unit, exactly
    assert_eq!(one(dec(5, 10, 7)), Ok(0.000001));
    assert_eq!(
        one(dec(123_456_789_012_345_678_901_234_567_890, 38, 27)),
        Ok(123.456789)
    );
    let e = one(dec(10i128.pow(37), 38, 0)).unwrap_err();
    assert_eq!(
        e,
        "`10000000000000000000000000000000000000` is too large (limit 1e9 per row)"
    );
    assert_eq!(one(dec(10i128.pow(38) - 1, 38, 38)), Ok(1.0));
    assert_eq!(one(dec(-5, 38, 38)), Ok(0.0));
    // (Parquet has no negative scales: its writer refuses them)
}

#[test]
fn nan_infinities_and_huge_integers_are_rejects() {
    let d = tempfile::tempdir().unwrap();
    let f = |v: f64| -> ArrayRef { Arc::new(Float64Array::from(vec![1.0, v])) };
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = amount(d.path(), f(v), false).unwrap_err();
        assert!(e.ends_with("is not a finite number"), "{e}");
    }
    for v in [i64::MAX, i64::MIN, 1_000_000_001] {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1, v]));
        let e = amount(d.path(), a, false).unwrap_err();
        assert_eq!(e, format!("`{v}` is too large (limit 1e9 per row)"));
    }
    let a: ArrayRef = Arc::new(arrow::array::UInt64Array::from(vec![1, u64::MAX]));
    assert!(
        amount(d.path(), a, false)
            .unwrap_err()
            .ends_with("is too large (limit 1e9 per row)")
    );
}

#[test]
fn a_column_of_another_type_is_refused_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
    let p = write(
        d.path(),
        "b.parquet",
        ids(2),
        Arc::new(Date32Array::from(vec![19_000; 2])),
        a,
    );
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}: column `amount`: type Boolean does not hold amounts; use a number, decimal or \
             text column",
            p.display()
        )
    );
}

mod random {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8)
    }

    fn zone() -> impl Strategy<Value = Option<&'static str>> {
        prop::sample::select(vec![
            None,
            Some("UTC"),
            Some("Asia/Shanghai"),
            Some("-09:30"),
            Some("America/New_York"),
        ])
    }

    fn dates() -> impl Strategy<Value = ArrayRef> {
        let n = 1..24usize;
        let i64s = || {
            prop::collection::vec(
                prop::option::of(prop_oneof![
                    any::<i64>(),
                    -1_000_000_000_000i64..1_000_000_000_000_000_000
                ]),
                1..24,
            )
        };
        prop_oneof![
            prop::collection::vec(prop::option::of(any::<i32>()), n)
                .prop_map(|v| Arc::new(Date32Array::from(v)) as ArrayRef),
            i64s().prop_map(|v| Arc::new(Date64Array::from(v)) as ArrayRef),
            (i64s(), zone()).prop_map(|(v, z)| Arc::new(
                TimestampSecondArray::from(v).with_timezone_opt(z)
            ) as ArrayRef),
            (i64s(), zone()).prop_map(|(v, z)| Arc::new(
                TimestampMillisecondArray::from(v).with_timezone_opt(z)
            ) as ArrayRef),
            (i64s(), zone()).prop_map(|(v, z)| Arc::new(
                TimestampMicrosecondArray::from(v).with_timezone_opt(z)
            ) as ArrayRef),
            (i64s(), zone()).prop_map(|(v, z)| Arc::new(
                TimestampNanosecondArray::from(v).with_timezone_opt(z)
            ) as ArrayRef),
        ]
    }

    fn amounts(n: usize) -> impl Strategy<Value = ArrayRef> {
        let float = prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -2e9f64..2e9,
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE)
        ];
        prop_oneof![
            prop::collection::vec(prop::option::of(float), n)
                .prop_map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
            prop::collection::vec(prop::option::of(any::<i64>()), n)
                .prop_map(|v| Arc::new(Int64Array::from(v)) as ArrayRef),
            (
                prop::collection::vec(
                    prop::option::of(any::<i128>().prop_map(|v| v % 10i128.pow(38))),
                    n
                ),
                0i8..=38
            )
                .prop_map(|(v, s)| Arc::new(
                    Decimal128Array::from(v)
                        .with_precision_and_scale(38, s)
                        .unwrap()
                ) as ArrayRef),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Any dates, zones, amounts and nulls: no panic; every row read is accepted or
        /// rejected, each reject located.
        #[test]
        fn random_parquet_is_read_or_rejected_row_by_row(
            (dates, amounts, null_ids) in dates().prop_flat_map(|d| {
                let n = d.len();
                (Just(d), amounts(n), prop::collection::vec(any::<bool>(), n))
            })
        ) {
            let n = dates.len();
            let ids: ArrayRef = Arc::new(StringArray::from(
                (0..n).map(|i| (!null_ids[i]).then(|| format!("c{}", i % 3))).collect::<Vec<_>>(),
            ));
            let d = tempfile::tempdir().unwrap();
            let p = write(d.path(), "r.parquet", ids, dates, amounts);
            match load(&IngestOptions::new(vec![p.clone()]), &NoProgress) {
                Ok(got) => {
                    let s = &got.stats;
                    prop_assert_eq!(s.read, n as u64);
                    prop_assert_eq!(s.read, s.accepted + s.rejected);
                    prop_assert_eq!(got.rejects.len() as u64, s.rejected);
                    for r in &got.rejects {
                        prop_assert!(r.line >= 1 && r.line <= n as u64);
                        prop_assert!(!r.column.is_empty() && !r.reason.is_empty());
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    prop_assert!(e.contains(&p.display().to_string()), "{}", e);
                    prop_assert!(e.starts_with("no valid transaction rows in "), "{}", e);
                }
            }
        }
    }
}
