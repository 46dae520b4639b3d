//! The bad-input corpus: every case gives one clear message (asserted exactly) or a counted,
//! located reject — never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use clientele_ingest::{Encoding, IngestOptions, Ingested, NoProgress, Reject, load};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(path: &Path) -> Result<Ingested, String> {
    load(&IngestOptions::new(vec![path.to_path_buf()]), &NoProgress).map_err(|e| e.to_string())
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

#[test]
fn gbk_file_read_as_utf8_says_use_gbk() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "订单.csv",
        &gbk("customer_id,order_date,amount\n张三,2024-01-02,10\n"),
    );
    let e = run(&p).unwrap_err();
    assert_eq!(
        e,
        format!(
            "{}:2: text is not valid UTF-8; the file looks like GBK/GB18030 (Chinese Excel export): \
             pass --encoding gbk (or `encoding = \"gbk\"` in [source])",
            p.display()
        )
    );
}

#[test]
fn utf8_file_declared_gbk_says_use_utf8() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        "customer_id,order_date,amount\n张三,2024-01-02,10\n".as_bytes(),
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.csv.encoding = Encoding::Gbk;
    let e = load(&o, &NoProgress).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: text is not valid GBK; the file looks like UTF-8: pass --encoding utf-8 (or `encoding = \"utf-8\"` in [source])",
            p.display()
        )
    );
}

#[test]
fn gbk_with_chinese_headers_reads_with_mapping() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "orders.csv",
        &gbk(
            "客户编号,下单日期,金额,品类\n张三,2024/01/02,\"1,200.50\",服装\n李四,20240103,88,食品\n张三,2024-02-01,-100,服装\n",
        ),
    );
    let mut o = IngestOptions::new(vec![p]);
    o.csv.encoding = Encoding::Gbk;
    o.columns.customer_id = "客户编号".into();
    o.columns.order_date = "下单日期".into();
    o.columns.amount = "金额".into();
    o.columns.category = clientele_ingest::OptionalColumn::explicit("品类");
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 3 = accepted 3 + rejected 0 (+ after as-of 0)"
    );
    let t = &got.table;
    assert_eq!(t.ids(), ["张三", "李四"]);
    assert_eq!(
        t.floats("monetary").unwrap().to_vec(),
        [Some(1100.5), Some(88.0)]
    );
    assert_eq!(t.ints("returns").unwrap().to_vec(), [Some(1), Some(0)]);
    assert_eq!(t.texts("top_category").unwrap().get(1), Some("食品"));
}

#[test]
fn missing_column_names_it_and_lists_the_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,date,amount\n1,2024-01-01,5\n",
    );
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}: required column `order_date` (order_date) not found; columns found: customer_id, date, amount. \
             Map it with --date-col NAME or `order_date = \"NAME\"` in the [columns] section of the config. \
             Likely `date` for order_date: pass --date-col date",
            p.display()
        )
    );
}

#[test]
fn bad_rows_are_rejected_with_line_and_reason() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,5\n,2024-01-02,5\n2,2024-13-01,5\n3,2024-01-03,abc\n4,2024-01-04\n\n5,2024-01-05,7\n",
    );
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 6 = accepted 2 + rejected 4 (+ after as-of 0)"
    );
    let f = p.display().to_string();
    let r = |line, column: &str, reason: &str, raw: &str| Reject {
        file: f.clone(),
        line,
        column: column.into(),
        reason: reason.into(),
        reason_zh: String::new(),
        raw: raw.into(),
    };
    assert_eq!(
        en(&got.rejects),
        vec![
            r(3, "customer_id", "missing customer id", ",2024-01-02,5"),
            r(
                4,
                "order_date",
                "`2024-13-01` is not a date (expected YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an ISO datetime; for others pass --date-format or set date_format in [columns])",
                "2,2024-13-01,5"
            ),
            r(5, "amount", "`abc` is not a number", "3,2024-01-03,abc"),
            r(6, "", "row has 2 fields, the header has 3", "4,2024-01-04"),
        ]
    );
    assert_eq!(got.table.ids(), ["1", "5"]);
}

