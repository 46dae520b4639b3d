//! Delimited records, quotes and all, each with the line its first byte is on.
//!
//! The `csv` crate dates a record at the point where the previous one ended, before the blank
//! lines and the `\n` of a `\r\n` that come between them. In a file saved on Windows every
//! record after the first was then one line early, and more after blank lines, so rejects
//! named the wrong line. Here `csv_core` parses the records, the terminators between records
//! are skipped before a record starts, and lines are counted over every byte the parser takes,
//! line breaks inside quoted fields included.

use std::io::BufRead;

/// Records read from `input`.
pub(crate) struct Records<R> {
    core: csv_core::Reader,
    input: R,
    /// Line of the next byte (1-based).
    line: u64,
    /// Bytes taken from `input`.
    consumed: u64,
    out: Vec<u8>,
    ends: Vec<usize>,
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
}

/// A record whose fields are UTF-8.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRecord<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<R: BufRead> Records<R> {
    pub fn new(delimiter: u8, input: R) -> Records<R> {
        Records {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            input,
            line: 1,
            consumed: 0,
            out: vec![0; 1024],
            ends: vec![0; 32],
        }
    }

    /// Bytes read so far: after a record, where the text after it starts.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    fn take(&mut self, n: usize) -> std::io::Result<()> {
        let buf = self.input.fill_buf()?;
        self.line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.input.consume(n);
        self.consumed += n as u64;
        Ok(())
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match self.read_next() {
            Ok(Some((line, len, fields))) => Ok(Some(Record {
                line,
                bytes: &self.out[..len],
                ends: &self.ends[..fields],
            })),
            Ok(None) => Ok(None),
            Err(error) => Err(ReadError {
                line: self.line,
                error,
            }),
        }
    }

    /// Reads the next record into `out` and `ends`: its line, bytes and fields.
    fn read_next(&mut self) -> std::io::Result<Option<(u64, usize, usize)>> {
        // blank lines and the rest of the last record's terminator
        loop {
            let buf = self.input.fill_buf()?;
            let n = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            let rest = buf.len() - n;
            self.take(n)?;
            if rest > 0 || n == 0 {
                break;
            }
        }
        let line = self.line;
        let (mut len, mut fields) = (0, 0);
        loop {
            let buf = self.input.fill_buf()?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(buf, &mut self.out[len..], &mut self.ends[fields..]);
            self.take(nin)?;
            len += nout;
            fields += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => return Ok(Some((line, len, fields))),
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
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

    /// (line, fields) of every record.
    fn records(text: &[u8], d: u8, capacity: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut r = Records::new(d, std::io::BufReader::with_capacity(capacity, text));
        r.out = vec![0; 1];
        r.ends = vec![0; 1];
        let mut all = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let fields = (0..rec.len()).map(|i| rec.field(i).to_vec()).collect();
            all.push((rec.line, fields));
        }
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
                let line = 1 + text[..start].iter().filter(|&&c| c == b'\n').count() as u64;
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
            b"",
            b"a,\"b,c\",\"d\"\"e\"\n\"multi\nline\",x\r\n",
            b"\n\n\"\",,\n",
            b"a;b\r1;2\r\r3",
            "客户,\"日期\"\n张三,\"2024-01-01\"".as_bytes(),
            b"x,\"unterminated\n",
            b"a,\"b\"c,d\n",
            b"\xff,\"\xfe\"\n",
        ];
        for text in cases {
            for d in [b',', b';'] {
                for cap in [1, 2, 7, 8192] {
                    assert_eq!(
                        records(text, d, cap),
                        csv_crate(text, d),
                        "{text:?} {d} {cap}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_text_reads_as_the_csv_crate(text in "[a,\"\\r\\n é]{0,60}", cap in 1usize..16) {
            proptest::prop_assert_eq!(records(text.as_bytes(), b',', cap), csv_crate(text.as_bytes(), b','));
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
