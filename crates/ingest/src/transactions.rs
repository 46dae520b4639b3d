//! Validated transaction rows, held compactly between the reading threads and the
//! per-customer aggregation ([`crate::accumulate`]).

use hashbrown::HashMap;
use std::hash::BuildHasher;

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
    pub order_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub profit: Option<i64>,
    pub quantity: Option<i64>,
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

/// Validated rows of one part of the input, column by column: ids in one string, order ids
/// as fingerprints, categories as indexes into this buffer's own list.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RowBuffer {
    ids: String,
    id_ends: Vec<usize>,
    pub id_hash: Vec<u64>,
    pub day: Vec<i32>,
    pub amount: Vec<i64>,
    pub order: Vec<u64>,
    pub category: Vec<u32>,
    pub categories: Vec<String>,
    category_index: HashMap<String, u32>,
    pub profit: Vec<i64>,
    pub quantity: Vec<i64>,
}

impl RowBuffer {
    pub fn len(&self) -> usize {
        self.day.len()
    }

    /// Customer id of row `i`.
    pub fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] };
        &self.ids[start..self.id_ends[i]]
    }

    fn category_ix(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.category_index.get(name) {
            return c;
        }
        let c = self.categories.len() as u32;
        self.categories.push(name.to_string());
        self.category_index.insert(name.to_string(), c);
        c
    }

    pub fn push(&mut self, r: Row<'_>) {
        self.ids.push_str(r.customer_id);
        self.id_ends.push(self.ids.len());
        self.id_hash.push(id_hash(r.customer_id));
        self.day.push(r.day);
        self.amount.push(r.amount);
        self.order
            .push(r.order_id.map_or(NO_ORDER, order_fingerprint));
        let c = r.category.map_or(NO_CATEGORY, |c| self.category_ix(c));
        self.category.push(c);
        self.profit.push(r.profit.unwrap_or(NO_VALUE));
        self.quantity.push(r.quantity.unwrap_or(NO_VALUE));
    }

    /// Appends `other`'s rows after these.
    pub fn append(&mut self, other: &RowBuffer) {
        let map: Vec<u32> = other
            .categories
            .iter()
            .map(|n| self.category_ix(n))
            .collect();
        let base = self.ids.len();
        self.ids.push_str(&other.ids);
        self.id_ends.extend(other.id_ends.iter().map(|e| e + base));
        self.id_hash.extend_from_slice(&other.id_hash);
        self.day.extend_from_slice(&other.day);
        self.amount.extend_from_slice(&other.amount);
        self.order.extend_from_slice(&other.order);
        self.category.extend(
            other
                .category
                .iter()
                .map(|&c| if c == NO_CATEGORY { c } else { map[c as usize] }),
        );
        self.profit.extend_from_slice(&other.profit);
        self.quantity.extend_from_slice(&other.quantity);
    }

    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        self.ids.clear();
        self.id_ends.clear();
        self.id_hash.clear();
        self.day.clear();
        self.amount.clear();
        self.order.clear();
        self.category.clear();
        self.categories.clear();
        self.category_index.clear();
        self.profit.clear();
        self.quantity.clear();
    }
}

/// Parses a money or quantity value: optional currency sign, thousands separators, a
/// trailing `%` is not allowed. Returns micro-units.
pub(crate) fn parse_scaled(s: &str) -> Result<i64, &'static str> {
    if let Some(v) = parse_decimal(s.as_bytes()) {
        return Ok(v);
    }
    let mut t = s.trim();
    for sym in ['¥', '￥', '$', '€', '£'] {
        if let Some(rest) = t.strip_prefix(sym) {
            t = rest.trim_start();
        }
        if let Some(rest) = t.strip_prefix('-').and_then(|r| r.strip_prefix(sym)) {
            // "-$5" → "-5"
            return parse_plain(&format!("-{}", rest.trim_start()));
        }
    }
    if t.contains(',') {
        return parse_plain(&t.replace(',', ""));
    }
    parse_plain(t)
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

fn parse_plain(t: &str) -> Result<i64, &'static str> {
    let v: f64 = t.parse().map_err(|_| "is not a number")?;
    to_scaled(v)
}

pub(crate) fn to_scaled(v: f64) -> Result<i64, &'static str> {
    if !v.is_finite() {
        return Err("is not a finite number");
    }
    if v.abs() > MAX_ABS_VALUE {
        return Err("is too large (limit 1e9 per row)");
    }
    Ok((v * MONEY_SCALE).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_fingerprints() {
        assert_eq!(order_fingerprint("9000001"), 9_000_001);
        assert_eq!(order_fingerprint("0"), 0);
        assert_ne!(order_fingerprint("09"), order_fingerprint("9"));
        assert_ne!(order_fingerprint("A9"), order_fingerprint("B9"));
        assert!(order_fingerprint("INV-1") >= 1 << 63);
        assert!(order_fingerprint("1234567890123456789") >= 1 << 63);
        assert_eq!(order_fingerprint("x"), order_fingerprint("x"));
    }

    #[test]
    fn money() {
        assert_eq!(parse_scaled("12.5"), Ok(12_500_000));
        assert_eq!(parse_scaled(" -3 "), Ok(-3_000_000));
        assert_eq!(parse_scaled("¥1,234.5"), Ok(1_234_500_000));
        assert_eq!(parse_scaled("-$5"), Ok(-5_000_000));
        assert_eq!(parse_scaled("1e3"), Ok(1_000_000_000));
        assert!(parse_scaled("abc").is_err());
        assert!(parse_scaled("NaN").is_err());
        assert!(parse_scaled("inf").is_err());
        assert!(parse_scaled("").is_err());
        assert!(parse_scaled("1e10").is_err());
        assert_eq!(parse_scaled("5."), Ok(5_000_000));
        assert_eq!(parse_scaled("-0"), Ok(0));
        assert_eq!(parse_scaled("1000000000"), Ok(1_000_000_000_000_000));
        assert!(parse_scaled("1000000000.000001").is_err());
        assert!(parse_scaled("-").is_err());
        assert!(parse_scaled("-.").is_err());
        assert!(parse_scaled("1.2.3").is_err());
    }

    /// The integer fast path gives what the float path gives, wherever it applies.
    fn via_float(s: &str) -> Result<i64, &'static str> {
        parse_plain(s.trim())
    }

    proptest::proptest! {
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
            proptest::prop_assert_eq!(parse_scaled(&s), via_float(&s), "{}", s);
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
            proptest::prop_assert_eq!(parse_scaled(&s), via_float(&s), "{}", s);
        }
    }
}