/// A run in Chinese writes its rejects' reasons in Chinese: every reason the reading gives has
/// its Chinese text, and `rejects.csv` holds it (values quoted as read).
#[test]
fn rejects_are_written_in_the_run_s_language() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        "customer_id,order_date,amount,quantity\n1,2024-01-01,5,1\n,2024-01-02,5,1\n2,2024-13-01,5,1\n3,2024-01-03,abc,1\n4,2024-01-04\n5,2024-01-05,\"12,50\",1\n6,2024-01-06,1e12,1\n7,,5,1\n8,2024-01-08,,1\n9,2024-01-09,5,x,\n10,2024-01-10T25:00,5,1\n11,0999-01-01,5,1\n\"12,2024-01-12,5,1\n13,2024-01-13,5,1\n".as_bytes(),
    );
    let rejects = d.path().join("rejects.csv");
    let mut o = IngestOptions::new(vec![p]);
    o.rejects_path = Some(rejects.clone());
    o.lang = clientele_core::Lang::Zh;
    let got = load(&o, &NoProgress).unwrap();
    let zh: Vec<(u64, &str)> = got
        .rejects
        .iter()
        .map(|r| (r.line, r.reason_zh.as_str()))
        .collect();
    assert_eq!(
        zh,
        [
            (3, "缺少客户编号"),
            (
                4,
                "`2024-13-01` 不是日期（应为 YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD 或 ISO 日期时间；\
                 其他格式请加上 --date-format 或在 [columns] 中设置 date_format）"
            ),
            (5, "`abc` 不是数字"),
            (6, "这一行有 2 个字段，表头有 4 个"),
            (
                7,
                "`12,50` 看起来用了小数逗号：请加上 --decimal-comma（或在 [source] 中写 `decimal = \",\"`）"
            ),
            (8, "`1e12` 过大（每行上限 1e9）"),
            (9, "缺少订单日期"),
            (10, "缺少金额"),
            (
                11,
                "这一行有 5 个字段，表头有 4 个（最后一个为空：行尾多了一个分隔符？）"
            ),
            (12, "`2024-01-10T25:00` 中的时刻不存在"),
            (
                13,
                "`0999-01-01` 不是日期（应为 YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD 或 ISO 日期时间；\
                 其他格式请加上 --date-format 或在 [columns] 中设置 date_format）"
            ),
            (
                14,
                "引号未闭合：第 14 行开始的引号始终没有闭合；已从下一行继续读取"
            ),
        ]
    );
    // no reason left without its Chinese, none left in English
    assert!(got.rejects.iter().all(|r| r.reason_zh != r.reason));
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.contains("缺少客户编号") && !text.contains("missing customer id"),
        "{text}"
    );
}

/// Rejects name the line a row starts on in files saved on Windows (`\r\n`), after blank
/// lines and after a quoted line break, whichever reader takes the file: the quote-free
/// splitter, the general parser (quotes) or the transcoding one (GBK).
#[test]
fn reject_lines_count_crlf_blank_lines_and_quoted_breaks() {
    let d = tempfile::tempdir().unwrap();
    let plain = "customer_id,order_date,amount\r\n1,2024-01-01,5\r\n\r\n2,2024-01-02,x\r\n\r\n\r\n3,bad,3\r\n";
    let quoted = "customer_id,order_date,amount,note\r\n1,2024-01-01,5,\"two\r\nlines\"\r\n\r\n2,2024-01-02,x,\r\n\r\n\r\n3,bad,3,\"\"\r\n";
    let cases = [
        (
            "plain.csv",
            plain.as_bytes().to_vec(),
            Encoding::Utf8,
            [4, 7],
        ),
        (
            "quoted.csv",
            quoted.as_bytes().to_vec(),
            Encoding::Utf8,
            [5, 8],
        ),
        (
            "gbk.csv",
            gbk(&quoted.replace("lines", "两行")),
            Encoding::Gbk,
            [5, 8],
        ),
    ];
    for (name, bytes, encoding, want) in cases {
        let p = write(d.path(), name, &bytes);
        let mut o = IngestOptions::new(vec![p]);
        o.csv.encoding = encoding;
        let got = load(&o, &NoProgress).unwrap();
        let lines: Vec<u64> = got.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, want, "{name}");
        assert_eq!(got.stats.accepted, 1, "{name}");
    }
}

