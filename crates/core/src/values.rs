//! A column of fixed-size values, some possibly missing.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Values of one numeric or date column, missing ones marked.
///
/// Stored as the plain values plus, only when something is missing, one flag per value:
/// 8 bytes per number where `Vec<Option<f64>>` takes 16. The customer table of a few million
/// customers is written once and read by every later step, so its size is paid in page
/// faults and cache misses all along, and this layout is the one Arrow and Parquet write.
/// A missing value's slot holds `T::default()`.
#[derive(Debug, Clone, Default)]
pub struct Values<T> {
    data: Vec<T>,
    /// `valid[i]`: value `i` is present; `None` when all are.
    valid: Option<Vec<bool>>,
}

impl<T: Copy + Default> Values<T> {
    /// No values, with room for `n`.
    pub fn with_capacity(n: usize) -> Values<T> {
        Values {
            data: Vec::with_capacity(n),
            valid: None,
        }
    }

    /// Number of values, present or missing.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Value `i`, `None` when missing. Panics when `i` is out of bounds, like indexing.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        let v = self.data[i];
        match &self.valid {
            Some(valid) if !valid[i] => None,
            _ => Some(v),
        }
    }

    /// The values in order, `None` where missing.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            values: self,
            range: 0..self.len(),
        }
    }

    /// The present values, in order.
    pub fn present(&self) -> impl Iterator<Item = T> + '_ {
        self.iter().flatten()
    }

    /// The raw values, `T::default()` where missing (see [`Values::validity`]).
    pub fn values(&self) -> &[T] {
        &self.data
    }

    /// The values when none is missing, without a copy; `None` when some are.
    pub fn into_full(self) -> Option<Vec<T>> {
        (self.missing() == 0).then_some(self.data)
    }

    /// Which values are present; `None` when all are.
    pub fn validity(&self) -> Option<&[bool]> {
        self.valid.as_deref()
    }

    /// Number of missing values.
    pub fn missing(&self) -> usize {
        self.valid
            .as_ref()
            .map_or(0, |v| v.iter().filter(|&&ok| !ok).count())
    }

    /// Adds a value at the end.
    #[inline]
    pub fn push(&mut self, v: Option<T>) {
        match v {
            Some(x) => {
                self.data.push(x);
                if let Some(valid) = &mut self.valid {
                    valid.push(true);
                }
            }
            None => {
                let n = self.data.len();
                self.data.push(T::default());
                self.valid
                    .get_or_insert_with(|| {
                        let mut v = Vec::with_capacity(self.data.capacity());
                        v.resize(n, true);
                        v
                    })
                    .push(false);
            }
        }
    }

    /// Adds `xs`, all present, at the end: what [`Values::push`] does one by one, in one
    /// copy (a column read back from disk is millions of values, mostly without gaps).
    pub fn extend_present(&mut self, xs: &[T]) {
        self.data.extend_from_slice(xs);
        if let Some(valid) = &mut self.valid {
            valid.resize(self.data.len(), true);
        }
    }

    /// Makes room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.data.reserve(n);
        if let Some(v) = &mut self.valid {
            v.reserve(n);
        }
    }

    /// Moves `other`'s values to the end of these, leaving `other` empty (as `Vec::append`).
    pub fn append(&mut self, other: &mut Values<T>) {
        let n = self.data.len();
        match (&mut self.valid, other.valid.take()) {
            (None, None) => {}
            (Some(mine), None) => mine.resize(n + other.data.len(), true),
            (mine, Some(theirs)) => {
                let v = mine.get_or_insert_with(|| vec![true; n]);
                v.extend_from_slice(&theirs);
            }
        }
        self.data.append(&mut other.data);
    }

    /// The values at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Values<T> {
        idx.iter().map(|&i| self.get(i)).collect()
    }

    /// As a vector of options.
    pub fn to_vec(&self) -> Vec<Option<T>> {
        self.iter().collect()
    }
}

