//! Fuzzing on stable Rust: arbitrary bytes and structured garbage (stray quotes, delimiters,
//! CR/LF, GBK and invalid bytes, huge fields) through the CSV and whitespace readers in UTF-8
//! and GBK. Every input gives a result or an error, never a panic, and the accounting always
//! reconciles: `read = accepted + rejected`, one reject per rejected row, each on a line of
//! the file. `PROPTEST_CASES` sets the number of cases (default 32 per test) for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use clientele_ingest::{Delimiter, Encoding, IngestOptions, NoProgress, load};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Pieces of hostile text.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0u8..20, 1u8..28, -500i32..5000).prop_map(|(c, d, a)| format!("c{c},2024-01-{d:02},{a}\n").into_bytes()),
        1 => Just(b"\"".to_vec()),
        1 => Just(b",".to_vec()),
        1 => Just(b";".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b" ".to_vec()),
        1 => Just(b"\"\"".to_vec()),
        1 => Just(b"\xd5\xc5\xc8\xfd".to_vec()), // 张三 in GBK
        1 => Just("张三".as_bytes().to_vec()),
        1 => Just(b"\xff\xfe\x81".to_vec()),
        1 => Just(b"\xef\xbb\xbf".to_vec()),
        1 => Just(b"12,50".to_vec()),
        1 => Just(b"2024-01-01T25:00".to_vec()),
        1 => Just(b"00010101".to_vec()),
        1 => (1usize..20_000).prop_map(|n| vec![b'x'; n]),
        1 => proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

fn hostile() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(piece(), 0..40).prop_map(|pieces| {
        let mut text = b"customer_id,order_date,amount\n".to_vec();
        text.extend(pieces.concat());
        text
    })
}

/// Lines an editor shows in `b` (`\r\n`, `\n` and a lone `\r` each end one).
fn lines(b: &[u8]) -> u64 {
    let mut n = 1;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// Reads `bytes` every way; panics (fails the case) on a panic or on accounting that does not
/// reconcile.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.csv");
    std::fs::write(&p, bytes).unwrap();
    let last = lines(bytes);
    for encoding in [Encoding::Utf8, Encoding::Gbk] {
        for delimiter in [Delimiter::Byte(b','), Delimiter::Whitespace] {
            for strict in [false, true] {
                let mut o = IngestOptions::new(vec![p.clone()]);
                o.csv.encoding = encoding;
                o.csv.delimiter = delimiter;
                o.strict = strict;
                // an error is a fine answer to garbage; a panic or a wrong count is not
                let Ok(got) = load(&o, &NoProgress) else {
                    continue;
                };
                let s = &got.stats;
                prop_assert_eq!(s.read, s.accepted + s.rejected);
                prop_assert_eq!(s.accepted, s.used + s.after_as_of);
                prop_assert_eq!(got.rejects.len() as u64, s.rejected);
                prop_assert!(!strict || s.rejected == 0);
                for r in &got.rejects {
                    prop_assert!(r.line >= 1 && r.line <= last, "{:?} of {} lines", r, last);
                    prop_assert!(!r.reason.is_empty());
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn hostile_text_reconciles(bytes in hostile()) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_reconcile(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_header_reconcile(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut text = b"customer_id,order_date,amount\n".to_vec();
        text.extend(bytes);
        check(&text)?;
    }
}

/// Rows that are all valid are all accepted whatever the line ends, with or without a quote
/// somewhere (which sends the rest of the file through the general parser).
#[test]
fn valid_rows_with_any_line_ends_are_all_accepted() {
    let d = tempfile::tempdir().unwrap();
    for end in ["\n", "\r\n", "\r"] {
        for quote in [false, true] {
            let mut text = format!("customer_id,order_date,amount,note{end}");
            for i in 0..500 {
                let note = if quote && i == 250 { "\"a, b\"" } else { "n" };
                text.push_str(&format!(
                    "c{},2024-01-{:02},{i}.25,{note}{end}",
                    i % 9,
                    1 + i % 28
                ));
            }
            let p = d.path().join("v.csv");
            std::fs::write(&p, &text).unwrap();
            let got = load(&IngestOptions::new(vec![p]), &NoProgress).unwrap();
            assert_eq!(
                got.stats.reconciliation(),
                "read 500 = accepted 500 + rejected 0 (+ after as-of 0)",
                "{end:?} {quote}"
            );
        }
    }
}
