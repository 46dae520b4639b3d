//! Lines of a file declared in a legacy encoding (GBK, Windows-1252) whose bytes are UTF-8.
//!
//! Those encodings read UTF-8 bytes without an error, as mojibake (`å¼ ä¸‰` for 张三), so the
//! decoder cannot catch them. The raw bytes are looked at on their way to the decoder, line by
//! line: a line that is valid UTF-8 with at least two characters of three or more bytes (two
//! Chinese characters, say) is UTF-8; GBK text forms such sequences only by rare accident.
//! Windows-1252 text is valid UTF-8 only as mojibake, so there any valid non-ASCII line is.
//! Lines are counted as [`crate::delimited`] counts them (a lone `\r` ends one too), so the
//! reader can reject the row that starts on such a line.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The lines found, in order.
#[derive(Debug, Default)]
pub(crate) struct Utf8Lines {
    any: AtomicBool,
    lines: Mutex<Vec<u64>>,
}

impl Utf8Lines {
    /// Whether line `line` (1-based) was found to be UTF-8. Lines are looked at before the
    /// reader sees them (the decoder reads ahead of it).
    pub fn has(&self, line: u64) -> bool {
        self.any.load(Ordering::Relaxed)
            && self
                .lines
                .lock()
                .is_ok_and(|l| l.binary_search(&line).is_ok())
    }

    fn add(&self, line: u64) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
            self.any.store(true, Ordering::Relaxed);
        }
    }
}

/// Passes `inner`'s bytes through, noting the lines that are UTF-8 in `found`.
pub(crate) struct Sniff<R> {
    inner: R,
    /// Line of the next byte.
    line: u64,
    /// The bytes of the current line so far.
    cur: Vec<u8>,
    after_cr: bool,
    /// Lines need two characters of three bytes or more (GBK; else any non-ASCII character).
    cjk: bool,
    found: Arc<Utf8Lines>,
}

impl<R> Sniff<R> {
    pub fn new(inner: R, cjk: bool, found: Arc<Utf8Lines>) -> Sniff<R> {
        Sniff {
            inner,
            line: 1,
            cur: Vec::new(),
            after_cr: false,
            cjk,
            found,
        }
    }

    fn end_line(&mut self) {
        if looks_utf8(&self.cur, self.cjk) {
            self.found.add(self.line);
        }
        self.cur.clear();
    }

    fn scan(&mut self, mut b: &[u8]) {
        while let Some(i) = memchr::memchr2(b'\n', b'\r', b) {
            self.cur.extend_from_slice(&b[..i]);
            let crlf_end = b[i] == b'\n' && i == 0 && self.after_cr;
            if !crlf_end {
                self.end_line();
                self.line += 1;
            }
            self.after_cr = b[i] == b'\r';
            b = &b[i + 1..];
        }
        if !b.is_empty() {
            self.after_cr = false;
            self.cur.extend_from_slice(b);
        }
    }
}

/// Valid UTF-8 with a non-ASCII character; with `cjk`, two of three or four bytes.
fn looks_utf8(line: &[u8], cjk: bool) -> bool {
    !line.is_ascii()
        && (!cjk || line.iter().filter(|&&b| b >= 0xE0).nth(1).is_some())
        && std::str::from_utf8(line).is_ok()
}

impl<R: Read> Read for Sniff<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.end_line();
        } else {
            self.scan(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_utf8_lines_in_any_split() {
        let gbk = encoding_rs::GBK.encode("张三,李四\n").0.into_owned();
        let mut text = gbk.clone();
        text.extend_from_slice("a\r\n张三,1\r王\n".as_bytes());
        text.extend_from_slice(&gbk);
        text.extend_from_slice("b\r李四".as_bytes());
        for chunk in [1, 2, 5, 1000] {
            let found = Arc::new(Utf8Lines::default());
            let mut s = Sniff::new(&text[..], true, Arc::clone(&found));
            let mut buf = vec![0; chunk];
            while s.read(&mut buf).unwrap_or(0) > 0 {}
            assert_eq!(
                *found.lines.lock().unwrap_or_else(|e| e.into_inner()),
                [3, 7],
                "{chunk}"
            );
            assert!(found.has(3) && !found.has(1) && !found.has(4));
        }
    }
}
