//! [`StringMap`]: labels, annotations, selectors. A map from text to text kept as one sorted
//! vector, so that the few entries a label set has cost one allocation instead of a tree node
//! each; it iterates, compares and serializes exactly as a sorted map would.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{shared, Text};

/// Sorted key -> value, keys unique. Inserting a key again replaces its value, as a map does.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StringMap {
    entries: Vec<(Text, Text)>,
}

impl StringMap {
    pub fn new() -> Self {
        StringMap::default()
    }

    fn position<Q: AsRef<str> + ?Sized>(&self, key: &Q) -> Result<usize, usize> {
        let key = key.as_ref();
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get<Q: AsRef<str> + ?Sized>(&self, key: &Q) -> Option<&str> {
        self.position(key).ok().map(|i| self.entries[i].1.as_str())
    }

    pub fn contains_key<Q: AsRef<str> + ?Sized>(&self, key: &Q) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: impl Into<Text>, value: impl Into<Text>) -> Option<String> {
        let (key, value) = (shared(key.into()), value.into());
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value).into_string()),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: AsRef<str> + ?Sized>(&mut self, key: &Q) -> Option<String> {
        self.position(key)
            .ok()
            .map(|i| self.entries.remove(i).1.into_string())
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v.as_str())
    }

    /// Builds from entries in any order; for a key given twice the later value wins.
    fn from_entries(mut entries: Vec<(Text, Text)>) -> Self {
        // A stable sort keeps equal keys in the order given; keep the last of each run.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Text, Text)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        StringMap { entries: out }
    }
}

impl<K: Into<Text>, V: Into<Text>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        StringMap::from_entries(
            iter.into_iter()
                .map(|(k, v)| (shared(k.into()), v.into()))
                .collect(),
        )
    }
}

impl<const N: usize> From<[(String, String); N]> for StringMap {
    fn from(entries: [(String, String); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Into<Text>, V: Into<Text>> Extend<(K, V)> for StringMap {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.extend(iter.into_iter().map(|(k, v)| (shared(k.into()), v.into())));
        *self = StringMap::from_entries(entries);
    }
}

impl IntoIterator for StringMap {
    type Item = (String, String);
    type IntoIter =
        std::iter::Map<std::vec::IntoIter<(Text, Text)>, fn((Text, Text)) -> (String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries
            .into_iter()
            .map(|(k, v)| (k.into_string(), v.into_string()))
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Text, Text)>,
        fn(&'a (Text, Text)) -> (&'a str, &'a str),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl std::fmt::Debug for StringMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = StringMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0));
                while let Some((k, v)) = access.next_entry::<String, String>()? {
                    entries.push((shared(Text::from(k)), Text::from(v)));
                }
                Ok(StringMap::from_entries(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn behaves_like_a_sorted_map_where_the_later_value_wins() {
        let input = pairs(&[("b", "1"), ("a", "2"), ("b", "3"), ("c", "4")]);
        let ours: StringMap = input.clone().into_iter().collect();
        let theirs: BTreeMap<String, String> = input.into_iter().collect();
        assert_eq!(
            ours.iter().collect::<Vec<_>>(),
            theirs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>()
        );
        assert_eq!(ours.get("b"), Some("3"));
        assert!(ours.contains_key("a") && !ours.contains_key("z"));
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        let back: StringMap = serde_json::from_str(r#"{"z":"1","a":"2"}"#).unwrap();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "z"]);
    }

    #[test]
    fn insert_remove_and_extend_keep_the_order() {
        let mut m = StringMap::new();
        assert_eq!(m.insert("b", "1"), None);
        assert_eq!(m.insert("a", "2"), None);
        assert_eq!(m.insert("b", "3"), Some("1".into()));
        m.extend(pairs(&[("c", "5"), ("a", "6")]));
        assert_eq!(
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
            ["a=6", "b=3", "c=5"]
        );
        assert_eq!(m.remove("b"), Some("3".into()));
        assert_eq!(m.len(), 2);
    }
}