impl<T: Copy + Default + PartialEq> PartialEq for Values<T> {
    /// Equal when the same values are present at the same places; the storage of
    /// "nothing missing" does not matter.
    fn eq(&self, other: &Values<T>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for Values<T> {
    fn from(v: Vec<Option<T>>) -> Values<T> {
        v.into_iter().collect()
    }
}

impl<T: Copy + Default> From<Vec<T>> for Values<T> {
    /// All present.
    fn from(data: Vec<T>) -> Values<T> {
        Values { data, valid: None }
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for Values<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Values<T> {
        let iter = iter.into_iter();
        let mut v = Values::with_capacity(iter.size_hint().0);
        for x in iter {
            v.push(x);
        }
        v
    }
}

impl<'a, T: Copy + Default> IntoIterator for &'a Values<T> {
    type Item = Option<T>;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Iterator over [`Values`], `None` where missing.
#[derive(Debug, Clone)]
pub struct Iter<'a, T> {
    values: &'a Values<T>,
    range: std::ops::Range<usize>,
}

impl<T: Copy + Default> Iterator for Iter<'_, T> {
    type Item = Option<T>;
    #[inline]
    fn next(&mut self) -> Option<Option<T>> {
        self.range.next().map(|i| self.values.get(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl<T: Copy + Default> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Option<T>> {
        self.range.next_back().map(|i| self.values.get(i))
    }
}

impl<T: Copy + Default> ExactSizeIterator for Iter<'_, T> {}

impl<T: Copy + Default + Serialize> Serialize for Values<T> {
    /// As a list with `null` for missing values.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Copy + Default + Deserialize<'de>> Deserialize<'de> for Values<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Values<T>, D::Error> {
        Vec::<Option<T>>::deserialize(d).map(Values::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain values come out whole only when none is missing.
    #[test]
    fn values_come_out_whole_only_when_none_is_missing() {
        let all: Values<f64> = vec![Some(1.5), Some(2.5)].into();
        assert_eq!(all.into_full(), Some(vec![1.5, 2.5]));
        let gap: Values<f64> = vec![Some(1.5), None].into();
        assert_eq!(gap.into_full(), None);
    }

    #[test]
    fn missing_values_are_marked_and_kept_in_place() {
        let mut v: Values<i64> = vec![Some(1), Some(2)].into();
        assert_eq!(v.validity(), None);
        v.push(None);
        v.push(Some(4));
        assert_eq!(v.to_vec(), [Some(1), Some(2), None, Some(4)]);
        assert_eq!(v.values(), [1, 2, 0, 4]);
        assert_eq!(v.validity(), Some(&[true, true, false, true][..]));
        assert_eq!(v.missing(), 1);
        assert_eq!(v.present().sum::<i64>(), 7);
        assert_eq!(v.take(&[3, 2]).to_vec(), [Some(4), None]);
        assert_eq!(v.iter().next_back(), Some(Some(4)));

        let mut a: Values<i64> = vec![1i64].into();
        a.append(&mut vec![None, Some(3)].into());
        a.append(&mut vec![5i64].into());
        assert_eq!(a.to_vec(), [Some(1), None, Some(3), Some(5)]);
        // the same values compare equal however they are stored
        let mut b: Values<i64> = vec![None, Some(1)].into();
        b = b.take(&[1]);
        assert_eq!(b, Values::from(vec![1i64]));
        assert_ne!(b, Values::from(vec![2i64]));
    }

    #[test]
    fn extending_with_present_values_equals_pushing_them() {
        for start in [vec![Some(1i64)], vec![None, Some(2)], vec![]] {
            let mut pushed: Values<i64> = start.clone().into();
            let mut extended = pushed.clone();
            [7, 8, 9].into_iter().for_each(|x| pushed.push(Some(x)));
            extended.extend_present(&[7, 8, 9]);
            assert_eq!(extended.to_vec(), pushed.to_vec());
            assert_eq!(extended.validity(), pushed.validity());
            extended.push(None);
            assert_eq!(
                extended.missing(),
                1 + start.iter().filter(|v| v.is_none()).count()
            );
        }
    }

    #[test]
    fn serialized_as_a_list_with_nulls() {
        let v: Values<f64> = vec![Some(1.5), None].into();
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, "[1.5,null]");
        let back: Values<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
    }
}
