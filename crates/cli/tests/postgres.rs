//! PostgreSQL in and out, against a real server: `.ci/run` starts one on loopback
//! (`.ci/postgres.sh`) and sets `CLIENTELE_PG_TESTS=1`, `CLIENTELE_PG_URL`,
//! `CLIENTELE_PG_ADMIN_URL` and `CLIENTELE_PG_TEST_PASSWORD`. Without them each test says it
//! was skipped, so a plain `cargo test` needs only Rust.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod pg;
use pg::{CDNOW, connect, load_cdnow};

/// The test server, or `None` (and a note) when none was started.
struct Server {
    url: String,
    admin_url: String,
    password: String,
}

fn server(test: &str) -> Option<Server> {
    if std::env::var("CLIENTELE_PG_TESTS").ok().as_deref() != Some("1") {
        eprintln!(
            "skipped {test}: no PostgreSQL server (CLIENTELE_PG_TESTS=1 from .ci/postgres.sh)"
        );
        return None;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    Some(Server {
        url: var("CLIENTELE_PG_URL"),
        admin_url: var("CLIENTELE_PG_ADMIN_URL"),
        password: var("CLIENTELE_PG_TEST_PASSWORD"),
    })
}

impl Server {
    fn client(&self) -> postgres::Client {
        connect(&self.url, &self.password)
    }
    fn admin(&self) -> postgres::Client {
        connect(&self.admin_url, &self.password)
    }
    /// The binary, with the password where libpq looks for it and no other PG variable.
    fn clientele(&self, dir: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clientele"));
        c.current_dir(dir)
            .env("PGPASSWORD", &self.password)
            .env("HOME", dir)
            .env_remove("CLIENTELE_PG_PASSWORD")
            .env_remove("PGPASSFILE")
            .env_remove("PGHOST")
            .env_remove("PGUSER")
            .env_remove("PGDATABASE")
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .env_remove("PGSSLCERT")
            .env_remove("PGSSLKEY")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        c
    }
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn failed(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cdnow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(CDNOW)
}

const CDNOW_FLAGS: [&str; 8] = [
    "--date-col",
    "date",
    "--amount-col",
    "dollar_value",
    "--as-of",
    "1998-06-30",
    "--lang",
    "en",
];

fn file_run(s: &Server, d: &Path, out: &str) {
    let o = s
        .clientele(d)
        .arg("analyze")
        .arg(cdnow())
        .args(["--delimiter", "whitespace", "--quiet", "--out", out])
        .args(CDNOW_FLAGS)
        .output()
        .unwrap();
    ok(&o);
}

fn kpis(dir: &Path) -> serde_json::Value {
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    s["kpis"].clone()
}

#[test]
fn a_table_and_a_query_give_the_customer_table_of_the_file() {
    let Some(s) = server("a_table_and_a_query_give_the_customer_table_of_the_file") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    load_cdnow(&mut s.client(), "cdnow_read");
    file_run(&s, d, "file");
    let o = s
        .clientele(d)
        .args(["analyze", "--postgres", &s.url, "--table", "cdnow_read"])
        .args(["--quiet", "--out", "table"])
        .args(CDNOW_FLAGS)
        .output()
        .unwrap();
    ok(&o);
    let o = s
        .clientele(d)
        .args(["analyze", "--postgres", &s.url])
        .args([
            "--query",
            "SELECT customer_id, date, dollar_value FROM cdnow_read WHERE number_of_cds >= 0;",
        ])
        .args(["--quiet", "--out", "query"])
        .args(CDNOW_FLAGS)
        .output()
        .unwrap();
    ok(&o);
    // the customer table alone, spilled to disk part by part, equals the file's
    std::fs::create_dir(d.join("spill")).unwrap();
    let o = s
        .clientele(d)
        .args(["analyze", "--postgres", &s.url, "--table", "cdnow_read"])
        .args([
            "--customer-table-only",
            "--spill-dir",
            "spill",
            "--quiet",
            "--out",
            "spilled",
        ])
        .args(CDNOW_FLAGS)
        .output()
        .unwrap();
    assert!(ok(&o).contains("built in 16 parts on disk"));
    let o = s
        .clientele(d)
        .arg("analyze")
        .arg(cdnow())
        .args([
            "--delimiter",
            "whitespace",
            "--customer-table-only",
            "--quiet",
        ])
        .args(["--out", "file-table"])
        .args(CDNOW_FLAGS)
        .output()
        .unwrap();
    ok(&o);
    for f in ["customers.csv", "rejects.csv"] {
        let (a, b) = (d.join("spilled").join(f), d.join("file-table").join(f));
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "{f}"
        );
    }
    assert_eq!(kpis(&d.join("spilled")), kpis(&d.join("file-table")));
    assert_eq!(std::fs::read_dir(d.join("spill")).unwrap().count(), 0);
    let file = std::fs::read(d.join("file/customers.csv")).unwrap();
    for run in ["table", "query"] {
        let got = std::fs::read(d.join(run).join("customers.csv")).unwrap();
        assert!(got == file, "{run}: customers.csv differs from the file's");
        assert_eq!(kpis(&d.join(run)), kpis(&d.join("file")), "{run}");
    }
    // the run says what it read, without a password
    let summary = std::fs::read_to_string(d.join("table/summary.json")).unwrap();
    assert!(summary.contains("table cdnow_read"), "{summary}");
    assert!(!summary.contains(&s.password));
}

#[test]
fn column_types_read_as_their_csv_export_would() {
    let Some(s) = server("column_types_read_as_their_csv_export_would") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = s.client();
    c.batch_execute(
        "DROP TABLE IF EXISTS typed;
         CREATE TABLE typed (buyer uuid, sold_at timestamptz, cents bigint, net numeric(12,4),
             margin double precision, kind varchar(20), pieces smallint, ticket bigint);
         SET timezone = 'UTC';",
    )
    .unwrap();
    // the same rows as CSV text, the way `\copy … csv` exports them
    let mut csv = String::from("buyer,sold_at,cents,net,margin,kind,pieces,ticket\n");
    let mut rng = 7u64;
    let mut next = |m: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % m
    };
    let mut rows = Vec::new();
    for i in 0..600u64 {
        let buyer = format!("00000000-0000-4000-8000-{:012x}", next(40));
        let day = 1 + next(27);
        let month = 1 + next(12);
        let hour = next(24);
        let cents = next(100_000) as i64 - 5_000;
        let net = format!("{}.{:04}", next(900), next(10_000));
        let margin = (next(1000) as f64) / 8.0;
        let kind = ["书籍", "music", "Toys & games"][next(3) as usize];
        let pieces = 1 + next(5);
        rows.push(format!(
            "{buyer},2024-{month:02}-{day:02} {hour:02}:15:00+00,{cents},{net},{margin},{kind},{pieces},{i}"
        ));
    }
    for r in &rows {
        csv.push_str(r);
        csv.push('\n');
    }
    std::fs::write(d.join("typed.csv"), &csv).unwrap();
    let mut w = c
        .copy_in("COPY typed FROM STDIN (FORMAT csv, HEADER true)")
        .unwrap();
    w.write_all(csv.as_bytes()).unwrap();
    w.finish().unwrap();
    let flags = [
        "--customer-id-col",
        "buyer",
        "--date-col",
        "sold_at",
        "--amount-col",
        "net",
        "--profit-col",
        "margin",
        "--category-col",
        "kind",
        "--quantity-col",
        "pieces",
        "--order-id-col",
        "ticket",
        "--as-of",
        "2024-12-31",
        "--lang",
        "en",
        "--quiet",
    ];
    ok(&s
        .clientele(d)
        .args(["analyze", "typed.csv", "--out", "file"])
        .args(flags)
        .output()
        .unwrap());
    // the session's time zone decides the day of a timestamptz: UTC here, as in the CSV
    let url = format!("{}?options=-c%20TimeZone%3DUTC", s.url);
    ok(&s
        .clientele(d)
        .args([
            "analyze",
            "--postgres",
            &url,
            "--table",
            "typed",
            "--out",
            "pg",
        ])
        .args(flags)
        .output()
        .unwrap());
    let file = std::fs::read(d.join("file/customers.csv")).unwrap();
    let pg = std::fs::read(d.join("pg/customers.csv")).unwrap();
    assert!(
        pg == file,
        "customers.csv from the table differs from the CSV's"
    );
    // whole cents as the amount: read as integers
    ok(&s
        .clientele(d)
        .args([
            "analyze",
            "--postgres",
            &url,
            "--table",
            "typed",
            "--out",
            "cents",
        ])
        .args(["--customer-id-col", "buyer", "--date-col", "sold_at"])
        .args(["--amount-col", "cents", "--as-of", "2024-12-31", "--quiet"])
        .output()
        .unwrap());
}

