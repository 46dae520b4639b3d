//! Validated transaction rows, held compactly between the reading threads and the
//! per-customer aggregation ([`crate::accumulate`]).

use std::hash::BuildHasher;

use clientele_core::Names;

/// Money and quantities are stored as integers of 1/1,000,000 so that sums are exact and do
/// not depend on row order or on how the work is split.
pub const MONEY_SCALE: f64 = 1_000_000.0;

/// Largest absolute value accepted (keeps any realistic sum inside i64).
pub(crate) const MAX_ABS_VALUE: f64 = 1e9;

/// `order` of a row without an order id.
pub(crate) const NO_ORDER: u64 = u64::MAX;
/// `category` of a row without a category.
pub(crate) const NO_CATEGORY: u32 = u32::MAX;
/// `profit` / `quantity` of a row without one.
pub(crate) const NO_VALUE: i64 = i64::MIN;

/// One valid row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub customer_id: &'a str,
    pub day: i32,
    pub amount: i64,
    /// [`order_fingerprint`] of the order id, `NO_ORDER` without one.
    pub order: u64,
    pub category: Category<'a>,
    pub profit: Option<i64>,
    pub quantity: Option<i64>,
}

/// A row's category.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Category<'a> {
    None,
    Name(&'a str),
    /// Already numbered in the receiving buffer's `categories`, valid until the buffer is
    /// cleared: a Parquet dictionary's values are numbered once per batch, not once per row.
    Number(u32),
}

impl<'a> From<Option<&'a str>> for Category<'a> {
    fn from(name: Option<&'a str>) -> Category<'a> {
        name.map_or(Category::None, Category::Name)
    }
}

/// Hash of a customer id, the same on every thread and every run.
pub(crate) fn id_hash(id: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x636c_6965_6e74).hash_one(id)
}

/// A 64-bit fingerprint of an order id, for counting distinct orders without keeping the ids.
/// Plain decimal ids (the usual case) map to their value, so they never collide; other ids
/// are hashed with the top bit set, and two different ids of one customer collide with
/// probability about 2^-63 per pair.
pub(crate) fn order_fingerprint(id: &str) -> u64 {
    let b = id.as_bytes();
    if !b.is_empty()
        && b.len() <= 18
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
    {
        return b.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
    }
    let h = foldhash::quality::FixedState::with_seed(0x006f_7264_6572).hash_one(id) | (1 << 63);
    if h == NO_ORDER { h - 1 } else { h }
}

/// [`order_fingerprint`] of a whole-number order id's decimal text, without writing it out.
pub(crate) fn order_fingerprint_of_number(v: i128) -> u64 {
    if (0..1_000_000_000_000_000_000).contains(&v) {
        return v as u64; // what the decimal text of up to 18 digits maps to
    }
    order_fingerprint(&v.to_string())
}

/// Shards of the per-customer fold ([`crate::accumulate`]): many, so that each shard's hash
/// table and customer states stay in cache while its rows are folded (with one shard per
/// thread, almost every row missed the cache twice). Results do not depend on the number;
/// debug builds use a few, so that tests with little data still spread over several.
pub(crate) const SHARDS: usize = if cfg!(debug_assertions) { 3 } else { 256 };

/// The shard of a customer-id hash.
pub(crate) fn shard_of(hash: u64) -> usize {
    ((hash >> 32) % SHARDS as u64) as usize
}

/// The first 8 bytes of an id, zero-padded, big-endian. An id of up to 8 bytes is its prefix
/// and length; comparing prefixes and then, on a tie, the whole ids gives byte-wise string
/// order with most comparisons on integers.
pub(crate) fn id_prefix(id: &str) -> u64 {
    let b = id.as_bytes();
    let mut k = [0u8; 8];
    let n = b.len().min(8);
    k[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(k)
}

/// One valid row as its shard folds it, 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Packed {
    pub hash: u64,
    pub prefix: u64,
    /// Length of the id; an id longer than 8 bytes is kept whole in the buffer's `long_ids`
    /// from `long_at`.
    pub len: u32,
    pub long_at: u32,
    pub day: i32,
    /// Index into the buffer's `categories`, or `NO_CATEGORY`.
    pub category: u32,
    pub amount: i64,
    pub order: u64,
    pub profit: i64,
    pub quantity: i64,
}

/// Validated rows of one part of the input, already split by the shard of their customer, so
/// that splitting happens on the reading threads while the rows are in cache.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowBuffer {
    /// Rows per shard, in input order within each.
    pub shards: Vec<Vec<Packed>>,
    long_ids: String,
    pub categories: Names,
    len: usize,
    /// Ids longer than 8 bytes add up to more than `long_at` can address (4 GiB).
    pub overflow: bool,
}

