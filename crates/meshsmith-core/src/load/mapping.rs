//! One YAML mapping as its entries arrive -> its entries in source order, each key once.
//!
//! A key written again keeps its place and takes the later value, and the repeat is
//! returned so it can be reported. A key brought in by `<<` is overridden silently by one
//! written out. Keys are found by a scan while the mapping is small and through an index
//! once it is not, so a mapping of many keys (a ConfigMap of 100,000 entries) is read in
//! time linear in its size.

use crate::model::{Node, Text, Value};
use std::collections::HashMap;

/// Entries from which keys are found through the index rather than by a scan: below it a
/// scan is as quick, and most mappings (metadata, a container, a port) never need one.
const INDEX_FROM: usize = 16;

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// The line of the later key.
    pub line: u32,
    pub key: String,
    /// The line of the value the later one replaces.
    pub first_line: u32,
}

/// A mapping being read.
#[derive(Default)]
pub(super) struct Mapping {
    entries: Vec<(Text, Node)>,
    /// Per entry: it came in through `<<` and has not been written out since.
    merged: Vec<bool>,
    /// Each key's place in `entries`, once there are [`INDEX_FROM`] of them.
    index: Option<HashMap<Text, usize>>,
}

impl Mapping {
    /// Adds `key: value`, the key read on `key_line`. `<<` merges the mapping (or list of
    /// mappings) it names: their keys not yet present are added.
    pub(super) fn insert(&mut self, key: Text, key_line: u32, value: Node) -> Option<Repeat> {
        if key == "<<" {
            self.merge(&value);
            return None;
        }
        let Some(at) = self.position(&key) else {
            self.push(key, value, false);
            return None;
        };
        let first_line = self.entries[at].1.line;
        self.entries[at].1 = value;
        // An explicit key overrides one merged in by `<<` silently; a key written twice is
        // worth a warning. Either way the later value wins.
        if std::mem::take(&mut self.merged[at]) {
            return None;
        }
        Some(Repeat {
            line: key_line,
            key: key.to_string(),
            first_line,
        })
    }

    /// The entries in the order their keys were first written.
    pub(super) fn into_entries(self) -> Box<[(Text, Node)]> {
        self.entries.into_boxed_slice()
    }