#[test]
fn bad_rows_are_rejected_and_named_by_their_primary_key() {
    let Some(s) = server("bad_rows_are_rejected_and_named_by_their_primary_key") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    s.client()
        .batch_execute(
            "DROP TABLE IF EXISTS messy;
             CREATE TABLE messy (order_no text PRIMARY KEY, customer_id text, order_date date,
                 amount text);
             INSERT INTO messy VALUES
                 ('A-1', 'c1', '2024-01-05', '10.50'),
                 ('A-2', 'c1', '2024-02-05', '12'),
                 ('A-3', NULL, '2024-02-06', '5'),
                 ('A-4', 'c2', 'infinity', '7'),
                 ('A-5', 'c2', '2024-03-01', 'twelve'),
                 ('A-6', 'c3', NULL, '1'),
                 ('A-7', 'c3', '2024-03-02', '3.25');",
        )
        .unwrap();
    let o = s
        .clientele(d)
        .args(["analyze", "--postgres", &s.url, "--table", "messy"])
        .args(["--out", "out", "--lang", "en", "--quiet"])
        .output()
        .unwrap();
    ok(&o);
    let rejects = std::fs::read_to_string(d.join("out/rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(lines.len(), 4, "{rejects}");
    for (key, column) in [
        ("order_no=A-3", "customer_id"),
        ("order_no=A-4", "order_date"),
        ("order_no=A-5", "amount"),
        ("order_no=A-6", "order_date"),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(key) && l.contains(column)),
            "{key} {column}:\n{rejects}"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["inputs"]["read"], 7);
    assert_eq!(summary["inputs"]["accepted"], 3);
    assert_eq!(summary["inputs"]["rejected"], 4);
    // --strict stops at the first, naming where
    let e = failed(
        &s.clientele(d)
            .args([
                "analyze",
                "--postgres",
                &s.url,
                "--table",
                "messy",
                "--strict",
            ])
            .args(["--out", "strict", "--lang", "en", "--quiet"])
            .output()
            .unwrap(),
    );
    assert!(
        e.contains("table messy") && e.contains("customer_id"),
        "{e}"
    );
}

#[test]
fn every_failure_is_one_line_naming_server_database_and_fix_never_the_password() {
    let Some(s) = server("every_failure_is_one_line_naming_server_database_and_fix") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut admin = s.admin();
    admin
        .batch_execute(
            "DROP TABLE IF EXISTS private_orders;
             CREATE TABLE private_orders (customer_id text, date date, dollar_value numeric);
             REVOKE ALL ON private_orders FROM PUBLIC;",
        )
        .unwrap();
    load_cdnow(&mut s.client(), "cdnow_errors");
    s.client()
        .batch_execute("DROP SEQUENCE IF EXISTS errors_seq; CREATE SEQUENCE errors_seq")
        .unwrap();
    let port = s.url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let host_url = |db: &str| format!("postgresql://clientele@127.0.0.1:{port}/{db}");
    let cases: Vec<(Vec<String>, Option<&str>, &str)> = vec![
        // a wrong password, from PGPASSWORD
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--table".into(),
                "cdnow_errors".into(),
            ],
            Some("not-the-password"),
            "password authentication failed",
        ),
        // no password anywhere
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--table".into(),
                "cdnow_errors".into(),
            ],
            Some(""),
            "none was found",
        ),
        (
            vec![
                "--postgres".into(),
                host_url("no_such_db"),
                "--table".into(),
                "x".into(),
            ],
            None,
            "no_such_db",
        ),
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--table".into(),
                "no_such_table".into(),
            ],
            None,
            "table `no_such_table` does not exist",
        ),
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--table".into(),
                "private_orders".into(),
            ],
            None,
            "permission denied",
        ),
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--query".into(),
                "SELEKT * FROM cdnow_errors".into(),
            ],
            None,
            "SQL syntax error",
        ),
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--query".into(),
                "SELECT customer_id, nope FROM cdnow_errors".into(),
            ],
            None,
            "column \"nope\" does not exist",
        ),
        // a mapped column the table does not have
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--table".into(),
                "cdnow_errors".into(),
                "--customer-id-col".into(),
                "buyer".into(),
            ],
            None,
            "required column `buyer`",
        ),
        // a query that fails on a row far into the stream
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--query".into(),
                "SELECT customer_id, date, dollar_value / (line_no - 60000) AS dollar_value \
                 FROM cdnow_errors"
                    .into(),
            ],
            None,
            "division by zero",
        ),
        // a source only reads
        (
            vec![
                "--postgres".into(),
                s.url.clone(),
                "--query".into(),
                "SELECT customer_id, date, dollar_value, nextval('errors_seq') FROM cdnow_errors"
                    .into(),
            ],
            None,
            "may only read",
        ),
        (
            vec![
                "--postgres".into(),
                "postgresql://clientele@127.0.0.1:1/shop".into(),
                "--table".into(),
                "x".into(),
            ],
            None,
            "cannot connect",
        ),
        (
            vec![
                "--postgres".into(),
                format!(
                    "postgresql://clientele:{}@127.0.0.1:{port}/shop",
                    s.password
                ),
                "--table".into(),
                "x".into(),
            ],
            None,
            "holds a password",
        ),
    ];
    for (args, password, expect) in cases {
        let mut c = s.clientele(d);
        if let Some(p) = password {
            c.env("PGPASSWORD", p);
        }
        let o = c
            .arg("analyze")
            .args(&args)
            .args(["--date-col", "date", "--amount-col", "dollar_value"])
            .args(["--out", "never", "--lang", "en", "--quiet"])
            .output()
            .unwrap();
        let e = failed(&o);
        assert!(e.contains(expect), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{args:?}: {e}");
        assert!(e.contains("127.0.0.1"), "{args:?}: {e}");
        assert!(
            !e.contains(&s.password),
            "{args:?} printed the password: {e}"
        );
        assert!(!d.join("never").exists());
    }
}

