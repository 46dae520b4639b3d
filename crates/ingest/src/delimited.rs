//! Delimited records, quotes and all, each with the line its first byte is on.
//!
//! The `csv` crate dates a record at the point where the previous one ended, before the blank
//! lines and the `\n` of a `\r\n` that come between them. In a file saved on Windows every
//! record after the first was then one line early, and more after blank lines, so rejects
//! named the wrong line. Here `csv_core` parses the records, the terminators between records
//! are skipped before a record starts, and lines are counted over every byte the parser takes,
//! line breaks inside quoted fields included. A lone `\r` (old Mac files) is a line break, as
//! editors show it.
//!
//! **Unclosed quotes.** A quoted field may hold line breaks, but a quote that is never closed
//! swallows every line after it into one field. So a record whose quoted field spans lines is
//! checked: when that quote is not closed before the end of the file, is closed by a quote
//! followed by anything but a delimiter or a line end, or is still open after
//! [`MAX_OPEN_QUOTE`] bytes, the record is given back as a bad record (the text from its
//! first line to the end of the line where the quote opened, with the reason) and reading
//! resumes at the line after the one where the quote opened.

use std::io::BufRead;

/// Bytes a quoted field that spans lines may hold before its quote counts as unclosed.
pub(crate) const MAX_OPEN_QUOTE: usize = 1 << 20;

/// Line breaks in `b`: every `\n`, and every `\r` not followed by `\n` (a lone `\r` ends a
/// line in old Mac files). `after_cr` says whether the byte before `b` was a `\r` (a `\n`
/// first in `b` then ends the same line) and is set to whether `b` ends with one.
pub(crate) fn line_breaks(b: &[u8], after_cr: &mut bool) -> u64 {
    let Some(&last) = b.last() else { return 0 };
    let mut n = memchr::memchr_iter(b'\n', b).count() as u64;
    if *after_cr && b[0] == b'\n' {
        n -= 1;
    }
    if memchr::memchr(b'\r', b).is_some() {
        n += memchr::memchr_iter(b'\r', b)
            .filter(|&i| b.get(i + 1) != Some(&b'\n'))
            .count() as u64;
        // a `\r` last in `b` was counted; the `\n` after it, in the next slice, is not
    }
    *after_cr = last == b'\r';
    n
}

/// Bytes given back to be read again, then the input.
struct Pushback<R> {
    front: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: BufRead> Pushback<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.at < self.front.len() {
            Ok(&self.front[self.at..])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.at < self.front.len() {
            self.at += n;
            if self.at >= self.front.len() {
                self.front.clear();
                self.at = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }

    /// Reads `b` again before the rest.
    fn unread(&mut self, b: &[u8]) {
        let mut front = b.to_vec();
        front.extend_from_slice(&self.front[self.at..]);
        self.front = front;
        self.at = 0;
    }
}

/// Records read from `input`.
pub(crate) struct Records<R> {
    core: csv_core::Reader,
    input: Pushback<R>,
    delimiter: u8,
    /// Line of the next byte (1-based).
    line: u64,
    /// The last byte taken was a `\r`.
    after_cr: bool,
    /// Bytes taken from `input`.
    consumed: u64,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The bytes of the record being read, as in the input.
    raw: Vec<u8>,
    /// Why the last record is bad (an unclosed quote), when it is.
    bad: String,
    /// The same in Chinese.
    bad_zh: String,
}

impl<R: std::fmt::Debug> std::fmt::Debug for Records<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("line", &self.line)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

/// An error reading the input, and the line it was on.
#[derive(Debug)]
pub(crate) struct ReadError {
    pub line: u64,
    pub error: std::io::Error,
}

/// One record: its fields' bytes (unquoted) and the line it starts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub line: u64,
    bytes: &'a [u8],
    ends: &'a [usize],
    /// A bad record (an unclosed quote): why. Its one field is the text of its lines.
    pub bad: Option<&'a str>,
    /// Why, in Chinese (empty for a good record).
    pub bad_zh: &'a str,
}

/// A record whose fields are UTF-8.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRecord<'a> {
    text: &'a str,
    ends: &'a [usize],
}

/// What is wrong with the quotes of a record's bytes (see the module documentation).
#[derive(Debug, PartialEq, Eq)]
enum QuoteProblem {
    /// The quote at this offset is not closed.
    Unclosed { open: usize },
    /// The quote at `open` spans lines and is closed at `close` by a quote followed by `next`.
    BadClose { open: usize, close: usize, next: u8 },
}