impl Default for RowBuffer {
    fn default() -> RowBuffer {
        RowBuffer {
            shards: vec![Vec::new(); SHARDS],
            long_ids: String::new(),
            categories: Names::default(),
            len: 0,
            overflow: false,
        }
    }
}

impl RowBuffer {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Customer id of a row of this buffer whose id is longer than 8 bytes (shorter ones are
    /// their prefix).
    pub fn long_id(&self, p: &Packed) -> &str {
        let start = p.long_at as usize;
        self.long_ids
            .get(start..start + p.len as usize)
            .unwrap_or_default()
    }

    pub fn push(&mut self, r: Row<'_>) {
        let id = r.customer_id;
        let hash = id_hash(id);
        let long_at = if id.len() > 8 {
            let at = self.long_ids.len();
            self.long_ids.push_str(id);
            self.overflow |= self.long_ids.len() > u32::MAX as usize;
            at as u32
        } else {
            0
        };
        let category = match r.category {
            Category::None => NO_CATEGORY,
            Category::Name(c) => self.categories.number(c),
            Category::Number(k) => k,
        };
        self.shards[shard_of(hash)].push(Packed {
            hash,
            prefix: id_prefix(id),
            len: id.len() as u32,
            long_at,
            day: r.day,
            category,
            amount: r.amount,
            order: r.order,
            profit: r.profit.unwrap_or(NO_VALUE),
            quantity: r.quantity.unwrap_or(NO_VALUE),
        });
        self.len += 1;
    }

    /// Appends `other`'s rows after these.
    pub fn append(&mut self, other: &RowBuffer) {
        let map = self.categories.numbers_of(&other.categories);
        let base = self.long_ids.len() as u32;
        self.long_ids.push_str(&other.long_ids);
        self.overflow |= other.overflow || self.long_ids.len() > u32::MAX as usize;
        for (mine, theirs) in self.shards.iter_mut().zip(&other.shards) {
            mine.extend(theirs.iter().map(|p| {
                let mut p = *p;
                if p.len > 8 {
                    p.long_at += base;
                }
                if p.category != NO_CATEGORY {
                    p.category = map[p.category as usize];
                }
                p
            }));
        }
        self.len += other.len;
    }

    /// Room for about `rows` more rows without growing: each shard's part, plus an eighth for
    /// the spread between shards. Growing a fresh buffer row by row copied each shard's rows
    /// several times over (only reserved, untouched memory costs nothing).
    pub fn reserve(&mut self, rows: usize) {
        let per_shard = rows / SHARDS;
        for s in &mut self.shards {
            s.reserve(per_shard + per_shard / 8 + 16);
        }
    }

    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        for s in &mut self.shards {
            s.clear();
        }
        self.long_ids.clear();
        self.categories.clear();
        self.len = 0;
        self.overflow = false;
    }
}

/// A reason fixed in both languages, for the per-row paths (nothing is formatted until a row
/// is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Said {
    pub en: &'static str,
    pub zh: &'static str,
}

impl Said {
    pub(crate) const fn new(en: &'static str, zh: &'static str) -> Said {
        Said { en, zh }
    }
}

/// Why a value that only reads with a decimal comma is rejected without one.
pub(crate) const DECIMAL_COMMA_HINT: Said = Said::new(
    "looks like a decimal comma: pass --decimal-comma (or `decimal = \",\"` in [source])",
    "看起来用了小数逗号：请加上 --decimal-comma（或在 [source] 中写 `decimal = \",\"`）",
);

const NOT_A_NUMBER: Said = Said::new("is not a number", "不是数字");

const NOT_GROUPED: Said = Said::new(
    "is not a number (with a decimal comma, `.` and spaces only group thousands)",
    "不是数字（使用小数逗号时，`.` 和空格只能作千位分隔）",
);

const NOT_FINITE: Said = Said::new("is not a finite number", "不是有限的数字");

/// Why a value past the limit of a row is rejected.
pub(crate) const TOO_LARGE: Said =
    Said::new("is too large (limit 1e9 per row)", "过大（每行上限 1e9）");