/// Reads `clientele_customers`-like tables the way a CRM would.
fn count(c: &mut postgres::Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn the_sink_replaces_its_table_whole_and_logs_each_run() {
    let Some(s) = server("the_sink_replaces_its_table_whole_and_logs_each_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = s.client();
    c.batch_execute(
        "DROP SCHEMA IF EXISTS crm CASCADE; CREATE SCHEMA crm;
         CREATE TABLE crm.customers_by_hand (id int); INSERT INTO crm.customers_by_hand VALUES (1);",
    )
    .unwrap();
    let run = |as_of: &str, table: &str| {
        s.clientele(d)
            .arg("analyze")
            .arg(cdnow())
            .args(["--delimiter", "whitespace", "--date-col", "date"])
            .args([
                "--amount-col",
                "dollar_value",
                "--as-of",
                as_of,
                "--lang",
                "en",
            ])
            .args(["--quiet", "--out", &format!("out-{as_of}")])
            .args(["--write-postgres", &s.url, "--write-table", table])
            .output()
            .unwrap()
    };
    // two runs of different sizes (CDNOW's cohort joined in the first quarter of 1997)
    let stdout = ok(&run("1997-02-15", "crm.customers"));
    assert!(stdout.contains("written to PostgreSQL"), "{stdout}");
    let small = count(&mut c, "crm.customers");
    ok(&run("1998-06-30", "crm.customers"));
    let big = count(&mut c, "crm.customers");
    assert_eq!(big, 23_570);
    assert!(small > 0 && small < big, "{small} {big}");
    // the types a CRM reads
    let types: Vec<(String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'crm' AND table_name = 'customers'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (col, ty) in [
        ("customer_id", "text"),
        ("orders", "bigint"),
        ("monetary", "double precision"),
        ("last_purchase", "date"),
        ("segment_cn8", "text"),
        ("clv", "double precision"),
        ("lifecycle_stage", "text"),
    ] {
        assert!(types.contains(&(col.into(), ty.into())), "{col}: {types:?}");
    }
    // the grades equal the run's own files
    let champions: i64 = c
        .query_one(
            "SELECT count(*) FROM crm.customers WHERE segment_rf10 = 'Champions'",
            &[],
        )
        .unwrap()
        .get(0);
    let mut r = csv::Reader::from_path(d.join("out-1998-06-30/customers.csv")).unwrap();
    let k = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "segment_rf10")
        .unwrap();
    let in_file = r
        .records()
        .filter(|x| &x.as_ref().unwrap()[k] == "Champions")
        .count() as i64;
    assert_eq!(champions, in_file);
    // the log: one row per write, with what was written
    let log: Vec<(String, i64, serde_json::Value)> = c
        .query(
            "SELECT as_of::text, customers, (summary->'kpis')::text FROM crm.clientele_runs \
             ORDER BY run_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let kpis: String = r.get(2);
            (r.get(0), r.get(1), serde_json::from_str(&kpis).unwrap())
        })
        .collect();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].0.as_str(), log[0].1), ("1997-02-15", small));
    assert_eq!((log[1].0.as_str(), log[1].1), ("1998-06-30", big));
    assert_eq!(log[1].2, kpis(&d.join("out-1998-06-30")));
    // a table clientele did not write is never replaced
    let e = failed(&run("1998-06-30", "crm.customers_by_hand"));
    assert!(e.contains("did not write it"), "{e}");
    assert_eq!(count(&mut c, "crm.customers_by_hand"), 1);

    // Readers see the old table or the new one, never a half or none, while runs replace it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (url, password, stop) = (s.url.clone(), s.password.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = connect(&url, &password);
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.insert(count(&mut c, "crm.customers"));
            }
            seen
        })
    };
    for as_of in ["1997-02-15", "1998-06-30", "1997-02-15", "1998-06-30"] {
        ok(&run(as_of, "crm.customers"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().unwrap();
    assert!(
        seen.iter().all(|n| *n == small || *n == big),
        "a reader saw {seen:?}, not only {small} or {big}"
    );
    // a view on the table would be dropped with it: the run stops and says what to do
    c.batch_execute("CREATE VIEW crm.champions AS SELECT customer_id FROM crm.customers")
        .unwrap();
    let before = count(&mut c, "crm.customers");
    let e = failed(&run("1997-02-15", "crm.customers"));
    assert!(e.contains("views on it"), "{e}");
    assert_eq!(count(&mut c, "crm.customers"), before);
    c.batch_execute("DROP VIEW crm.champions").unwrap();
    // nothing left behind by the loads
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'clientele_load%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// Settings that cannot work are refused before anything is read or connected to; these need
/// no server.
#[test]
fn impossible_postgres_settings_are_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = "postgresql://ann@127.0.0.1:1/shop";
    let cases: [(&[&str], &str); 6] = [
        (
            &["analyze", "x.csv", "--postgres", url, "--table", "t"],
            "not both",
        ),
        (&["analyze", "--table", "t"], "no transaction files"),
        (&["analyze", "--postgres", url], "needs the rows to read"),
        (
            &[
                "analyze",
                "--postgres",
                "postgresql://ann:pw123@h/shop",
                "--table",
                "t",
            ],
            "holds a password",
        ),
        (
            &[
                "analyze",
                "--postgres",
                "postgresql://ann@h/shop?sslmode=verify-full",
                "--table",
                "t",
            ],
            "sslrootcert",
        ),
        (
            &[
                "analyze",
                "x.csv",
                "--write-postgres",
                url,
                "--write-table",
                "a b",
            ],
            "not a table name",
        ),
    ];
    for (args, expect) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_clientele"))
            .current_dir(d)
            .args(args)
            .args(["--out", "never"])
            .output()
            .unwrap();
        let e = failed(&o);
        assert!(e.contains(expect), "{args:?}: {e}");
        assert!(!e.contains("pw123"), "{args:?}: {e}");
        assert!(!d.join("never").exists());
    }
}

/// TLS as libpq: a role the server accepts only over TLS reads and writes with the default
/// `prefer`, `require`, `verify-ca` and `verify-full` (by the certificate's name); a foreign CA,
/// verify-full by an IP address the certificate does not name, and `disable` are each one line
/// that says why and what to do.
#[test]
fn tls_connections_follow_libpqs_sslmode_and_sslrootcert() {
    let Some(s) = server("tls_connections_follow_libpqs_sslmode_and_sslrootcert") else {
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let (tls_url, ca, other) = (
        var("CLIENTELE_PG_TLS_URL"),
        var("CLIENTELE_PG_CA"),
        var("CLIENTELE_PG_OTHER_CA"),
    );
    let by_ip = tls_url
        .replace("@localhost:", "@127.0.0.1:")
        .replace("?hostaddr=127.0.0.1", "?x=");
    let by_ip = by_ip.trim_end_matches("?x=").to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let query = "SELECT * FROM (VALUES ('a', DATE '2024-01-01', 10.5), ('a', DATE '2024-02-01', 5), \
                 ('b', DATE '2024-01-05', 7)) t(customer_id, order_date, amount)";
    let run = |url: &str, out: &str| {
        s.clientele(d)
            .args(["analyze", "--postgres", url, "--query", query, "--out", out])
            .args(["--quiet", "--lang", "en"])
            .output()
            .unwrap()
    };
    let good = [
        tls_url.clone(),
        format!("{tls_url}&sslmode=require"),
        format!("{by_ip}?sslmode=verify-ca&sslrootcert={ca}"),
        format!("{tls_url}&sslmode=verify-full&sslrootcert={ca}"),
    ];
    for (k, url) in good.iter().enumerate() {
        let out = ok(&run(url, &format!("ok{k}")));
        assert!(out.contains("read 3 = accepted 3"), "{url}: {out}");
    }
    // the grades written back over verify-full
    let url = &good[3];
    let o = s
        .clientele(d)
        .args([
            "analyze",
            "--postgres",
            url,
            "--query",
            query,
            "--out",
            "sink",
        ])
        .args([
            "--write-postgres",
            url,
            "--write-table",
            "tls_customers",
            "--quiet",
        ])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(count(&mut s.admin(), "tls_customers"), 2);
    let bad = [
        (
            format!("{tls_url}&sslmode=verify-full&sslrootcert={other}"),
            "UnknownIssuer",
        ),
        (
            format!("{by_ip}?sslmode=verify-full&sslrootcert={ca}"),
            "not valid for name",
        ),
        (format!("{tls_url}&sslmode=disable"), "no encryption"),
    ];
    for (url, why) in bad {
        let err = failed(&run(&url, "never"));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{url}: {err}");
        assert!(!err.contains(&s.password), "{err}");
        assert!(!d.join("never").exists());
    }
}

/// A server that authenticates by client certificate: `sslcert`/`sslkey` log in without a
/// password; without them the server's refusal is one line. `sslrootcert=system` checks the
/// server by the system's certificates (here `SSL_CERT_FILE` names the test CA, as OpenSSL
/// heeds it) and refuses a weaker sslmode.
#[test]
fn client_certificates_and_the_systems_roots_as_in_libpq() {
    let Some(s) = server("client_certificates_and_the_systems_roots_as_in_libpq") else {
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let (url, ca, cert, key) = (
        var("CLIENTELE_PG_CERT_URL"),
        var("CLIENTELE_PG_CA"),
        var("CLIENTELE_PG_CLIENT_CERT"),
        var("CLIENTELE_PG_CLIENT_KEY"),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let query = "SELECT * FROM (VALUES ('a', DATE '2024-01-01', 10.5), ('b', DATE '2024-01-05', 7)) \
                 t(customer_id, order_date, amount)";
    let run = |url: &str, out: &str, env: &[(&str, &str)]| {
        let mut c = s.clientele(d);
        c.args(["analyze", "--postgres", url, "--query", query, "--out", out])
            .args(["--quiet", "--lang", "en"])
            .env_remove("PGPASSWORD");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let with_cert =
        format!("{url}&sslmode=verify-full&sslrootcert={ca}&sslcert={cert}&sslkey={key}");
    let out = ok(&run(&with_cert, "by_cert", &[]));
    assert!(out.contains("read 2 = accepted 2"), "{out}");
    // the same files from the environment, as libpq reads them
    let out = ok(&run(
        &format!("{url}&sslmode=verify-full"),
        "by_env",
        &[
            ("PGSSLROOTCERT", ca.as_str()),
            ("PGSSLCERT", cert.as_str()),
            ("PGSSLKEY", key.as_str()),
        ],
    ));
    assert!(out.contains("read 2 = accepted 2"), "{out}");
    // no certificate: the server says no, in one line
    let err = failed(&run(
        &format!("{url}&sslmode=verify-full&sslrootcert={ca}"),
        "never",
        &[],
    ));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("asks user `clientele_cert` for a client certificate")
            && err.contains("sslcert="),
        "{err}"
    );
    assert!(!d.join("never").exists());
    // a certificate of another name (the server's own): not accepted for this user
    let tls = Path::new(&ca).parent().unwrap();
    let (other, other_key) = (tls.join("server.crt"), tls.join("server.key"));
    let err = failed(&run(
        &format!(
            "{url}&sslmode=verify-full&sslrootcert={ca}&sslcert={}&sslkey={}",
            other.display(),
            other_key.display()
        ),
        "never",
        &[],
    ));
    assert!(
        err.contains("common name (CN) must be the user's name"),
        "{err}"
    );
    // the system's roots: verify-full by default
    let system = format!("{url}&sslrootcert=system&sslcert={cert}&sslkey={key}");
    let out = ok(&run(
        &system,
        "by_system",
        &[("SSL_CERT_FILE", ca.as_str())],
    ));
    assert!(out.contains("read 2 = accepted 2"), "{out}");
    let err = failed(&run(&format!("{system}&sslmode=require"), "never", &[]));
    assert!(err.contains("only with sslmode=verify-full"), "{err}");
}

/// A customer table built part by part on disk (`--spill-dir`) goes to the sink merged straight
/// into the COPY: the same rows, columns and types as the table of a run in memory. So does
/// the table of a whole analysis by parts, kept on disk through its models and copied a slice
/// at a time.
#[test]
fn a_table_built_on_disk_reaches_the_sink_as_the_one_in_memory() {
    let Some(s) = server("a_table_built_on_disk_reaches_the_sink_as_the_one_in_memory") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = s.client();
    c.batch_execute("DROP SCHEMA IF EXISTS on_disk CASCADE; CREATE SCHEMA on_disk;")
        .unwrap();
    let run = |table: &str, extra: &[&str]| {
        let o = s
            .clientele(d)
            .arg("analyze")
            .arg(cdnow())
            .args(["--delimiter", "whitespace", "--quiet"])
            .args(["--out", table])
            .args(CDNOW_FLAGS)
            .args(["--write-postgres", &s.url, "--write-table"])
            .arg(format!("on_disk.{table}"))
            .args(extra)
            .output()
            .unwrap();
        ok(&o)
    };
    let table_only = "--customer-table-only";
    run("sink_memory", &[table_only]);
    let spill = d.join("spill");
    std::fs::create_dir(&spill).unwrap();
    let spill_dir = spill.to_str().unwrap();
    let out = run("sink_spilled", &[table_only, "--spill-dir", spill_dir]);
    assert!(out.contains("parts on disk"), "{out}");
    run("whole_memory", &[]);
    let out = run("whole_spilled", &["--spill-dir", spill_dir]);
    assert!(out.contains("kept there through the models"), "{out}");
    assert_eq!(
        std::fs::read_dir(&spill).unwrap().count(),
        0,
        "spill files removed"
    );
    let shape = |c: &mut postgres::Client, t: &str| -> Vec<(String, String)> {
        c.query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'on_disk' AND table_name = $1 ORDER BY ordinal_position",
            &[&t],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let (a, b) = (shape(&mut c, "sink_memory"), shape(&mut c, "sink_spilled"));
    assert!(a.len() > 10 && a == b, "{a:?}\n{b:?}");
    let (w, v) = (
        shape(&mut c, "whole_memory"),
        shape(&mut c, "whole_spilled"),
    );
    assert!(w.len() > a.len() + 10 && w == v, "{w:?}\n{v:?}");
    let digest = |c: &mut postgres::Client, t: &str| -> (i64, String) {
        let r = c
            .query_one(
                &format!(
                    "SELECT count(*), md5(string_agg(x::text, '|' ORDER BY customer_id)) \
                     FROM on_disk.{t} x"
                ),
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let (a, b) = (
        digest(&mut c, "sink_memory"),
        digest(&mut c, "sink_spilled"),
    );
    assert_eq!(a.0, 23_570);
    assert_eq!(a, b);
    let (w, v) = (
        digest(&mut c, "whole_memory"),
        digest(&mut c, "whole_spilled"),
    );
    assert_eq!(w.0, 23_570);
    assert_eq!(w, v);
}
