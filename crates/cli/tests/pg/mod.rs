//! Helpers shared by the tests that use the PostgreSQL server `.ci/run` starts
//! (`.ci/postgres.sh`): a connection, and CDNOW loaded into a table.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// CDNOW's lines, as the CSV tests read them.
pub const CDNOW: &str = "../ingest/tests/data/CDNOW_master.txt";

/// A client on `url` with `password` (the test server's roles use scram passwords).
pub fn connect(url: &str, password: &str) -> postgres::Client {
    postgres::Config::from_str(url)
        .unwrap()
        .password(password)
        .connect(postgres::NoTls)
        .unwrap()
}

/// CDNOW's lines as a table `name` (text ids keep their leading zeros, numeric amounts), with
/// a primary key of its own.
pub fn load_cdnow(c: &mut postgres::Client, name: &str) {
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {name};
         CREATE TABLE {name} (line_no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             customer_id text, date date, number_of_cds integer, dollar_value numeric(10,2))"
    ))
    .unwrap();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CDNOW)).unwrap();
    let mut w = c
        .copy_in(&format!(
            "COPY {name} (customer_id, date, number_of_cds, dollar_value) FROM STDIN (FORMAT csv)"
        ))
        .unwrap();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = f[1];
        writeln!(
            w,
            "{},{}-{}-{},{},{}",
            f[0],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[2],
            f[3]
        )
        .unwrap();
    }
    w.finish().unwrap();
}
