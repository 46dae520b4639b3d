//! A text column stored as its distinct values plus one code per row.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Names;

/// The code of a missing value.
const MISSING: u32 = u32::MAX;

/// Values of one text column, missing ones marked.
///
/// Stored as the distinct values (`labels`, in first-seen order) and one `u32` code per row.
/// Text columns of the customer table are categories, grades, segments and stages: a few
/// distinct values over millions of customers. One `String` per row was a heap allocation
/// per customer, paid again by every copy, and written out value by value; codes are 4
/// bytes, copied in one go, and are the dictionary Parquet stores anyway.
#[derive(Clone, Default)]
pub struct Texts {
    labels: Vec<String>,
    codes: Vec<u32>,
}

impl Texts {
    /// A column of `codes` into `labels`, `None` for missing. `None` when a code is out of
    /// range or there are `u32::MAX` labels or more.
    pub fn from_codes(
        labels: Vec<String>,
        codes: impl IntoIterator<Item = Option<u32>>,
    ) -> Option<Texts> {
        if labels.len() >= MISSING as usize {
            return None;
        }
        let n = labels.len() as u32;
        let codes = codes
            .into_iter()
            .map(|c| match c {
                None => Some(MISSING),
                Some(c) if c < n => Some(c),
                Some(_) => None,
            })
            .collect::<Option<Vec<u32>>>()?;
        Some(Texts { labels, codes })
    }

    /// No rows yet, `labels` to code them with and room for `rows` codes: a column read back
    /// from disk a batch at a time by [`Texts::extend_codes`], each batch let go before the
    /// next is read. `None` with `u32::MAX` labels or more.
    pub fn with_labels(labels: Vec<String>, rows: usize) -> Option<Texts> {
        (labels.len() < MISSING as usize).then(|| Texts {
            labels,
            codes: Vec::with_capacity(rows),
        })
    }

    /// Appends a piece of plain codes, with which of its rows hold one (`None`: all of them),
    /// without an option per row. False, and nothing appended, when a code is out of range or
    /// the flags are not one per code.
    pub fn extend_codes(&mut self, piece: &[u32], valid: Option<&[bool]>) -> bool {
        let n = self.labels.len() as u32;
        match valid {
            None => {
                if piece.iter().any(|&c| c >= n) {
                    return false;
                }
                self.codes.extend_from_slice(piece);
            }
            Some(valid) => {
                let in_range = |(&c, &ok): (&u32, &bool)| !ok || c < n;
                if valid.len() != piece.len() || !piece.iter().zip(valid).all(in_range) {
                    return false;
                }
                let code = |(&c, &ok): (&u32, &bool)| if ok { c } else { MISSING };
                self.codes.extend(piece.iter().zip(valid).map(code));
            }
        }
        true
    }

    /// Row `i` is `labels[indices[i]]` (`None`: missing): the column that collecting those
    /// strings makes, its labels numbered by first appearance as there, without hashing or
    /// copying each row's text (grades, segments and stages of millions of customers, each
    /// one of a few labels). Panics when an index is out of range, like indexing.
    pub fn from_indices<S: AsRef<str>>(
        labels: &[S],
        indices: impl IntoIterator<Item = Option<usize>>,
    ) -> Texts {
        // equal labels share a number, as collecting their strings would give them
        let mut names = Names::default();
        let same: Vec<u32> = labels.iter().map(|l| names.number(l.as_ref())).collect();
        let names = names.into_list();
        let mut code_of = vec![MISSING; names.len()];
        let mut used: Vec<String> = Vec::new();
        let codes = indices
            .into_iter()
            .map(|i| {
                let Some(i) = i else { return MISSING };
                let name = same[i] as usize;
                if code_of[name] == MISSING {
                    code_of[name] = used.len() as u32;
                    used.push(names[name].clone());
                }
                code_of[name]
            })
            .collect();
        Texts {
            labels: used,
            codes,
        }
    }

    /// Number of values (rows).
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Value `i`, `None` when missing. Panics when `i` is out of range, like indexing.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.label(self.codes[i])
    }

    /// The values in row order, `None` where missing.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&str>> + DoubleEndedIterator {
        self.codes.iter().map(|&c| self.label(c))
    }

    /// The distinct values, in first-seen order (a value may also be unused after `take`).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Row `i`'s index into [`Texts::labels`], `None` when missing.
    pub fn code(&self, i: usize) -> Option<u32> {
        Some(self.codes[i]).filter(|&c| c != MISSING)
    }

    /// Rows per label, by code (0 for a label no row uses any more, after `take`): what
    /// grouping by value needs, without hashing each row's text.
    pub fn counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.labels.len()];
        for &c in &self.codes {
            if c != MISSING {
                n[c as usize] += 1;
            }
        }
        n
    }

    /// Number of missing values.
    pub fn missing(&self) -> usize {
        self.codes.iter().filter(|&&c| c == MISSING).count()
    }

    /// Keeps the values at `idx`, in that order (the labels are kept as they are).
    pub fn take(&self, idx: &[usize]) -> Texts {
        Texts {
            labels: self.labels.clone(),
            codes: idx.iter().map(|&i| self.codes[i]).collect(),
        }
    }

    /// The same values with every missing one read as `filler`: a column with no gaps, as a
    /// snapshot keeps its grades.
    pub fn filled(&self, filler: &str) -> Texts {
        if self.missing() == 0 {
            return self.clone();
        }
        let mut labels = self.labels.clone();
        let at = match labels.iter().position(|l| l == filler) {
            Some(i) => i as u32,
            None => {
                labels.push(filler.to_string());
                (labels.len() - 1) as u32
            }
        };
        let codes = self
            .codes
            .iter()
            .map(|&c| if c == MISSING { at } else { c })
            .collect();
        Texts { labels, codes }
    }

    /// The values as owned strings.
    pub fn to_vec(&self) -> Vec<Option<String>> {
        self.iter().map(|s| s.map(str::to_string)).collect()
    }

    fn label(&self, c: u32) -> Option<&str> {
        (c != MISSING).then(|| self.labels[c as usize].as_str())
    }
}