#[test]
fn strict_stops_at_the_first_bad_row() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,5\n2,01/02/2024,5\n",
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.strict = true;
    assert_eq!(
        load(&o, &NoProgress).unwrap_err().to_string(),
        format!(
            "{}:3: column `order_date`: `01/02/2024` is not a date (expected YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an ISO datetime; \
             for others pass --date-format or set date_format in [columns]) (stopped because of --strict; without it the row is written to rejects.csv)",
            p.display()
        )
    );
}

#[test]
fn empty_file_missing_file_and_empty_dir() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "empty.csv", b"");
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}: the file is empty (no header line and no rows)",
            p.display()
        )
    );
    for blank in [&b"\n\n  \n"[..], b"\r\n \t\r\n"] {
        let p = write(d.path(), "blank.csv", blank);
        assert_eq!(
            run(&p).unwrap_err(),
            format!(
                "{}: the file is empty (no header line and no rows)",
                p.display()
            )
        );
    }
    let header_only = write(d.path(), "h.csv", b"customer_id,order_date,amount\n");
    assert_eq!(
        run(&header_only).unwrap_err(),
        format!(
            "no transaction rows in {}: there is a header line but no data rows",
            header_only.display()
        )
    );
    let missing = d.path().join("nope.csv");
    assert_eq!(
        run(&missing).unwrap_err(),
        format!("{}: no such file or directory", missing.display())
    );
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "notes.md", b"hi");
    assert_eq!(
        run(&sub).unwrap_err(),
        format!(
            "{}: directory has no data files (.csv, .txt, .tsv, .parquet)",
            sub.display()
        )
    );
    let pattern = d.path().join("*.parquet");
    assert_eq!(
        run(&pattern).unwrap_err(),
        format!("{}: no files match this pattern", pattern.display())
    );
}

#[test]
fn quoted_delimiters_bom_and_blank_lines() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        "\u{feff}customer_id,order_date,amount,category\n\"Smith, J\",2024-01-01T10:00:00,\"1,000\",\"Books, used\"\n\n   \n\"Smith, J\",2024-01-01 18:30,5,Books\n"
            .as_bytes(),
    );
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 2 = accepted 2 + rejected 0 (+ after as-of 0)"
    );
    assert_eq!(got.table.ids(), ["Smith, J"]);
    assert_eq!(
        got.table.floats("monetary").unwrap().to_vec(),
        [Some(1005.0)]
    );
    assert_eq!(got.table.ints("purchase_days").unwrap().to_vec(), [Some(1)]);
    assert_eq!(got.table.ints("categories").unwrap().to_vec(), [Some(2)]);
}

#[test]
fn unterminated_quote_is_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n\"1,2024-01-01,5\n2,2024-01-02,3\n",
    );
    // the csv parser reads to the end of file inside the quote: one short row, rejected
    let got = run(&p);
    match got {
        Ok(g) => assert_eq!(g.stats.rejected, 1),
        Err(e) => assert!(e.contains("a.csv"), "{e}"),
    }
}

#[test]
fn as_of_excludes_and_counts_later_rows_and_rejects_early_as_of() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,5\n1,2024-03-01,5\n2,2024-04-01,9\n",
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.as_of = clientele_core::Day::from_ymd(2024, 3, 1);
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 3 = accepted 3 + rejected 0 (+ after as-of 1)"
    );
    assert_eq!(got.table.ids(), ["1"]);
    o.as_of = clientele_core::Day::from_ymd(2023, 12, 31);
    assert_eq!(
        load(&o, &NoProgress).unwrap_err().to_string(),
        "as-of date 2023-12-31 is before the first order date in the data (2024-01-01): choose a later --as-of"
    );
}

fn rows(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("c{},2024-01-{:02},{}.5,Food\n", i % 13, 1 + i % 28, i))
        .collect()
}

