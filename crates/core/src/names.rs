//! Names numbered in the order they first appear: category names while transactions are
//! read, the distinct values of a text column.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Distinct names, each numbered by its first appearance. The index holds numbers, not
/// second copies of the names; the numbers never depend on hash order, so a fast fixed-seed
/// hash is enough.
#[derive(Clone, Default)]
pub struct Names {
    list: Vec<String>,
    index: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Names {
    /// The number of `name`, added when new.
    #[inline]
    pub fn number(&mut self, name: &str) -> u32 {
        let list = &mut self.list;
        let hash = self.hasher.hash_one(name);
        if let Some(&c) = self.index.find(hash, |&c| list[c as usize] == name) {
            return c;
        }
        let c = list.len() as u32;
        list.push(name.to_string());
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, c, |&c| hasher.hash_one(list[c as usize].as_str()));
        c
    }

    /// The numbers here of `other`'s names, by their number there (added when new).
    pub fn numbers_of(&mut self, other: &Names) -> Vec<u32> {
        other.list.iter().map(|n| self.number(n)).collect()
    }

    /// The names, by number.
    pub fn list(&self) -> &[String] {
        &self.list
    }

    /// The names, by number.
    pub fn into_list(self) -> Vec<String> {
        self.list
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets all the names, keeping the memory.
    pub fn clear(&mut self) {
        self.list.clear();
        self.index.clear();
    }
}

/// Equal when the names and their numbers are (the index follows from them).
impl PartialEq for Names {
    fn eq(&self, other: &Names) -> bool {
        self.list == other.list
    }
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.list).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_by_first_appearance() {
        let mut a = Names::default();
        assert_eq!(
            ["b", "a", "b", "食品", "a"].map(|n| a.number(n)),
            [0, 1, 0, 2, 1]
        );
        assert_eq!(a.list(), ["b", "a", "食品"]);
        let mut b = Names::default();
        b.number("a");
        assert_eq!(b.numbers_of(&a), [1, 0, 2]);
        assert_eq!(b.into_list(), ["a", "b", "食品"]);
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a.number("z"), 0);
    }
}