    fn merge(&mut self, value: &Node) {
        let sources = match &value.value {
            Value::Seq(items) => &items[..],
            _ => std::slice::from_ref(value),
        };
        for source in sources {
            for (k, v) in source.as_map() {
                if self.position(k).is_none() {
                    self.push(k.clone(), v.clone(), true);
                }
            }
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    fn push(&mut self, key: Text, value: Node, merged: bool) {
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, value));
        self.merged.push(merged);
        if self.index.is_none() && self.entries.len() >= INDEX_FROM {
            let index = self.entries.iter().enumerate();
            self.index = Some(index.map(|(i, (k, _))| (k.clone(), i)).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, line: u32) -> Node {
        Node::scalar(text.into(), true, line)
    }

    fn keys(entries: &[(Text, Node)]) -> Vec<(&str, &str)> {
        entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
            .collect()
    }

    /// `n` keys `k0`..`k{n-1}`, then every one of them written again.
    fn repeated_keys(n: usize) -> (Mapping, Vec<Repeat>) {
        let mut map = Mapping::default();
        let mut repeats = Vec::new();
        for round in 0..2u32 {
            for i in 0..n {
                let line = round * n as u32 + i as u32 + 1;
                let value = scalar(&format!("v{round}-{i}"), line);
                repeats.extend(map.insert(Text::from(format!("k{i}")), line, value));
            }
        }
        (map, repeats)
    }

    #[test]
    fn a_repeated_key_keeps_its_place_takes_the_later_value_and_is_reported() {
        for n in [3, INDEX_FROM - 1, INDEX_FROM, INDEX_FROM + 1, 40] {
            let (map, repeats) = repeated_keys(n);
            assert_eq!(repeats.len(), n, "{n} keys");
            for (i, r) in repeats.iter().enumerate() {
                let want = Repeat {
                    line: (n + i + 1) as u32,
                    key: format!("k{i}"),
                    first_line: i as u32 + 1,
                };
                assert_eq!(*r, want, "{n} keys");
            }
            let entries = map.into_entries();
            assert_eq!(entries.len(), n);
            for (i, (k, v)) in keys(&entries).into_iter().enumerate() {
                assert_eq!(
                    (k, v),
                    (format!("k{i}").as_str(), format!("v1-{i}").as_str())
                );
            }
        }
    }

    #[test]
    fn a_third_write_is_reported_against_the_second() {
        let mut map = Mapping::default();
        for i in 0..INDEX_FROM {
            map.insert(Text::from(format!("f{i}")), 1, scalar("x", 1));
        }
        assert_eq!(map.insert("a".into(), 20, scalar("1", 20)), None);
        let second = map.insert("a".into(), 21, scalar("2", 21));
        let third = map.insert("a".into(), 22, scalar("3", 22));
        assert_eq!(second.map(|r| r.first_line), Some(20));
        assert_eq!(third.map(|r| (r.line, r.first_line)), Some((22, 21)));
    }

    fn mapping_node(pairs: &[(&str, &str)], line: u32) -> Node {
        let entries: Vec<(Text, Node)> = pairs
            .iter()
            .map(|(k, v)| (Text::from(*k), scalar(v, line)))
            .collect();
        Node::new(Value::Map(entries.into_boxed_slice()), line)
    }

    #[test]
    fn merged_keys_are_overridden_silently_once_then_repeats_are_reported() {
        // The same whether the merged mapping is small or large enough to be indexed.
        for extra in [0, INDEX_FROM * 2] {
            let mut pairs = vec![("a", "base"), ("b", "base")];
            let names: Vec<String> = (0..extra).map(|i| format!("m{i}")).collect();
            pairs.extend(names.iter().map(|n| (n.as_str(), "base")));
            let mut map = Mapping::default();
            assert_eq!(map.insert("a".into(), 1, scalar("own", 1)), None);
            assert_eq!(map.insert("<<".into(), 2, mapping_node(&pairs, 2)), None);
            // `a` was written before the merge: the merge does not replace it.
            assert_eq!(map.insert("b".into(), 3, scalar("own", 3)), None);
            let again = map.insert("b".into(), 4, scalar("again", 4));
            assert_eq!(
                again,
                Some(Repeat {
                    line: 4,
                    key: "b".into(),
                    first_line: 3
                })
            );
            let entries = map.into_entries();
            assert_eq!(entries.len(), 2 + extra);
            assert_eq!(keys(&entries)[..2], [("a", "own"), ("b", "again")]);
        }
    }

    #[test]
    fn a_list_of_merged_mappings_gives_each_key_from_the_first_that_has_it() {
        let mut map = Mapping::default();
        let first = mapping_node(&[("a", "1"), ("b", "1")], 1);
        let second = mapping_node(&[("b", "2"), ("c", "2")], 2);
        let both = Node::new(Value::Seq(Box::new([first, second])), 1);
        assert_eq!(map.insert("<<".into(), 1, both), None);
        let entries = map.into_entries();
        assert_eq!(keys(&entries), [("a", "1"), ("b", "1"), ("c", "2")]);
    }

    #[test]
    fn a_mapping_of_very_many_keys_is_read_without_a_scan_per_key() {
        // 300,000 keys and their repeats: a scan per key would compare keys some 10^11
        // times and run for many minutes; found through the index, this takes moments.
        let n = 300_000;
        let (map, repeats) = repeated_keys(n);
        assert_eq!(repeats.len(), n);
        assert_eq!(repeats[n - 1].first_line, n as u32);
        assert_eq!(map.into_entries().len(), n);
    }
}