/// The labels are numbered as they first appear, one lookup per value.
impl<S: AsRef<str>> FromIterator<Option<S>> for Texts {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(iter: I) -> Texts {
        let mut labels = Names::default();
        let codes = iter
            .into_iter()
            .map(|v| v.map_or(MISSING, |s| labels.number(s.as_ref())))
            .collect();
        Texts {
            labels: labels.into_list(),
            codes,
        }
    }
}

impl From<Vec<Option<String>>> for Texts {
    fn from(v: Vec<Option<String>>) -> Texts {
        v.into_iter().collect()
    }
}

impl From<Vec<Option<&str>>> for Texts {
    fn from(v: Vec<Option<&str>>) -> Texts {
        v.into_iter().collect()
    }
}

/// Equal when the values are, whatever the labels' order.
impl PartialEq for Texts {
    fn eq(&self, other: &Texts) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// The values, as a list: like equality, it does not depend on the labels' order.
impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Texts {
    /// As a list with `null` for missing values.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Texts, D::Error> {
        Vec::<Option<String>>::deserialize(d).map(Texts::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_coded_once_and_read_back() {
        let t: Texts = vec![Some("VIP"), None, Some("普通"), Some("VIP")].into();
        assert_eq!(t.labels(), ["VIP", "普通"]);
        assert_eq!(t.len(), 4);
        assert_eq!(t.get(2), Some("普通"));
        assert_eq!(t.code(3), Some(0));
        assert_eq!(t.code(1), None);
        assert_eq!(t.missing(), 1);
        assert_eq!(t.counts(), [2, 1]);
        assert_eq!(t.take(&[0]).counts(), [1, 0]);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [Some("VIP"), None, Some("普通"), Some("VIP")]
        );
        assert_eq!(t.take(&[3, 1]).to_vec(), [Some("VIP".to_string()), None]);
        let f = t.filled("");
        assert_eq!(f.missing(), 0);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [Some("VIP"), Some(""), Some("普通"), Some("VIP")]
        );
        assert_eq!(t.take(&[0, 2]).filled("VIP").labels(), ["VIP", "普通"]);
    }

    proptest::proptest! {
        /// The labels in the same order and the same codes as collecting the strings.
        #[test]
        fn from_indices_is_collecting_the_labels(
            labels in proptest::collection::vec("[ab]{0,2}", 1..6),
            picks in proptest::collection::vec(proptest::option::of(0usize..6), 0..40),
        ) {
            let indices: Vec<Option<usize>> =
                picks.iter().map(|p| p.map(|i| i % labels.len())).collect();
            let got = Texts::from_indices(&labels, indices.iter().copied());
            let want: Texts = indices.iter().map(|i| i.map(|i| labels[i].as_str())).collect();
            proptest::prop_assert_eq!(got.labels(), want.labels());
            proptest::prop_assert_eq!(&got.codes, &want.codes);
        }
    }

    #[test]
    fn codes_in_pieces_are_the_codes_as_options() {
        let labels = || vec!["a".to_string(), "b".to_string()];
        let gaps = [true, false, true];
        let mut got = Texts::with_labels(labels(), 0).unwrap_or_default();
        assert!(got.extend_codes(&[1, 0], None));
        assert!(got.extend_codes(&[0, 7, 1], Some(&gaps)));
        let want = Texts::from_codes(labels(), [Some(1), Some(0), Some(0), None, Some(1)]);
        assert_eq!(Some(&got.codes), want.as_ref().map(|t| &t.codes));
        assert!(!got.extend_codes(&[0], Some(&[])));
    }

    #[test]
    fn a_refused_piece_leaves_the_column_as_it_was() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let mut t = Texts::with_labels(labels.clone(), 4).unwrap_or_default();
        assert!(t.extend_codes(&[1], None));
        assert!(!t.extend_codes(&[0, 2], None));
        assert!(!t.extend_codes(&[0, 5], Some(&[true, true])));
        assert!(!t.extend_codes(&[0], Some(&[true, false])));
        assert!(t.extend_codes(&[0, 5], Some(&[true, false])));
        assert_eq!(Some(t), Texts::from_codes(labels, [Some(1), Some(0), None]));
    }

    #[test]
    fn equality_is_by_value_not_by_label_order() {
        let a: Texts = vec![Some("a"), Some("b")].into();
        let b = Texts::from_codes(vec!["b".into(), "a".into()], vec![Some(1), Some(0)]);
        assert_eq!(Some(a), b);
        assert!(Texts::from_codes(vec!["a".into()], vec![Some(1)]).is_none());
    }

    #[test]
    fn serializes_as_a_list_of_values() {
        let t: Texts = vec![Some("x"), None].into();
        let json = serde_json::to_string(&t).unwrap_or_default();
        assert_eq!(json, r#"["x",null]"#);
        let back: Texts = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, t);
    }
}