/// Checks the quotes of one record's bytes as `csv_core` reads them (a quote opens a field
/// only at its start, `""` inside is a quote). A quote closed on its own line and followed by
/// other text (`"a"b`) is left as `csv_core` reads it.
fn quote_problem(raw: &[u8], delimiter: u8) -> Option<QuoteProblem> {
    let mut at_start = true;
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if !(at_start && c == b'"') {
            at_start = c == delimiter || c == b'\n' || c == b'\r';
            i += 1;
            continue;
        }
        let open = i;
        let mut j = i + 1;
        loop {
            let Some(k) = memchr::memchr(b'"', &raw[j..]) else {
                return Some(QuoteProblem::Unclosed { open });
            };
            let q = j + k;
            if raw.get(q + 1) == Some(&b'"') {
                j = q + 2;
                continue;
            }
            match raw.get(q + 1) {
                None => at_start = false,
                Some(&n) if n == delimiter || n == b'\n' || n == b'\r' => at_start = true,
                Some(&next) if memchr::memchr2(b'\n', b'\r', &raw[open..q]).is_some() => {
                    return Some(QuoteProblem::BadClose {
                        open,
                        close: q,
                        next,
                    });
                }
                Some(_) => at_start = false,
            }
            i = q + 1 + usize::from(at_start && q + 1 < raw.len());
            break;
        }
    }
    None
}

impl<R: BufRead> Records<R> {
    pub fn new(delimiter: u8, input: R) -> Records<R> {
        Records {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            input: Pushback {
                front: Vec::new(),
                at: 0,
                inner: input,
            },
            delimiter,
            line: 1,
            after_cr: false,
            consumed: 0,
            out: vec![0; 1024],
            ends: vec![0; 32],
            raw: Vec::new(),
            bad: String::new(),
            bad_zh: String::new(),
        }
    }

    /// Numbers the lines from `line` (the input is the rest of a file).
    pub fn first_line(mut self, line: u64) -> Records<R> {
        self.line = line;
        self
    }

    /// Bytes read so far: after a record, where the text after it starts.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Takes `n` bytes of the input (kept in `raw` when `keep`).
    fn take(&mut self, n: usize, keep: bool) -> std::io::Result<()> {
        let buf = self.input.fill_buf()?;
        let taken = &buf[..n];
        self.line += line_breaks(taken, &mut self.after_cr);
        if keep {
            self.raw.extend_from_slice(taken);
        }
        self.input.consume(n);
        self.consumed += n as u64;
        Ok(())
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match self.read_next() {
            Ok(Some((line, len, fields, bad))) => Ok(Some(Record {
                line,
                bytes: &self.out[..len],
                ends: &self.ends[..fields],
                bad: bad.then_some(self.bad.as_str()),
                bad_zh: if bad { self.bad_zh.as_str() } else { "" },
            })),
            Ok(None) => Ok(None),
            Err(error) => Err(ReadError {
                line: self.line,
                error,
            }),
        }
    }

    /// Reads the next record into `out` and `ends`: its line, bytes and fields, and whether
    /// it is bad (`bad` says why). A line of spaces only is skipped as a blank line.
    fn read_next(&mut self) -> std::io::Result<Option<(u64, usize, usize, bool)>> {
        loop {
            let r = self.read_one()?;
            if let Some((_, len, 1, false)) = r
                && self.out[..len].iter().all(u8::is_ascii_whitespace)
            {
                continue;
            }
            return Ok(r);
        }
    }

