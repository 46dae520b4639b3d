//! Customer ids, stored end to end in one string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list of ids (or any short texts), all in one `String` with the end of each.
///
/// A table of a few million customers held one heap `String` per id: an allocation per
/// customer when it was built, a free per customer when it was dropped, and a page of
/// scattered memory touched for every few of them. One buffer is written once, read in
/// order and freed in one go.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Ids {
    text: String,
    /// Id `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
}

impl Ids {
    /// An empty list.
    pub fn new() -> Ids {
        Ids::default()
    }

    /// Room for `n` ids of `bytes` bytes in all.
    pub fn with_capacity(n: usize, bytes: usize) -> Ids {
        Ids {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(n),
        }
    }

    /// Bytes of all the ids together.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Id `i`. Panics when `i` is out of range, like indexing.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The ids in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + Clone {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Adds an id at the end.
    pub fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len());
    }

    /// Room for `n` more ids (their text grows as needed).
    pub fn reserve(&mut self, n: usize) {
        self.ends.reserve(n);
    }

    /// Removes all the ids, keeping the memory for new ones.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Moves the ids of `other` to the end of these, leaving `other` empty.
    pub fn append(&mut self, other: &mut Ids) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|&e| base + e));
        other.text.clear();
        other.ends.clear();
    }

    /// The ids at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Ids {
        idx.iter().map(|&i| self.get(i)).collect()
    }

    /// The first id (in order) seen before, if any. Ids in strictly ascending order (a
    /// table the fold made) are known distinct from one pass of comparisons; others are
    /// hashed.
    pub fn first_repeated(&self) -> Option<&str> {
        if self.is_ascending() {
            return None;
        }
        let mut seen = std::collections::HashSet::with_capacity(self.len());
        self.iter().find(|id| !seen.insert(*id))
    }

    /// Whether every id is greater than the one before it (as a table the fold makes has
    /// them): the ids are then distinct, and ordering rows by id orders them by row number.
    pub fn is_ascending(&self) -> bool {
        let mut it = self.iter();
        match it.next() {
            None => true,
            Some(first) => it
                .try_fold(first, |prev, id| (prev < id).then_some(id))
                .is_some(),
        }
    }

    /// The ids as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for Ids {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i)
    }
}

impl<S: AsRef<str>> FromIterator<S> for Ids {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Ids {
        let mut ids = Ids::new();
        for id in iter {
            ids.push(id.as_ref());
        }
        ids
    }
}

impl From<Vec<String>> for Ids {
    fn from(v: Vec<String>) -> Ids {
        v.iter().collect()
    }
}

impl From<Vec<&str>> for Ids {
    fn from(v: Vec<&str>) -> Ids {
        v.iter().collect()
    }
}

/// Compares with a list of texts, as in `assert_eq!(table.ids(), ["a", "b"])`.
impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Ids {
    fn eq(&self, other: &[S; N]) -> bool {
        self.len() == N && self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for &Ids {
    fn eq(&self, other: &[S; N]) -> bool {
        **self == *other
    }
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Ids {
    /// As a list of strings.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Ids {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ids, D::Error> {
        Vec::<String>::deserialize(d).map(Ids::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_repeated_id_whether_sorted_or_not() {
        let ids = |v: &[&str]| {
            let mut i = Ids::new();
            v.iter().for_each(|x| i.push(x));
            i
        };
        assert_eq!(ids(&[]).first_repeated(), None);
        assert_eq!(ids(&["a", "b", "c"]).first_repeated(), None);
        assert_eq!(ids(&["c", "a", "b"]).first_repeated(), None);
        assert_eq!(ids(&["a", "b", "b", "c"]).first_repeated(), Some("b"));
        assert_eq!(ids(&["c", "a", "c", "a"]).first_repeated(), Some("c"));
        assert_eq!(ids(&["a", "A", "a"]).first_repeated(), Some("a"));
    }

    #[test]
    fn ids_are_stored_end_to_end_and_read_back() {
        let mut a: Ids = vec!["0001", "顾客2", ""].into();
        assert_eq!(a.len(), 3);
        assert_eq!(&a[1], "顾客2");
        assert_eq!(a.get(2), "");
        let mut b: Ids = vec!["x".to_string()].into();
        a.append(&mut b);
        assert!(b.is_empty());
        assert_eq!(a, ["0001", "顾客2", "", "x"]);
        assert_eq!(a.take(&[3, 0]), ["x", "0001"]);
        assert_eq!(a.iter().next_back(), Some("x"));
        assert_eq!(format!("{:?}", a.take(&[1])), r#"["顾客2"]"#);
    }

    #[test]
    fn serializes_as_a_list_of_strings() {
        let a: Ids = vec!["a", "b"].into();
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert_eq!(json, r#"["a","b"]"#);
        let back: Ids = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, a);
    }
}