fn reject(p: &Path, line: u64, column: &str, reason: &str, raw: &str) -> Reject {
    Reject {
        file: p.display().to_string(),
        line,
        column: column.into(),
        reason: reason.into(),
        reason_zh: String::new(),
        raw: raw.into(),
    }
}

/// The rejects without their Chinese reasons (the English ones are compared).
fn en(rejects: &[Reject]) -> Vec<Reject> {
    rejects
        .iter()
        .map(|r| Reject {
            reason_zh: String::new(),
            ..r.clone()
        })
        .collect()
}

/// A quote that is never closed no longer swallows the rest of the file into one field: its
/// row is rejected on the line where the quote opened and reading resumes on the next line.
#[test]
fn unclosed_quote_mid_file_rejects_its_line_and_reads_on() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "customer_id,order_date,amount,category\n{}c500,2024-01-03,10,\"Food\n{}",
        rows(3, 0),
        rows(1040, 3)
    );
    let p = write(d.path(), "a.csv", text.as_bytes());
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 1044 = accepted 1043 + rejected 1 (+ after as-of 0)"
    );
    assert_eq!(
        en(&got.rejects),
        [reject(
            &p,
            5,
            "",
            "unclosed quote: the quote opened on line 5 is never closed; reading resumed at the \
             next line",
            "c500,2024-01-03,10,\"Food"
        )]
    );
    // a later quoted field would close it: the row is rejected all the same
    let text = text.replace("c7,2024-01-08,7.5,Food", "c7,2024-01-08,\"7.5\",Food");
    let p = write(d.path(), "b.csv", text.as_bytes());
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 1044 = accepted 1043 + rejected 1 (+ after as-of 0)"
    );
    assert_eq!(
        got.rejects[0].reason,
        "unclosed quote: the quote opened on line 5 is not closed on that line, and the next \
         quote (line 10) is followed by `7`, not by a delimiter or a line end; reading resumed \
         at the next line"
    );
    // a quoted field that spans lines and is closed is one field
    let p = write(
        d.path(),
        "c.csv",
        b"customer_id,order_date,amount,category\n1,2024-01-01,5,\"two\nlines\"\n2,2024-01-02,3,x\n",
    );
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 2 = accepted 2 + rejected 0 (+ after as-of 0)"
    );
}

#[test]
fn rows_with_another_field_count_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,5\n2,2024-01-01,5,extra\n3,2024-01-01,5,\n4,2024-01-01\n",
    );
    let got = run(&p).unwrap();
    assert_eq!(
        en(&got.rejects),
        [
            reject(
                &p,
                3,
                "",
                "row has 4 fields, the header has 3",
                "2,2024-01-01,5,extra"
            ),
            reject(
                &p,
                4,
                "",
                "row has 4 fields, the header has 3 (the last is empty: a delimiter at the end \
                 of the line?)",
                "3,2024-01-01,5,"
            ),
            reject(
                &p,
                5,
                "",
                "row has 2 fields, the header has 3",
                "4,2024-01-01"
            ),
        ]
    );
    // a name with a space shifts the columns of a whitespace-separated file
    let p = write(
        d.path(),
        "a.txt",
        b"customer_id order_date amount\nAnn 2024-01-01 5\nJohn Smith 2024-01-02 7\n",
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.csv.delimiter = clientele_ingest::Delimiter::Whitespace;
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        en(&got.rejects),
        [reject(
            &p,
            3,
            "",
            "row has 4 fields, the header has 3 (a value with a space in it? \
             whitespace-separated files cannot quote values: use a delimited file)",
            "John Smith 2024-01-02 7"
        )]
    );
}

/// Old Mac files end lines with a lone `\r`: rejects name the lines an editor shows.
#[test]
fn lone_cr_line_ends_count_as_lines() {
    let d = tempfile::tempdir().unwrap();
    let text = "customer_id,order_date,amount\r1,2024-01-01,5\r\r2,2024-01-02,x\r3,2024-01-03,1\r";
    for (name, delimiter) in [
        ("a.csv", clientele_ingest::Delimiter::Byte(b',')),
        ("a.txt", clientele_ingest::Delimiter::Whitespace),
    ] {
        let t = if name == "a.txt" {
            text.replace(',', " ")
        } else {
            text.to_string()
        };
        let p = write(d.path(), name, t.as_bytes());
        let mut o = IngestOptions::new(vec![p.clone()]);
        o.csv.delimiter = delimiter;
        let got = load(&o, &NoProgress).unwrap();
        assert_eq!(
            got.stats.reconciliation(),
            "read 3 = accepted 2 + rejected 1 (+ after as-of 0)",
            "{name}"
        );
        assert_eq!(got.rejects[0].line, 4, "{name}");
    }
}