/// Parses a money or quantity value: optional currency sign, thousands separators, a
/// trailing `%` is not allowed. Returns micro-units. With `decimal_comma`, `,` is the decimal
/// separator and `.`, `'` or a space groups thousands; without it, `,` may only group
/// thousands (`1,234.5`), and a value such as `12,50`, `0,99` or `1.234,56` is rejected with
/// [`DECIMAL_COMMA_HINT`] instead of being read as 1250, 99 or 1.23456.
pub(crate) fn parse_scaled(s: &str, decimal_comma: bool) -> Result<i64, Said> {
    if !decimal_comma && let Some(v) = parse_decimal(s.as_bytes()) {
        return Ok(v);
    }
    let mut t = s.trim();
    for sym in ['¥', '￥', '$', '€', '£'] {
        if let Some(rest) = t.strip_prefix(sym) {
            t = rest.trim_start();
        }
        if let Some(rest) = t.strip_prefix('-').and_then(|r| r.strip_prefix(sym)) {
            // "-$5" → "-5"
            return parse_grouped(&format!("-{}", rest.trim_start()), decimal_comma);
        }
    }
    parse_grouped(t, decimal_comma)
}

/// Digits in groups of three after a first group of one to three (`1,234,567`), without the
/// separators; `None` for anything else.
fn ungroup(int: &str, separators: &[char]) -> Option<String> {
    let mut groups = int.split(separators);
    let first = groups.next()?;
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || first.len() > 3 {
        return None;
    }
    let mut out = first.to_string();
    for g in groups {
        if g.len() != 3 || !digits(g) {
            return None;
        }
        out.push_str(g);
    }
    Some(out)
}

/// [`parse_scaled`] after the currency sign.
fn parse_grouped(t: &str, decimal_comma: bool) -> Result<i64, Said> {
    let (sign, body) = match t.strip_prefix(['-', '+']) {
        Some(rest) => (&t[..1], rest),
        None => ("", t),
    };
    if decimal_comma {
        let (int, frac) = body.split_once(',').unwrap_or((body, ""));
        if frac.contains(',') {
            return Err(NOT_A_NUMBER);
        }
        const GROUPS: [char; 5] = ['.', ' ', '\'', '\u{a0}', '\u{202f}'];
        let int = if int.contains(GROUPS) {
            ungroup(int, &GROUPS).ok_or(NOT_GROUPED)?
        } else {
            int.to_string()
        };
        return parse_plain(&format!("{sign}{int}.{frac}"));
    }
    if !body.contains(',') {
        return parse_plain(t);
    }
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if !frac.contains(',')
        && let Some(int) = ungroup(int, &[','])
        && !(int.starts_with('0') && int.len() > 1)
    {
        return parse_plain(&format!("{sign}{int}.{frac}"));
    }
    // one comma followed by digits only, after digits or dot-grouped thousands
    let looks_comma = body.split_once(',').is_some_and(|(int, frac)| {
        let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
        digits(frac) && (digits(int) || ungroup(int, &['.']).is_some())
    });
    Err(if looks_comma {
        DECIMAL_COMMA_HINT
    } else {
        NOT_A_NUMBER
    })
}

