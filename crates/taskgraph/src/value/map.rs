//! [`Map`]: an insertion-ordered string-keyed map, the counterpart of a
//! Python `dict`, built for the many small maps task descriptions are made
//! of.
//!
//! A task description is a tree of a few dozen maps, most with fewer than
//! ten entries, and generation builds and rewrites such trees for every
//! task. For maps that small a hash table costs more than it saves: an
//! allocation of its own, a hash of every key on every lookup, and
//! rehashing as the map grows. So the entries live in one vector, in
//! insertion order, and lookups scan it; only once a map passes
//! [`INDEX_AT`] entries does it get a hash index of positions, so that
//! large maps (thousands of dependencies, `existing_tasks`) keep
//! constant-time lookups.
//!
//! The scan compares a word per entry, not a string: each entry keeps a
//! tag made of its key's length and first seven bytes, so a key that
//! differs in either is passed over without decoding it or calling
//! `memcmp`, and keys of up to seven bytes (most of them) are equal
//! exactly when their tags are.
//!
//! The API follows the parts of `indexmap::IndexMap` this crate uses.
//! Equality ignores order, as Python's does.

use std::fmt;
use std::hash::BuildHasher;

use compact_str::CompactString;
use hashbrown::HashTable;

use super::Value;
use crate::util::words::{leading_word, trailing_word};

/// A map key: most keys are short names, stored inline without an
/// allocation of their own.
pub type Key = CompactString;

/// Maps with more entries than this get a hash index.
pub const INDEX_AT: usize = 24;

/// Room for this many entries on a map's first insertion.
const FIRST_CAPACITY: usize = 8;

/// An insertion-ordered map from strings to [`Value`]s.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<Slot>,
    /// Positions in `entries` by key, for large maps only.
    index: Option<Box<HashTable<usize>>>,
}

/// One entry, with the tag its lookups compare first.
#[derive(Clone, Debug)]
struct Slot {
    tag: u64,
    key: Key,
    value: Value,
}

impl Slot {
    fn new(key: Key, value: Value) -> Slot {
        Slot {
            tag: key_tag(&key),
            key,
            value,
        }
    }

    fn pair(&self) -> (&str, &Value) {
        (&self.key, &self.value)
    }

    fn pair_mut(&mut self) -> (&str, &mut Value) {
        (&self.key, &mut self.value)
    }

    fn into_pair(self) -> (Key, Value) {
        (self.key, self.value)
    }

    /// Whether this entry's key is `key`, whose tag is `tag`.
    fn has_key(&self, key: &str, tag: u64) -> bool {
        // Equal tags mean equal lengths (below 255) and equal first seven
        // bytes; only the rest is left to compare. Up to fifteen bytes,
        // the last eight cover it in one comparison without a call.
        self.tag == tag
            && match key.len() {
                0..=TAG_BYTES => true,
                8..=15 => trailing_word(self.key.as_bytes()) == trailing_word(key.as_bytes()),
                _ => self.key.as_bytes()[TAG_BYTES..] == key.as_bytes()[TAG_BYTES..],
            }
    }
}

/// How many leading key bytes a tag holds.
const TAG_BYTES: usize = 7;

/// A key's length (up to 255) in the top byte, its first seven bytes below.
fn key_tag(key: &str) -> u64 {
    let bytes = key.as_bytes();
    leading_word(bytes) >> 8 | (bytes.len().min(255) as u64) << 56
}