    /// [`Records::read_next`], blank lines with spaces included.
    fn read_one(&mut self) -> std::io::Result<Option<(u64, usize, usize, bool)>> {
        // blank lines and the rest of the last record's terminator
        loop {
            let buf = self.input.fill_buf()?;
            let n = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            let rest = buf.len() - n;
            self.take(n, false)?;
            if rest > 0 || n == 0 {
                break;
            }
        }
        let line = self.line;
        self.raw.clear();
        let (mut len, mut fields) = (0, 0);
        let mut limit = MAX_OPEN_QUOTE;
        loop {
            let buf = self.input.fill_buf()?;
            let eof = buf.is_empty();
            let (res, nin, nout, nend) =
                self.core
                    .read_record(buf, &mut self.out[len..], &mut self.ends[fields..]);
            self.take(nin, true)?;
            len += nout;
            fields += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if self.raw.len() > limit {
                        limit = self.raw.len().saturating_mul(2);
                        if let Some(p) = quote_problem(&self.raw, self.delimiter)
                            && let Some(bad) = self.give_back(line, p, true)
                        {
                            return Ok(Some(bad));
                        }
                    }
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    let body = self.raw.trim_ascii_end();
                    let spans = memchr::memchr2(b'\n', b'\r', body).is_some();
                    if (spans || eof)
                        && let Some(p) = quote_problem(&self.raw, self.delimiter)
                        && let Some(bad) = self.give_back(line, p, false)
                    {
                        return Ok(Some(bad));
                    }
                    return Ok(Some((line, len, fields, false)));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// Makes the record that starts on `line` (its bytes in `raw`) a bad one up to the end of
    /// the line where its problem quote opened, and gives the bytes after that back to be read
    /// again. `open_only`: the record is unfinished, and only a quote still open that spans
    /// lines is a problem (`None` otherwise).
    fn give_back(
        &mut self,
        line: u64,
        p: QuoteProblem,
        open_only: bool,
    ) -> Option<(u64, usize, usize, bool)> {
        let raw = std::mem::take(&mut self.raw);
        let open = match p {
            QuoteProblem::Unclosed { open } => open,
            QuoteProblem::BadClose { open, .. } => open,
        };
        let opened_line = line + line_breaks(&raw[..open], &mut false);
        let line_end = memchr::memchr2(b'\n', b'\r', &raw[open..]).map(|k| open + k);
        if open_only && matches!(p, QuoteProblem::Unclosed { .. }) && line_end.is_none() {
            // one long line inside a quote: not known to be a problem yet
            self.raw = raw;
            return None;
        }
        let resume = line_end.map_or(raw.len(), |e| e + 1);
        (self.bad, self.bad_zh) = match p {
            QuoteProblem::Unclosed { .. } if open_only => (
                format!(
                    "unclosed quote: the quote opened on line {opened_line} is still open after \
                     {} MiB; reading resumed at the next line",
                    MAX_OPEN_QUOTE >> 20
                ),
                format!(
                    "引号未闭合：第 {opened_line} 行开始的引号在 {} MiB 之后仍未闭合；\
                     已从下一行继续读取",
                    MAX_OPEN_QUOTE >> 20
                ),
            ),
            QuoteProblem::Unclosed { .. } => (
                format!(
                    "unclosed quote: the quote opened on line {opened_line} is never closed; \
                     reading resumed at the next line"
                ),
                format!(
                    "引号未闭合：第 {opened_line} 行开始的引号始终没有闭合；已从下一行继续读取"
                ),
            ),
            QuoteProblem::BadClose { close, next, .. } => {
                let close_line = line + line_breaks(&raw[..close], &mut false);
                let next = char::from(next).escape_default();
                (
                    format!(
                        "unclosed quote: the quote opened on line {opened_line} is not closed on \
                         that line, and the next quote (line {close_line}) is followed by \
                         `{next}`, not by a delimiter or a line end; reading resumed at the next \
                         line"
                    ),
                    format!(
                        "引号未闭合：第 {opened_line} 行开始的引号没有在该行闭合，下一个引号\
                         （第 {close_line} 行）后面是 `{next}`，而不是分隔符或行尾；\
                         已从下一行继续读取"
                    ),
                )
            }
        };
        // the record's text up to the end of the quote's line, as its one field
        let text = &raw[..line_end.unwrap_or(raw.len())];
        let text = text.trim_ascii_end();
        if self.out.len() < text.len() {
            self.out.resize(text.len(), 0);
        }
        self.out[..text.len()].copy_from_slice(text);
        let len = text.len();
        self.ends[0] = len;
        self.input.unread(&raw[resume..]);
        self.consumed -= (raw.len() - resume) as u64;
        let mut after_cr = false;
        self.line = line + line_breaks(&raw[..resume], &mut after_cr);
        self.after_cr = after_cr;
        self.core.reset();
        self.raw = raw;
        self.raw.clear();
        Some((line, len, 1, true))
    }
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The fields' bytes, one after the other (for an error message).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Field `i` (`i < len()`).
    pub fn field(&self, i: usize) -> &'a [u8] {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[from..self.ends[i]]
    }

    /// The fields joined by `delimiter`, bytes that are not UTF-8 as U+FFFD.
    pub fn joined_lossy(&self, delimiter: u8) -> String {
        let mut b = Vec::with_capacity(self.bytes.len() + self.len());
        for i in 0..self.len() {
            if i > 0 {
                b.push(delimiter);
            }
            b.extend_from_slice(self.field(i));
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    /// The record as text, `None` when a field is not UTF-8.
    pub fn text(&self) -> Option<TextRecord<'a>> {
        let text = std::str::from_utf8(self.bytes).ok()?;
        // valid as a whole, but one field could end inside a character that the next begins
        self.ends
            .iter()
            .all(|&e| text.is_char_boundary(e))
            .then_some(TextRecord {
                text,
                ends: self.ends,
            })
    }
}

impl<'a> TextRecord<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i` (`i < len()`).
    pub fn field(&self, i: usize) -> &'a str {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(from..self.ends[i]).unwrap_or_default()
    }