/// The common case without going through `f64`: `[-]D[.D]` with at most 10 integer digits, at
/// most 6 decimals and a magnitude of at most 1e9. The result is the same as the float path's:
/// there the value is exact to within 0.25 micro-units (two roundings of relative size 2^-53
/// on at most 1e15 micro-units), so its rounding lands on the same integer. Anything else
/// (signs, symbols, separators, spaces, exponents, more decimals) returns `None`.
fn parse_decimal(b: &[u8]) -> Option<i64> {
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || int_len > 10 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in &b[..int_len] {
        v = v * 10 + i64::from(c - b'0');
    }
    let mut scale: i64 = 1_000_000;
    v *= scale;
    let rest = &b[int_len..];
    if let Some((&b'.', frac)) = rest.split_first() {
        if frac.len() > 6 {
            return None;
        }
        for &c in frac {
            if !c.is_ascii_digit() {
                return None;
            }
            scale /= 10;
            v += i64::from(c - b'0') * scale;
        }
    } else if !rest.is_empty() {
        return None;
    }
    if v > 1_000_000_000_000_000 {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_plain(t: &str) -> Result<i64, Said> {
    let v: f64 = t.parse().map_err(|_| NOT_A_NUMBER)?;
    to_scaled(v)
}

/// `v` in micro-units, rounded half away from zero.
#[inline]
pub(crate) fn to_scaled(v: f64) -> Result<i64, Said> {
    if !v.is_finite() {
        return Err(NOT_FINITE);
    }
    if v.abs() > MAX_ABS_VALUE {
        return Err(TOO_LARGE);
    }
    Ok(round_half_away(v * MONEY_SCALE))
}

/// [`to_scaled`] of every value, `None` when any is rejected: one tight loop over a column
/// instead of a call per row, which was a quarter of reading a Parquet file.
pub(crate) fn to_scaled_all(values: impl ExactSizeIterator<Item = f64>) -> Option<Vec<i64>> {
    let mut scaled = Vec::with_capacity(values.len());
    for v in values {
        scaled.push(to_scaled(v).ok()?);
    }
    Some(scaled)
}

/// `s.round() as i64` for `|s| < 2^52`, without the call to the software `round` that
/// `f64::round` becomes on baseline x86-64 (a visible share of reading Parquet amounts).
/// Exact: truncation is exact, and so is `s` minus its integer part in that range.
#[inline]
fn round_half_away(s: f64) -> i64 {
    let whole = s as i64;
    let frac = s - whole as f64;
    whole + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)
}

/// A buffer of one row of `id` on `day` (1 in money, no category, profit or quantity), for
/// the tests of the folds.
#[cfg(test)]
pub(crate) fn one_row(id: &str, day: i32, order: u64) -> RowBuffer {
    let mut b = RowBuffer::default();
    b.push(Row {
        customer_id: id,
        day,
        amount: 1_000_000,
        order,
        category: Category::None,
        profit: None,
        quantity: None,
    });
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_f64_round() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -2.5,
            0.49999999999999994,
            1e15,
            -1e15,
        ];
        let random = (0..200_000).map(|_| {
            let m = (next() % 2_000_000_000_000_000) as f64 / 1000.0 - 1e15;
            [m, m.trunc() + 0.5, m.trunc() - 0.5]
        });
        for s in edges.into_iter().chain(random.flatten()) {
            assert_eq!(round_half_away(s), s.round() as i64, "{s}");
        }
    }

    #[test]
    fn scaling_a_column_is_scaling_each_value() {
        let clean = [
            0.0,
            -0.0,
            19.18,
            -3.5,
            1e9,
            -1e9,
            0.0000005,
            123_456.789_012_5,
        ];
        let expected: Vec<i64> = clean.iter().map(|&v| to_scaled(v).unwrap_or(0)).collect();
        assert_eq!(to_scaled_all(clean.into_iter()), Some(expected));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e9 + 1.0, -2e9] {
            assert!(to_scaled(bad).is_err());
            assert_eq!(to_scaled_all([1.0, bad, 2.0].into_iter()), None, "{bad}");
        }
        assert_eq!(to_scaled_all(std::iter::empty()), Some(Vec::new()));
    }

    #[test]
    fn order_fingerprints() {
        assert_eq!(order_fingerprint("9000001"), 9_000_001);
        assert_eq!(order_fingerprint("0"), 0);
        assert_ne!(order_fingerprint("09"), order_fingerprint("9"));
        assert_ne!(order_fingerprint("A9"), order_fingerprint("B9"));
        assert!(order_fingerprint("INV-1") >= 1 << 63);
        assert!(order_fingerprint("1234567890123456789") >= 1 << 63);
        assert_eq!(order_fingerprint("x"), order_fingerprint("x"));
        for v in [
            0i128,
            7,
            9_000_001,
            999_999_999_999_999_999,
            1_000_000_000_000_000_000,
            -1,
            -9_000_001,
            i128::from(i64::MIN),
            i128::from(u64::MAX),
        ] {
            assert_eq!(
                order_fingerprint_of_number(v),
                order_fingerprint(&v.to_string()),
                "{v}"
            );
        }
    }

    #[test]
    fn money() {
        assert_eq!(parse_scaled("12.5", false), Ok(12_500_000));
        assert_eq!(parse_scaled(" -3 ", false), Ok(-3_000_000));
        assert_eq!(parse_scaled("¥1,234.5", false), Ok(1_234_500_000));
        assert_eq!(parse_scaled("-$5", false), Ok(-5_000_000));
        assert_eq!(parse_scaled("1e3", false), Ok(1_000_000_000));
        assert!(parse_scaled("abc", false).is_err());
        assert!(parse_scaled("NaN", false).is_err());
        assert!(parse_scaled("inf", false).is_err());
        assert!(parse_scaled("", false).is_err());
        assert!(parse_scaled("1e10", false).is_err());
        assert_eq!(parse_scaled("5.", false), Ok(5_000_000));
        assert_eq!(parse_scaled("-0", false), Ok(0));
        assert_eq!(parse_scaled("1000000000", false), Ok(1_000_000_000_000_000));
        assert!(parse_scaled("1000000000.000001", false).is_err());
        assert!(parse_scaled("-", false).is_err());
        assert!(parse_scaled("-.", false).is_err());
        assert!(parse_scaled("1.2.3", false).is_err());
    }

    #[test]
    fn decimal_commas_read_only_when_declared() {
        let dot = |s: &str| parse_scaled(s, false);
        let comma = |s: &str| parse_scaled(s, true);
        // thousands separators, as before
        assert_eq!(dot("1,234.56"), Ok(1_234_560_000));
        assert_eq!(dot("1,234"), Ok(1_234_000_000));
        assert_eq!(dot("-1,234,567"), Ok(-1_234_567_000_000));
        assert_eq!(dot("$1,000"), Ok(1_000_000_000));
        // values that only read with a decimal comma: rejected with the hint, not 1250 or 99
        for s in [
            "12,50", "0,99", "1.234,56", "-3,5", "0,999", "1,2345", "€12,5",
        ] {
            assert_eq!(dot(s), Err(DECIMAL_COMMA_HINT), "{s}");
        }
        for s in ["1,2,3", "12,", ",5", "1,234,5", "1.234.567"] {
            assert_eq!(dot(s), Err(NOT_A_NUMBER), "{s}");
        }
        // declared
        assert_eq!(comma("12,50"), Ok(12_500_000));
        assert_eq!(comma("0,99"), Ok(990_000));
        assert_eq!(comma("1.234,56"), Ok(1_234_560_000));
        assert_eq!(comma("-1 234 567,5"), Ok(-1_234_567_500_000));
        assert_eq!(comma("1'234,5"), Ok(1_234_500_000));
        assert_eq!(comma("1234"), Ok(1_234_000_000));
        assert_eq!(comma("1.234"), Ok(1_234_000_000));
        assert_eq!(comma("-$5,5"), Ok(-5_500_000));
        assert!(comma("12.5").is_err());
        assert!(comma("1,2,3").is_err());
        assert!(comma("abc").is_err());
    }

    /// The integer fast path gives what the float path gives, wherever it applies.
    fn via_float(s: &str) -> Result<i64, Said> {
        parse_plain(s.trim())
    }

    proptest::proptest! {
        /// Any text: a value or a reason, never a panic; a value within the limit.
        #[test]
        fn any_text_is_a_value_or_a_reason(s in "[-+0-9,.' $€eE\u{a0}a]{0,24}|\\PC{0,12}", comma in proptest::bool::ANY) {
            if let Ok(v) = parse_scaled(&s, comma) {
                proptest::prop_assert!(v.unsigned_abs() <= 1_000_000_000_000_000, "{}", s);
            }
        }

        /// A number written with a decimal comma and grouped thousands reads as its value.
        #[test]
        fn decimal_comma_reads_what_was_written(
            int in 0u64..1_000_000_000,
            cents in 0u32..100,
            sep in proptest::sample::select(vec![".", " ", "'", ""]),
            neg in proptest::bool::ANY,
        ) {
            let digits = int.to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push_str(sep);
                }
                grouped.push(c);
            }
            let s = format!("{}{grouped},{cents:02}", if neg { "-" } else { "" });
            let want = (int as i64 * 1_000_000 + i64::from(cents) * 10_000) * if neg { -1 } else { 1 };
            proptest::prop_assert_eq!(parse_scaled(&s, true), Ok(want), "{}", s);
            // without the option, never read as another number
            let plain = parse_scaled(&s, false);
            proptest::prop_assert!(plain.is_err() || plain == Ok(want), "{} {:?}", s, plain);
        }

        #[test]
        fn decimal_fast_path_matches_float(
            neg in proptest::bool::ANY,
            int in 0u64..=1_000_000_000,
            frac in 0u32..1_000_000,
            decimals in 0usize..=7,
        ) {
            let f = format!("{frac:06}");
            let s = match decimals {
                0 => format!("{}{int}", if neg { "-" } else { "" }),
                7 => format!("{}{int}.{f}1", if neg { "-" } else { "" }),
                d => format!("{}{int}.{}", if neg { "-" } else { "" }, &f[..d]),
            };
            proptest::prop_assert_eq!(parse_scaled(&s, false), via_float(&s), "{}", s);
        }

        #[test]
        fn decimal_fast_path_matches_float_small(
            neg in proptest::bool::ANY,
            int in 0u64..100_000,
            frac in 0u32..1_000_000,
            decimals in 1usize..=6,
        ) {
            let f = format!("{frac:06}");
            let s = format!("{}{int}.{}", if neg { "-" } else { "" }, &f[..decimals]);
            proptest::prop_assert_eq!(parse_scaled(&s, false), via_float(&s), "{}", s);
        }
    }
}