/// A stray byte that is not UTF-8 rejects its line (after the first 64 KiB too); a file that is
/// mostly in another encoding is refused with the encoding to use, Latin-1 told apart from GBK.
#[test]
fn bytes_not_in_the_encoding_are_rejects_or_a_refusal_with_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes =
        format!("customer_id,order_date,amount,category\n{}", rows(3000, 0)).into_bytes();
    assert!(bytes.len() > 64 * 1024);
    bytes.extend_from_slice(b"M\xfcller,2024-01-02,5,Food\n");
    bytes.extend_from_slice(rows(2, 0).as_bytes());
    let p = write(d.path(), "a.csv", &bytes);
    let got = run(&p).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 3003 = accepted 3002 + rejected 1 (+ after as-of 0)"
    );
    assert_eq!(
        en(&got.rejects),
        [reject(
            &p,
            3002,
            "",
            "bytes that are not valid UTF-8; the line looks like Windows-1252/Latin-1 (Western \
             European Excel export): if the file is, pass --encoding windows-1252",
            "M\u{fffd}ller,2024-01-02,5,Food"
        )]
    );
    // Latin-1 throughout: refused, with the encoding that reads it
    let latin = b"customer_id,order_date,amount\nM\xfcller,2024-01-02,5\nJos\xe9,2024-01-02,5\n";
    let p = write(d.path(), "l.csv", latin);
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}:2: text is not valid UTF-8; the file looks like Windows-1252/Latin-1 (Western \
             European Excel export): pass --encoding windows-1252 (or `encoding = \"windows-1252\"` \
             in [source])",
            p.display()
        )
    );
    let mut o = IngestOptions::new(vec![p]);
    o.csv.encoding = "latin1".parse().unwrap();
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(got.table.ids(), ["José", "Müller"]);
    // bytes a GBK file cannot hold: the row is rejected, not read as U+FFFD
    let mut g = gbk("customer_id,order_date,amount\n张三,2024-01-02,10\n李四,2024-01-02,10\n");
    g.extend_from_slice(b"\x81\x20,2024-01-02,10\n");
    let p = write(d.path(), "g.csv", &g);
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.csv.encoding = Encoding::Gbk;
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 3 = accepted 2 + rejected 1 (+ after as-of 0)"
    );
    assert_eq!(
        (got.rejects[0].line, got.rejects[0].reason.as_str()),
        (
            4,
            "bytes that are not valid GBK; the line looks like UTF-8: if the file is, pass \
             --encoding utf-8"
        )
    );
}

/// `12,50` was read as 1250 and `1.234,56` as 1.23456: without `decimal_comma` such values
/// are rejected with the option to pass; with it they read as written.
#[test]
fn decimal_commas_are_rejected_with_the_fix_or_read_when_declared() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id;order_date;amount\n1;2024-01-01;12,50\n2;2024-01-01;1.234,56\n3;2024-01-01;7\n",
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.csv.delimiter = clientele_ingest::Delimiter::Byte(b';');
    let got = load(&o, &NoProgress).unwrap();
    let hint =
        "looks like a decimal comma: pass --decimal-comma (or `decimal = \",\"` in [source])";
    assert_eq!(
        en(&got.rejects),
        [
            reject(
                &p,
                2,
                "amount",
                &format!("`12,50` {hint}"),
                "1;2024-01-01;12,50"
            ),
            reject(
                &p,
                3,
                "amount",
                &format!("`1.234,56` {hint}"),
                "2;2024-01-01;1.234,56"
            ),
        ]
    );
    o.decimal_comma = true;
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.table.floats("monetary").unwrap().to_vec(),
        [Some(12.5), Some(1234.56), Some(7.0)]
    );
}