    /// The fields, joined by `delimiter` (what a reject shows of the row).
    pub fn joined(&self, delimiter: u8) -> String {
        let mut s = String::with_capacity(self.text.len() + self.len());
        for i in 0..self.len() {
            if i > 0 {
                s.push(char::from(delimiter));
            }
            s.push_str(self.field(i));
        }
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// (line, fields) of every record; a bad record's one field is its reason.
    fn records(text: &[u8], d: u8, capacity: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut r = Records::new(d, std::io::BufReader::with_capacity(capacity, text));
        r.out = vec![0; 1];
        r.ends = vec![0; 1];
        let mut all = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let fields = match rec.bad {
                Some(why) => vec![why.as_bytes().to_vec()],
                None => (0..rec.len()).map(|i| rec.field(i).to_vec()).collect(),
            };
            all.push((rec.line, fields));
        }
        all
    }

    /// [`csv_crate`] without the lines of spaces only, which [`Records`] skips.
    fn csv_crate_records(text: &[u8], d: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut all = csv_crate(text, d);
        all.retain(|(_, f)| !(f.len() == 1 && f[0].iter().all(u8::is_ascii_whitespace)));
        all
    }

    /// The `csv` crate's fields, with the line of each record's first byte (the crate's own
    /// line is where the previous record ended). The reference for [`crate::unquoted`] too.
    pub(crate) fn csv_crate(text: &[u8], d: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        rdr.byte_records()
            .map(|r| {
                let r = r.unwrap();
                let mut start = r.position().unwrap().byte() as usize;
                while start < text.len() && matches!(text[start], b'\r' | b'\n') {
                    start += 1;
                }
                let line = 1 + line_breaks(&text[..start], &mut false);
                (line, r.iter().map(<[u8]>::to_vec).collect())
            })
            .collect()
    }

    #[test]
    fn lines_are_where_records_start() {
        let text = b"a,b\r\n1,2\r\n\r\n3,4\r\n\"x\ny\",5\n\n\n6";
        let got: Vec<u64> = records(text, b',', 3).iter().map(|r| r.0).collect();
        assert_eq!(got, [1, 2, 4, 5, 9]);
    }

