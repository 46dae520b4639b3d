//! Records of delimited text that holds no quote character, split in one scan.
//!
//! Without quotes, CSV is only terminators and delimiters, and the general parser's state
//! machine and per-record copying were most of the time of reading a CSV. The records are the
//! general parser's ([`crate::delimited`]) for such text: `\r`, `\n` and `\r\n` end a record,
//! empty records are skipped, and a record's line is that of its first byte (a lone `\r` is a
//! line break, as editors show it). Tests check the
//! fields against the `csv` crate.

/// One record: its text and where its delimiters are.
pub(crate) struct Record<'a> {
    pub text: &'a str,
    /// Byte offsets of the delimiters in `text`.
    delimiters: &'a [usize],
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.delimiters.len() + 1
    }

    /// Field `i` (`i < len()`).
    pub fn field(&self, i: usize) -> &'a str {
        let from = if i == 0 {
            0
        } else {
            self.delimiters[i - 1] + 1
        };
        let to = self.delimiters.get(i).copied().unwrap_or(self.text.len());
        self.text.get(from..to).unwrap_or_default()
    }
}

/// Whether [`each_record`] can split text with this delimiter: an ASCII byte that is not a
/// terminator or a quote.
pub(crate) fn splits_with(delimiter: u8) -> bool {
    delimiter.is_ascii() && !matches!(delimiter, b'\r' | b'\n' | b'"')
}

/// Calls `f` with each record of `text` (which holds no `"`) and its 1-based line number,
/// stopping at the first error. `delimiter` must pass [`splits_with`].
pub(crate) fn each_record<E>(
    text: &str,
    delimiter: u8,
    mut f: impl FnMut(u64, Record<'_>) -> Result<(), E>,
) -> Result<(), E> {
    debug_assert!(splits_with(delimiter));
    let b = text.as_bytes();
    let mut delimiters = Vec::with_capacity(64);
    let mut start = 0;
    let mut line = 1u64;
    // at each delimiter or terminator, in order
    let mut at = |i: usize| -> Result<(), E> {
        let c = b[i];
        if c == delimiter {
            delimiters.push(i - start);
            return Ok(());
        }
        if i > start {
            let text = text.get(start..i).unwrap_or_default();
            f(
                line,
                Record {
                    text,
                    delimiters: &delimiters,
                },
            )?;
        }
        delimiters.clear();
        // `\r\n` is one line break, a lone `\r` one too (old Mac files)
        line += u64::from(c == b'\n' || b.get(i + 1) != Some(&b'\n'));
        start = i + 1;
        Ok(())
    };
    // Eight bytes at a time: lines are short and fields shorter, so a search call per field
    // (memchr) cost more than this scan.
    let words = b.chunks_exact(8);
    let tail = words.remainder();
    let [d, n, r] = [delimiter, b'\n', b'\r'].map(|c| u64::from(c) * ONES);
    for (k, w) in words.enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        let x = u64::from_le_bytes(bytes);
        let mut m = zero_bytes(x ^ d) | zero_bytes(x ^ n) | zero_bytes(x ^ r);
        while m != 0 {
            at(k * 8 + (m.trailing_zeros() / 8) as usize)?;
            m &= m - 1;
        }
    }
    let base = b.len() - tail.len();
    for (j, &c) in tail.iter().enumerate() {
        if c == delimiter || c == b'\n' || c == b'\r' {
            at(base + j)?;
        }
    }
    if b.len() > start {
        let text = text.get(start..).unwrap_or_default();
        f(
            line,
            Record {
                text,
                delimiters: &delimiters,
            },
        )?;
    }
    Ok(())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each byte of `x` that is zero. Exact: no carry crosses a byte, as
/// `(x & 0x7F) + 0x7F` is at most 0xFE.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x | LOW7)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as (line, fields), by this splitter and by the `csv` crate.
    fn ours(text: &str, d: u8) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        each_record(text, d, |line, r| {
            out.push((line, (0..r.len()).map(|i| r.field(i).to_string()).collect()));
            Ok::<(), ()>(())
        })
        .unwrap();
        out
    }

    fn csv_crate(text: &str, d: u8) -> Vec<(u64, Vec<String>)> {
        crate::delimited::tests::csv_crate(text.as_bytes(), d)
            .into_iter()
            .map(|(line, f)| {
                (
                    line,
                    f.into_iter()
                        .map(|b| String::from_utf8(b).unwrap())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn splits_as_the_csv_crate() {
        let cases = [
            "",
            "a",
            "a,b,c\n1,2,3\n",
            "a,b,c\n1,2,3",
            "a,b\r\n1,2\r\n\r\n3,4\r\n",
            "\n\n,\n,,\n a , b \n",
            "a,b\r1,2\r\r3\n\n4",
            "x\n\r\n\r\r\ny,",
            "客户,日期\n张三,2024-01-01\n  \n李四,",
            ",,,",
            "\t\n \n",
        ];
        for text in cases {
            for d in [b',', b';', b'\t', b' ', b'|'] {
                assert_eq!(ours(text, d), csv_crate(text, d), "{text:?} split by {d}");
            }
        }
    }

    #[test]
    fn zero_bytes_are_exact() {
        for x in [
            0u64,
            1,
            0x0100,
            0x8000_0000_0000_0000,
            0x0001_0000_FF00_0180,
            u64::MAX,
        ] {
            let want = (0..8).fold(0u64, |m, k| {
                if (x >> (8 * k)) & 0xFF == 0 {
                    m | (0x80 << (8 * k))
                } else {
                    m
                }
            });
            assert_eq!(zero_bytes(x), want, "{x:#x}");
        }
    }

    proptest::proptest! {
        #[test]
        fn random_text_splits_as_the_csv_crate(
            text in "[a,;\t \r\né客]{0,80}",
            d in proptest::sample::select(vec![b',', b';', b'\t', b' ']),
        ) {
            proptest::prop_assert_eq!(ours(&text, d), csv_crate(&text, d));
        }
    }

    #[test]
    fn stops_at_the_first_error() {
        let mut seen = 0;
        let r = each_record("a\nb\nc\n", b',', |line, _| {
            seen += 1;
            if line == 2 { Err(line) } else { Ok(()) }
        });
        assert_eq!((r, seen), (Err(2), 2));
    }

    #[test]
    fn only_ascii_non_terminator_delimiters_split() {
        assert!(splits_with(b',') && splits_with(b'\t') && splits_with(b' '));
        assert!(!splits_with(b'\n') && !splits_with(b'\r') && !splits_with(b'"'));
        assert!(!splits_with(0xA3));
    }
}