#[test]
fn all_rows_rejected_names_the_first_and_where_the_rest_are() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,x\n2,2024-01-01,y\n",
    );
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "no valid transaction rows in {0}: all 2 rows were rejected; the first: {0}:2: \
             column `amount`: `x` is not a number",
            p.display()
        )
    );
    let mut o = IngestOptions::new(vec![p.clone()]);
    let rejects = d.path().join("rejects.csv");
    o.rejects_path = Some(rejects.clone());
    let e = load(&o, &NoProgress).unwrap_err().to_string();
    assert!(
        e.ends_with(&format!("(all of them are in {})", rejects.display())),
        "{e}"
    );
    assert!(rejects.exists());
}

#[test]
fn header_problems_name_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id;order_date;amount\n1;2024-01-01;5\n",
    );
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}: required column `customer_id` (customer_id) not found; columns found: \
             customer_id;order_date;amount. Map it with --customer-id-col NAME or \
             `customer_id = \"NAME\"` in the [columns] section of the config. The header looks \
             `;`-separated: pass --delimiter ';' (or `delimiter = \";\"` in [source])",
            p.display()
        )
    );
    let p = write(
        d.path(),
        "b.csv",
        b"customer_id,order_date,amount,note,Amount \n1,2024-01-01,5,x,6\n",
    );
    assert_eq!(
        run(&p).unwrap_err(),
        format!(
            "{}: columns 3 and 5 are both named `amount` (amount): rename one in the header, so \
             that it is clear which one holds the amount",
            p.display()
        )
    );
    // a name used twice that no field maps is left alone
    let p = write(
        d.path(),
        "c.csv",
        b"customer_id,order_date,amount,note,note\n1,2024-01-01,5,x,y\n",
    );
    assert_eq!(run(&p).unwrap().stats.accepted, 1);
}

#[test]
fn impossible_times_and_years_are_rejected_and_bad_formats_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.csv",
        b"customer_id,order_date,amount\n1,2024-01-01T25:00,5\n2,09991231,5\n3,2024-01-01T23:59,5\n",
    );
    let got = run(&p).unwrap();
    assert_eq!(
        en(&got.rejects),
        [
            reject(
                &p,
                2,
                "order_date",
                "`2024-01-01T25:00` has a time of day that does not exist",
                "1,2024-01-01T25:00,5"
            ),
            reject(
                &p,
                3,
                "order_date",
                "`09991231` is outside the years 1000 to 9999",
                "2,09991231,5"
            ),
        ]
    );
    let mut o = IngestOptions::new(vec![p]);
    o.columns.date_format = clientele_core::DateFormat::Custom("%d.%m.%Q".into());
    assert_eq!(
        load(&o, &NoProgress).unwrap_err().to_string(),
        "date format `%d.%m.%Q` has an unknown specifier `%Q`: fix --date-format (or \
         `date_format` in [columns]); e.g. `%d.%m.%Y` for 31.12.2024, `%m/%d/%Y %H:%M` for \
         12/31/2024 08:15"
    );
}

#[test]
fn a_file_named_twice_is_read_once_and_noted() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "orders.csv",
        b"customer_id,order_date,amount\n1,2024-01-01,5\n",
    );
    let o = IngestOptions::new(vec![d.path().to_path_buf(), p.clone()]);
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 1 = accepted 1 + rejected 0 (+ after as-of 0)"
    );
    assert_eq!(got.stats.files, [p.display().to_string()]);
    assert_eq!(got.stats.duplicates, [p.display().to_string()]);
}

/// UTF-8 decodes as GBK without an error (as mojibake): past the first 64 KiB, which are
/// checked up front, such rows are rejected by line, not read as other names.
#[test]
fn utf8_rows_in_a_gbk_file_after_64_kib_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = gbk(&format!(
        "customer_id,order_date,amount,category\n{}张三,2024-01-02,10,服装\n",
        rows(3000, 0)
    ));
    bytes.extend_from_slice("李四五,2024-01-02,10,食品\n".as_bytes());
    bytes.extend_from_slice(&gbk("王五,2024-01-03,10,服装\n"));
    let p = write(d.path(), "g.csv", &bytes);
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.csv.encoding = Encoding::Gbk;
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(
        got.stats.reconciliation(),
        "read 3003 = accepted 3002 + rejected 1 (+ after as-of 0)"
    );
    assert_eq!(
        (got.rejects[0].line, got.rejects[0].reason.as_str()),
        (
            3003,
            "bytes that are not valid GBK; the line looks like UTF-8: if the file is, pass \
             --encoding utf-8"
        )
    );
}