/// The hash of keys in the index. A fixed seed: nothing here needs
/// protection against keys chosen to collide, and order never depends on
/// hashes.
fn hash_key(key: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5eed_f00d).hash_one(key)
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(capacity: usize) -> Map {
        Map {
            entries: Vec::with_capacity(capacity),
            index: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Makes room for `additional` more entries at once, where a caller
    /// knows how many it is about to add.
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key`.
    // Inlined: most lookups scan a handful of entries, and a call that
    // also held the hash-table path spent as long saving and restoring
    // registers as scanning.
    #[inline]
    pub fn get_index_of(&self, key: &str) -> Option<usize> {
        match &self.index {
            None => {
                let tag = key_tag(key);
                self.entries.iter().position(|slot| slot.has_key(key, tag))
            }
            Some(index) => self.find_indexed(index, key),
        }
    }

    #[inline(never)]
    fn find_indexed(&self, index: &HashTable<usize>, key: &str) -> Option<usize> {
        index
            .find(hash_key(key), |&position| self.entries[position].key == key)
            .copied()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get_index_of(key).is_some()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.get_index_of(key).map(|i| &self.entries[i].value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.get_index_of(key).map(|i| &mut self.entries[i].value)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&str, &Value)> {
        self.get_index_of(key)
            .map(|i| (self.entries[i].key.as_str(), &self.entries[i].value))
    }

    /// The entry at `position` in insertion order.
    pub fn get_index(&self, position: usize) -> Option<(&str, &Value)> {
        self.entries.get(position).map(Slot::pair)
    }

    pub fn first(&self) -> Option<(&str, &Value)> {
        self.get_index(0)
    }

    pub fn last(&self) -> Option<(&str, &Value)> {
        self.entries.last().map(Slot::pair)
    }

    /// Sets `key` to `value`. A key already present keeps its place and
    /// its old value is returned, as with a Python dict.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.get_index_of(&key) {
            Some(position) => Some(std::mem::replace(&mut self.entries[position].value, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    /// Appends an entry whose key is known to be absent.
    fn push(&mut self, key: Key, value: Value) -> usize {
        let position = self.entries.len();
        if position == self.entries.capacity() {
            // Growing a vector of entries reallocates and copies it. Most
            // maps a transform builds end up with a handful of entries, so
            // the first allocation takes room for that many instead of
            // the standard library's four, and later ones double.
            self.entries.reserve(position.max(FIRST_CAPACITY));
        }
        if let Some(index) = &mut self.index {
            let entries = &self.entries;
            index.insert_unique(hash_key(&key), position, |&p| hash_key(&entries[p].key));
        }
        self.entries.push(Slot::new(key, value));
        if self.index.is_none() && self.entries.len() > INDEX_AT {
            self.rebuild_index();
        }
        position
    }

    /// Removes `key`, keeping the order of the others (like `del d[key]`).
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let position = self.get_index_of(key)?;
        let value = self.entries.remove(position).value;
        if self.entries.len() <= INDEX_AT {
            self.index = None;
        } else if let Some(index) = &mut self.index {
            // Patch the index rather than rebuild it: task descriptions
            // are large maps that transforms remove keys from one by one,
            // and rehashing every key each time would cost more than the
            // removal.
            if let Ok(slot) = index.find_entry(hash_key(key), |&p| p == position) {
                slot.remove();
            }
            for stored in index.iter_mut() {
                if *stored > position {
                    *stored -= 1;
                }
            }
        }
        Some(value)
    }

    /// Keeps the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
        let before = self.entries.len();
        self.entries
            .retain_mut(|slot| keep(&slot.key, &mut slot.value));
        if self.index.is_some() && self.entries.len() != before {
            self.rebuild_index();
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// Sorts entries by key (code point order).
    pub fn sort_keys(&mut self) {
        self.entries.sort_by(|a, b| a.key.cmp(&b.key));
        if self.index.is_some() {
            self.rebuild_index();
        }
    }

    /// Sorts entries with `compare`.
    pub fn sort_by(
        &mut self,
        mut compare: impl FnMut(&str, &Value, &str, &Value) -> std::cmp::Ordering,
    ) {
        self.entries
            .sort_by(|a, b| compare(&a.key, &a.value, &b.key, &b.value));
        if self.index.is_some() {
            self.rebuild_index();
        }
    }

    fn rebuild_index(&mut self) {
        if self.entries.len() <= INDEX_AT {
            self.index = None;
            return;
        }
        let mut index = HashTable::with_capacity(self.entries.len());
        for (position, slot) in self.entries.iter().enumerate() {
            let entries = &self.entries;
            index.insert_unique(hash_key(&slot.key), position, |&p| {
                hash_key(&entries[p].key)
            });
        }
        self.index = Some(Box::new(index));
    }

    /// A map with the same keys in the same order, each value replaced by
    /// what `f` makes of it. Cheaper than collecting new pairs: the keys
    /// are known to be distinct, so nothing is looked up, and a large
    /// map's index is copied rather than rebuilt.
    pub fn try_map_values<E>(
        &self,
        mut f: impl FnMut(&str, &Value) -> Result<Value, E>,
    ) -> Result<Map, E> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for slot in &self.entries {
            entries.push(Slot {
                tag: slot.tag,
                key: slot.key.clone(),
                value: f(&slot.key, &slot.value)?,
            });
        }
        Ok(Map {
            entries,
            index: self.index.clone(),
        })
    }

    /// This map with `over` laid over it, as a dict's `update` would leave
    /// a copy of it, except that the values of keys both have are
    /// `combine(mine, theirs)`. Keys of both keep this map's places; keys
    /// only `over` has follow in its order. The copy is made at its final
    /// size plus `headroom` (growing a map copies it each time its room
    /// runs out), and entries are copied whole, keys with their tags.
    pub fn overlaid(
        &self,
        over: &Map,
        headroom: usize,
        mut combine: impl FnMut(&Value, &Value) -> Value,
    ) -> Map {
        let mut entries = Vec::with_capacity(self.entries.len() + over.entries.len() + headroom);
        let mut shared_keys = 0;
        for slot in &self.entries {
            let value = match over.position_of_slot_key(slot) {
                Some(position) => {
                    shared_keys += 1;
                    combine(&slot.value, &over.entries[position].value)
                }
                None => slot.value.clone(),
            };
            entries.push(Slot {
                tag: slot.tag,
                key: slot.key.clone(),
                value,
            });
        }
        for slot in &over.entries {
            if shared_keys == 0 || self.position_of_slot_key(slot).is_none() {
                entries.push(slot.clone());
            }
        }
        let mut map = Map {
            entries,
            index: None,
        };
        map.rebuild_index();
        map
    }

    /// Where the key of `slot` (from another map) is in this one.
    fn position_of_slot_key(&self, slot: &Slot) -> Option<usize> {
        match &self.index {
            None => self
                .entries
                .iter()
                .position(|mine| mine.has_key(&slot.key, slot.tag)),
            Some(index) => self.find_indexed(index, &slot.key),
        }
    }

    /// The entry for `key`, to read, insert or update in place.
    pub fn entry(&mut self, key: impl Into<Key>) -> Entry<'_> {
        let key = key.into();
        match self.get_index_of(&key) {
            Some(position) => Entry::Occupied(OccupiedEntry {
                map: self,
                position,
            }),
            None => Entry::Vacant(VacantEntry { map: self, key }),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut(self.entries.iter_mut())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|slot| slot.key.as_str())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|slot| &slot.value)
    }

    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = Key> + ExactSizeIterator {
        self.entries.into_iter().map(|slot| slot.key)
    }

    pub fn into_values(self) -> impl DoubleEndedIterator<Item = Value> + ExactSizeIterator {
        self.entries.into_iter().map(|slot| slot.value)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.entries.iter_mut().map(|slot| &mut slot.value)
    }
}

/// A place in a [`Map`], from [`Map::entry`].
#[derive(Debug)]
pub enum Entry<'a> {
    Occupied(OccupiedEntry<'a>),
    Vacant(VacantEntry<'a>),
}

/// An entry whose key is present.
#[derive(Debug)]
pub struct OccupiedEntry<'a> {
    map: &'a mut Map,
    position: usize,
}

/// An entry whose key is absent.
#[derive(Debug)]
pub struct VacantEntry<'a> {
    map: &'a mut Map,
    key: Key,
}

impl<'a> Entry<'a> {
    pub fn key(&self) -> &str {
        match self {
            Entry::Occupied(entry) => &entry.map.entries[entry.position].key,
            Entry::Vacant(entry) => &entry.key,
        }
    }

    pub fn or_insert(self, default: Value) -> &'a mut Value {
        self.or_insert_with(|| default)
    }

    pub fn or_insert_with(self, default: impl FnOnce() -> Value) -> &'a mut Value {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(default()),
        }
    }

    pub fn or_default(self) -> &'a mut Value {
        self.or_insert_with(Value::default)
    }

    pub fn and_modify(mut self, modify: impl FnOnce(&mut Value)) -> Self {
        if let Entry::Occupied(entry) = &mut self {
            modify(entry.get_mut());
        }
        self
    }
}

impl<'a> OccupiedEntry<'a> {
    pub fn get(&self) -> &Value {
        &self.map.entries[self.position].value
    }

    pub fn get_mut(&mut self) -> &mut Value {
        &mut self.map.entries[self.position].value
    }

    pub fn into_mut(self) -> &'a mut Value {
        &mut self.map.entries[self.position].value
    }

    pub fn insert(&mut self, value: Value) -> Value {
        std::mem::replace(self.get_mut(), value)
    }
}

impl<'a> VacantEntry<'a> {
    pub fn insert(self, value: Value) -> &'a mut Value {
        let position = self.map.push(self.key, value);
        &mut self.map.entries[position].value
    }
}

/// Entries in insertion order.
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, Slot>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(Slot::pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(Slot::pair)
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Entries in insertion order, values mutable.
#[derive(Debug)]
pub struct IterMut<'a>(std::slice::IterMut<'a, Slot>);

impl<'a> Iterator for IterMut<'a> {
    type Item = (&'a str, &'a mut Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(Slot::pair_mut)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IterMut<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(Slot::pair_mut)
    }
}

impl ExactSizeIterator for IterMut<'_> {}

/// Entries in insertion order, by value.
#[derive(Debug)]
pub struct IntoIter(std::vec::IntoIter<Slot>);

impl Iterator for IntoIter {
    type Item = (Key, Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(Slot::into_pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IntoIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(Slot::into_pair)
    }
}

impl ExactSizeIterator for IntoIter {}

impl IntoIterator for Map {
    type Item = (Key, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(self.entries.into_iter())
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Map {
    type Item = (&'a str, &'a mut Value);
    type IntoIter = IterMut<'a>;

    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

impl<K: Into<Key>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, items: I) {
        for (key, value) in items {
            self.insert(key, value);
        }
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(items: I) -> Map {
        let items = items.into_iter();
        let mut map = Map::with_capacity(items.size_hint().0);
        map.extend(items);
        map
    }
}

impl<K: Into<Key>, const N: usize> From<[(K, Value); N]> for Map {
    fn from(items: [(K, Value); N]) -> Map {
        items.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;

    /// The value of `key`, which must be present.
    fn index(&self, key: &str) -> &Value {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no key `{key}` in the map"),
        }
    }
}

/// Equal when both hold the same keys with equal values, in any order.
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> Map {
        (0..n)
            .map(|i| (format!("key-{i}"), Value::Int(i as i64)))
            .collect()
    }

    #[test]
    fn small_and_large_maps_answer_alike() {
        for n in [0, 1, INDEX_AT, INDEX_AT + 1, 200] {
            let mut map = numbered(n);
            assert_eq!(map.len(), n);
            assert_eq!(map.index.is_some(), n > INDEX_AT, "index at {n}");
            for i in 0..n {
                assert_eq!(map.get(&format!("key-{i}")), Some(&Value::Int(i as i64)));
                assert_eq!(map.get_index_of(&format!("key-{i}")), Some(i));
            }
            assert_eq!(map.get("absent"), None);

            // Removing shifts the later entries and keeps lookups right.
            if n > 1 {
                assert_eq!(map.shift_remove("key-0"), Some(Value::Int(0)));
                assert_eq!(map.get_index_of("key-1"), Some(0));
                assert_eq!(
                    map.get(&format!("key-{}", n - 1)),
                    Some(&Value::Int(n as i64 - 1))
                );
            }
        }
    }

    #[test]
    fn removals_from_an_indexed_map_keep_every_position_right() {
        let mut map = numbered(40);
        let mut expected: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
        for victim in [17, 0, 37, 5, 5, 20] {
            let key = expected.remove(victim);
            assert!(map.shift_remove(&key).is_some(), "{key}");
            assert_eq!(map.get(&key), None);
            for (position, key) in expected.iter().enumerate() {
                assert_eq!(map.get_index_of(key), Some(position), "{key}");
            }
        }

        // New keys go to the end and are found; dropping to the threshold
        // drops the index.
        map.insert("late", Value::Null);
        assert_eq!(map.get_index_of("late"), Some(expected.len()));
        while map.len() > INDEX_AT {
            let key = map.first().map(|(k, _)| k.to_owned()).unwrap();
            map.shift_remove(&key);
        }
        assert!(map.index.is_none());
        assert_eq!(map.get_index_of("late"), Some(INDEX_AT - 1));
    }

    #[test]
    fn keys_sharing_length_and_first_bytes_are_told_apart() {
        // Same tag (length and first seven bytes), different tails; and
        // short keys that differ only in length or in one byte.
        let keys = [
            "dependencies-a",
            "dependencies-b",
            "dependencies",
            "dep",
            "dep0",
            "dep1",
            "",
            "\u{e9}t\u{e9}",
            "12345678",
            "12345679",
            "0123456789abcde",
            "0123456x89abcde",
            "0123456789abcdef",
            "0123456789abcdeg",
            "01234567x9abcdef",
        ];
        let mut map: Map = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, Value::Int(i as i64)))
            .collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.get_index_of(key), Some(i), "{key:?}");
        }
        for absent in [
            "dependencies-c",
            "depe",
            "de",
            "1234567",
            "123456789",
            "0123456789abcdx",
            "0123456y89abcde",
            "0123456789abcdex",
            "0123456y89abcdef",
        ] {
            assert_eq!(map.get(absent), None, "{absent:?}");
        }
        // Past 255 bytes lengths no longer fit the tag; the rest still
        // decides.
        let long_a = "x".repeat(300);
        let long_b = format!("{}y", "x".repeat(299));
        map.insert(long_a.as_str(), Value::Null);
        assert_eq!(map.get(&long_b), None);
        assert_eq!(map.get(&long_a), Some(&Value::Null));
    }

    #[test]
    fn insert_keeps_the_first_place_and_returns_the_old_value() {
        let mut map = numbered(3);
        assert_eq!(map.insert("key-0", Value::from("new")), Some(Value::Int(0)));
        let keys: Vec<&str> = map.keys().collect();
        assert_eq!(keys, ["key-0", "key-1", "key-2"]);
        assert_eq!(map["key-0"], Value::from("new"));
    }

    #[test]
    fn entries_insert_or_update_in_place() {
        let mut map = numbered(INDEX_AT);
        map.entry("key-1").and_modify(|v| *v = Value::Int(10));
        map.entry("fresh").or_insert(Value::Bool(true));
        *map.entry("counter").or_insert_with(|| Value::Int(0)) = Value::Int(5);
        assert_eq!(map["key-1"], Value::Int(10));
        assert_eq!(map["fresh"], Value::Bool(true));
        assert_eq!(map["counter"], Value::Int(5));
        assert!(
            map.index.is_some(),
            "growing past the threshold builds the index"
        );
        assert_eq!(map.get_index_of("counter"), Some(INDEX_AT + 1));
    }

    #[test]
    fn mapped_values_keep_keys_order_and_lookups() {
        for n in [3, INDEX_AT + 5] {
            let map = numbered(n);
            let doubled = map
                .try_map_values(|_, v| Ok::<_, ()>(Value::Int(v.as_int().unwrap() * 2)))
                .unwrap();
            assert!(doubled.keys().eq(map.keys()));
            assert_eq!(doubled.get("key-2"), Some(&Value::Int(4)));
            assert_eq!(doubled.get("absent"), None);
            let failed = map.try_map_values(|k, v| {
                if k == "key-1" {
                    Err(k.to_owned())
                } else {
                    Ok(v.clone())
                }
            });
            assert_eq!(failed.unwrap_err(), "key-1");
        }
    }

    #[test]
    fn equality_ignores_order() {
        let forward = numbered(20);
        let backward: Map = numbered(20).into_iter().rev().collect();
        assert_eq!(forward, backward);
        let mut different = numbered(20);
        different.insert("key-3", Value::Null);
        assert_ne!(forward, different);
    }

    #[test]
    fn retain_and_sort_keep_the_index_right() {
        let mut map = numbered(30);
        map.retain(|k, _| k.ends_with('1'));
        let keys: Vec<&str> = map.keys().collect();
        assert_eq!(keys, ["key-1", "key-11", "key-21"]);
        assert_eq!(map.get("key-21"), Some(&Value::Int(21)));

        let mut map = numbered(30);
        map.sort_keys();
        assert_eq!(map.first().map(|(k, _)| k), Some("key-0"));
        assert_eq!(map.get_index_of("key-10"), Some(2));
        assert_eq!(map.get("key-29"), Some(&Value::Int(29)));
    }
}