    #[test]
    fn fields_are_the_csv_crate_s() {
        let cases: [&[u8]; 8] = [
            b"a\r\n \r\n\t\n1,2",
            b"",
            b"a,\"b,c\",\"d\"\"e\"\n\"multi\nline\",x\r\n",
            b"\n\n\"\",,\n",
            b"a;b\r1;2\r\r3",
            "客户,\"日期\"\n张三,\"2024-01-01\"".as_bytes(),
            b"a,\"b\"c,d\n",
            b"\xff,\"\xfe\"\n",
        ];
        for text in cases {
            for d in [b',', b';'] {
                for cap in [1, 2, 7, 8192] {
                    let ours = records(text, d, cap);
                    if ours
                        .iter()
                        .any(|(_, f)| f[0].starts_with(b"unclosed quote"))
                    {
                        continue; // e.g. `"multi\nline",x` split by `;`
                    }
                    assert_eq!(ours, csv_crate_records(text, d), "{text:?} {d} {cap}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_text_reads_as_the_csv_crate(text in "[a,\"\\r\\n é]{0,60}", cap in 1usize..16) {
            // where no quote is left open (or closed badly) across lines
            let ours = records(text.as_bytes(), b',', cap);
            if ours.iter().any(|(_, f)| f[0].starts_with(b"unclosed quote")) {
                return Ok(());
            }
            proptest::prop_assert_eq!(ours, csv_crate_records(text.as_bytes(), b','));
        }

        /// Any text reads to its end without an error, every record on a line of the text, in
        /// order, whatever the buffer size.
        #[test]
        fn any_bytes_read_to_the_end(
            text in proptest::collection::vec(proptest::sample::select(b"a,;\"\r\n \xd5\xc5".to_vec()), 0..200),
            cap in 1usize..16,
        ) {
            let got = records(&text, b',', cap);
            let lines = 1 + line_breaks(&text, &mut false);
            for w in got.windows(2) {
                proptest::prop_assert!(w[0].0 < w[1].0, "{:?}", got);
            }
            proptest::prop_assert!(got.iter().all(|r| r.0 <= lines));
            proptest::prop_assert_eq!(got, records(&text, b',', 8192));
        }
    }

    fn bad(line: u64, why: &str) -> (u64, Vec<Vec<u8>>) {
        (line, vec![why.as_bytes().to_vec()])
    }

    fn row(line: u64, fields: &[&str]) -> (u64, Vec<Vec<u8>>) {
        (line, fields.iter().map(|f| f.as_bytes().to_vec()).collect())
    }

    /// An unclosed quote is a bad record on its line; reading resumes on the next line.
    #[test]
    fn unclosed_quotes_are_bad_records_and_reading_resumes() {
        let never = "unclosed quote: the quote opened on line 2 is never closed; reading resumed \
                     at the next line";
        let text = b"a,b\n1,\"x\n2,y\n3,z\n";
        for cap in [1, 3, 8192] {
            assert_eq!(
                records(text, b',', cap),
                [
                    row(1, &["a", "b"]),
                    bad(2, never),
                    row(3, &["2", "y"]),
                    row(4, &["3", "z"])
                ]
            );
        }
        // closed by a later quote that is followed by text: not a field that spans lines
        let text = b"a,b\n1,\"x\n2,y\n3,\"z\"\n4,\"w\"\r\n";
        assert_eq!(
            records(text, b',', 4),
            [
                row(1, &["a", "b"]),
                bad(
                    2,
                    "unclosed quote: the quote opened on line 2 is not closed on that line, and \
                     the next quote (line 4) is followed by `z`, not by a delimiter or a line \
                     end; reading resumed at the next line"
                ),
                row(3, &["2", "y"]),
                row(4, &["3", "z"]),
                row(5, &["4", "w"]),
            ]
        );
        // the last line, without a line end
        assert_eq!(
            records(b"a\n\"b", b',', 2),
            [
                row(1, &["a"]),
                bad(
                    2,
                    "unclosed quote: the quote opened on line 2 is never closed; reading \
                     resumed at the next line"
                )
            ]
        );
        // a quoted line break that is closed stays one field; lone `\r` counts as a line
        assert_eq!(
            records(b"\"a\nb\",c\r1,\"2\r3\"\r4,5", b',', 2),
            [
                row(1, &["a\nb", "c"]),
                row(3, &["1", "2\r3"]),
                row(5, &["4", "5"])
            ]
        );
    }

    #[test]
    fn an_open_quote_past_the_limit_is_bad() {
        let mut text = b"a\n\"x\n".to_vec();
        text.extend(std::iter::repeat_n(b"1,2\n".as_slice(), MAX_OPEN_QUOTE / 3).flatten());
        let mut r = Records::new(b',', std::io::BufReader::new(text.as_slice()));
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push((rec.line, rec.bad.map(str::to_string)));
        }
        assert_eq!(got.len(), 2 + MAX_OPEN_QUOTE / 3);
        assert_eq!(
            got[1],
            (
                2,
                Some(
                    "unclosed quote: the quote opened on line 2 is still open after 1 MiB; \
                     reading resumed at the next line"
                        .into()
                )
            )
        );
        assert_eq!(got.last(), Some(&(2 + MAX_OPEN_QUOTE as u64 / 3, None)));
    }

    #[test]
    fn line_breaks_count_lone_cr() {
        for (text, want) in [
            (&b""[..], 0),
            (b"a\nb", 1),
            (b"a\r\nb\r\n", 2),
            (b"a\rb\r", 2),
            (b"\r\r\n\n", 3),
        ] {
            assert_eq!(line_breaks(text, &mut false), want, "{text:?}");
            // split anywhere, with the state carried over
            for k in 0..=text.len() {
                let mut cr = false;
                let n = line_breaks(&text[..k], &mut cr) + line_breaks(&text[k..], &mut cr);
                assert_eq!(n, want, "{text:?} at {k}");
            }
        }
    }

    #[test]
    fn text_needs_every_field_utf8() {
        let mut r = Records::new(b',', "é,\"客\"".as_bytes());
        let rec = r.next_record().unwrap().unwrap();
        let t = rec.text().unwrap();
        assert_eq!(
            (t.field(0), t.field(1), t.joined(b';')),
            ("é", "客", "é;客".into())
        );
        // "é" is C3 A9: split by a delimiter, each field is invalid, the joined bytes are not
        let mut r = Records::new(b',', &b"\xC3,\xA9"[..]);
        assert!(r.next_record().unwrap().unwrap().text().is_none());
    }
}