#[test]
fn a_far_future_typo_date_is_rejected_not_made_the_as_of_date() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("customer_id,order_date,amount\n");
    for i in 0..2000 {
        text.push_str(&format!(
            "c{},2023-{:02}-{:02},10\n",
            i % 300,
            1 + i % 12,
            1 + i % 28
        ));
    }
    text.push_str("c7,9999-12-31,10\nc8,2099-01-01,10\n");
    let p = write(d.path(), "orders.csv", text.as_bytes());
    let got = run(&p).unwrap();
    assert_eq!(got.as_of.to_string(), "2023-12-28");
    assert_eq!((got.stats.read, got.stats.rejected), (2002, 2));
    let r = &got.rejects[0];
    assert_eq!((r.line, r.column.as_str()), (2002, "order_date"));
    assert_eq!(
        r.reason,
        "order date 9999-12-31 lies far beyond the other order dates (the last plausible day \
         is 2024-12-28): a typo? If such dates are real, pass --as-of"
    );
    // dates that are real, with --as-of: kept
    let mut o = IngestOptions::new(vec![p.clone()]);
    o.as_of = Some(clientele_core::Day::parse_iso("9999-12-31").unwrap());
    let got = load(&o, &NoProgress).unwrap();
    assert_eq!(got.stats.rejected, 0);
    // a spread within a year is never implausible, however few rows
    let p = write(
        d.path(),
        "short.csv",
        b"customer_id,order_date,amount\na,2024-01-01,1\nb,2024-12-31,1\n",
    );
    assert_eq!(run(&p).unwrap().stats.rejected, 0);
}

#[test]
fn sums_past_i64_name_the_customer_or_are_kept_exact() {
    let d = tempfile::tempdir().unwrap();
    let big = |text: &mut String, id: &str, day: &str, amount: &str, n: usize| {
        for _ in 0..n {
            text.push_str(&format!("{id},{day},{amount}\n"));
        }
    };
    // one customer whose amounts sum past ±9.2e12: refused, naming the customer
    let mut text = String::from("customer_id,order_date,amount\nc1,2024-01-02,5\n");
    big(&mut text, "whale", "2024-01-03", "1000000000", 9300);
    let p = write(d.path(), "one.csv", text.as_bytes());
    let e = load(&IngestOptions::new(vec![p]), &NoProgress).unwrap_err();
    assert!(
        matches!(e, clientele_ingest::IngestError::TooLarge(_)),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("customer `whale`: the sum of its amounts passes ±9.2e12"),
        "{e}"
    );
    // sums that only a part of the data passes: exact, not an overflow (they panicked)
    let mut text = String::from("customer_id,order_date,amount\nc1,2024-01-02,5\n");
    // two return-only customers whose returns together pass i64
    big(&mut text, "r1", "2024-01-03", "-1000000000", 5000);
    big(&mut text, "r2", "2024-01-03", "-1000000000", 5000);
    // purchase days summing past i64, with a return-only day between them
    big(&mut text, "p1", "2024-01-04", "1000000000", 6000);
    big(&mut text, "p1", "2024-02-04", "-1000000000", 6000);
    big(&mut text, "p1", "2024-03-04", "1000000000", 6000);
    let p = write(d.path(), "parts.csv", text.as_bytes());
    let got = run(&p).unwrap();
    assert_eq!(got.stats.return_only_customers, 2);
    assert_eq!(got.stats.return_only_amount, -1e13);
    let row = got.table.ids().iter().position(|id| id == "p1").unwrap();
    let mv = got.table.floats("monetary_value").unwrap().get(row);
    assert_eq!(mv, Some(6e12));
}
