//! Hot functions of ingest: date and money parsing, and loading a 1M-row CSV and Parquet file
//! (read + validate + per-customer aggregation). `cargo bench -p clientele-ingest`.
//! Timings only; correctness lives in the tests.

use std::io::Write;
use std::path::PathBuf;
use std::sync::LazyLock;

use clientele_core::DateFormat;
use clientele_ingest::{IngestOptions, NoProgress, load};

// The money parser is crate-private; compile its file into this bench as well.
#[path = "../src/transactions.rs"]
#[allow(dead_code, unreachable_pub)]
mod transactions;
// So is the splitter of quote-free CSV text.
#[path = "../src/unquoted.rs"]
#[allow(dead_code, unreachable_pub)]
mod unquoted;
// (whose tests, in a test build of this bench, check it against this module's)
#[path = "../src/delimited.rs"]
#[allow(dead_code, unreachable_pub)]
mod delimited;

fn main() {
    divan::main();
}

const ROWS: usize = 1_000_000;

/// A deterministic synthetic shop (the columns of `gen_transactions.py`), written once.
static FILES: LazyLock<(tempfile::TempDir, PathBuf, PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("tx.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
    writeln!(
        f,
        "order_id,customer_id,order_date,amount,profit,category,quantity"
    )
    .expect("write");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..ROWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let customer = 100_001 + x % 280_000;
        let day = 1 + (i * 28 / ROWS);
        let cents = 100 + x % 20_000;
        writeln!(
            f,
            "{},{customer},2024-02-{day:02},{}.{:02},{}.{:02},cat_{:02},{}",
            9_000_001 + i,
            cents / 100,
            cents % 100,
            cents / 500,
            cents % 100,
            x % 50,
            1 + x % 3
        )
        .expect("write");
    }
    drop(f);
    let parquet = dir.path().join("tx.parquet");
    to_parquet(&csv, &parquet);
    (dir, csv, parquet)
});

/// Converts the CSV with DataFusion's own reader (not ours) so the bench reads a typical file.
fn to_parquet(csv: &std::path::Path, parquet: &std::path::Path) {
    use datafusion::dataframe::DataFrameWriteOptions;
    use datafusion::prelude::{CsvReadOptions, SessionContext};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let ctx = SessionContext::new();
        let df = ctx
            .read_csv(csv.to_str().expect("path"), CsvReadOptions::new())
            .await
            .expect("read csv");
        df.write_parquet(
            parquet.to_str().expect("path"),
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .expect("write parquet");
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn load_csv_1m(b: divan::Bencher) {
    let path = FILES.1.clone();
    b.bench(|| load(&IngestOptions::new(vec![path.clone()]), &NoProgress).expect("load"));
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn load_parquet_1m(b: divan::Bencher) {
    let path = FILES.2.clone();
    b.bench(|| load(&IngestOptions::new(vec![path.clone()]), &NoProgress).expect("load"));
}

/// Splitting the 1M-row CSV text into records and fields (no validation).
#[divan::bench(sample_count = 10)]
fn split_unquoted_1m(b: divan::Bencher) {
    let text = std::fs::read_to_string(&FILES.1).expect("read");
    b.counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| {
            let mut fields = 0usize;
            unquoted::each_record(&text, b',', |_, r| {
                fields += r.len() + r.field(1).len();
                Ok::<(), ()>(())
            })
            .expect("split");
            fields
        });
}

fn dates() -> Vec<String> {
    (0..1000)
        .map(|i| format!("20{:02}-{:02}-{:02}", 10 + i % 15, 1 + i % 12, 1 + i % 28))
        .collect()
}

#[divan::bench]
fn date_auto_iso(b: divan::Bencher) {
    let v = dates();
    b.counter(divan::counter::ItemsCount::new(v.len()))
        .bench(|| v.iter().filter_map(|s| DateFormat::Auto.parse(s)).count());
}

#[divan::bench]
fn date_auto_datetime(b: divan::Bencher) {
    let v: Vec<String> = dates().into_iter().map(|d| d + " 10:30:00").collect();
    b.counter(divan::counter::ItemsCount::new(v.len()))
        .bench(|| v.iter().filter_map(|s| DateFormat::Auto.parse(s)).count());
}

#[divan::bench]
fn date_custom_format(b: divan::Bencher) {
    let f = DateFormat::Custom("%d.%m.%Y".into());
    let v: Vec<String> = (0..1000)
        .map(|i| format!("{:02}.{:02}.20{:02}", 1 + i % 28, 1 + i % 12, 10 + i % 15))
        .collect();
    b.counter(divan::counter::ItemsCount::new(v.len()))
        .bench(|| v.iter().filter_map(|s| f.parse(s)).count());
}

#[divan::bench(args = ["plain", "symbol_and_thousands", "exponent"])]
fn money(b: divan::Bencher, kind: &str) {
    let v: Vec<String> = (0..1000)
        .map(|i| match kind {
            "plain" => format!("{}.{:02}", i * 7, i % 100),
            "symbol_and_thousands" => format!("¥{},{:03}.{:02}", 1 + i % 9, i, i % 100),
            _ => format!("{}e2", i),
        })
        .collect();
    b.counter(divan::counter::ItemsCount::new(v.len()))
        .bench(|| {
            v.iter()
                .filter_map(|s| transactions::parse_scaled(s, false).ok())
                .sum::<i64>()
        });
}
