//! A small deterministic YAML writer: `serde_json::Value` in, block-style YAML text out.
//!
//! Keys come out in the map's order (sorted, as `serde_json` keeps them), sequences at the
//! indentation of their key as `kubectl` writes them, and a string is quoted exactly when a
//! YAML 1.1 or 1.2 reader could take it for something else (`"true"`, `"1.30"`, `"8080"`,
//! `"*"`), so every reader gets back the same strings. `3s` stays plain.

use crate::model::{text, Node, Text, Value as NodeValue};
use serde_json::Value;

/// The document as YAML, ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(value, &mut out);
    out
}

/// Appends [`to_yaml`]`(value)` to `out`.
pub fn write_yaml(value: &Value, out: &mut String) {
    let mut w = Writer {
        out,
        line: 1,
        nodes: false,
    };
    w.document(value);
}

/// Appends the document to `out` and returns the tree a reader of that text gets back,
/// every value on the line it is written on, counting `out`'s first new line as
/// `first_line`. One walk gives both, so generated configuration can be checked without
/// parsing it again.
pub fn to_yaml_node(value: &Value, out: &mut String, first_line: u32) -> Node {
    let mut w = Writer {
        out,
        line: first_line,
        nodes: true,
    };
    w.document(value)
}

/// Writes block YAML, counting lines, and builds the matching [`Node`]s when `nodes` is set
/// (else returns null nodes, so plain rendering allocates no tree).
struct Writer<'a> {
    out: &'a mut String,
    line: u32,
    nodes: bool,
}

impl Writer<'_> {
    fn document(&mut self, value: &Value) -> Node {
        match value {
            Value::Object(map) if !map.is_empty() => self.map(map, 0, false),
            Value::Array(items) if !items.is_empty() => self.seq(items, 0, false),
            other => {
                let node = self.scalar(other);
                self.newline();
                node
            }
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.line += 1;
    }

    fn indent(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    /// `after_dash`: the map is a sequence item, its first key sits after the `- `.
    fn map(
        &mut self,
        map: &serde_json::Map<String, Value>,
        indent: usize,
        after_dash: bool,
    ) -> Node {
        let line = self.line;
        let mut entries = Vec::with_capacity(if self.nodes { map.len() } else { 0 });
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 || !after_dash {
                self.indent(indent);
            }
            push_string(self.out, key);
            self.out.push(':');
            let node = match value {
                Value::Object(m) if !m.is_empty() => {
                    self.newline();
                    self.map(m, indent + 2, false)
                }
                Value::Array(items) if !items.is_empty() => {
                    self.newline();
                    self.seq(items, indent, false)
                }
                other => {
                    self.out.push(' ');
                    let node = self.scalar(other);
                    self.newline();
                    node
                }
            };
            if self.nodes {
                entries.push((text(key.as_str()), node));
            }
        }
        self.node(NodeValue::Map(entries.into_boxed_slice()), line)
    }

    fn seq(&mut self, items: &[Value], indent: usize, after_dash: bool) -> Node {
        let line = self.line;
        let mut nodes = Vec::with_capacity(if self.nodes { items.len() } else { 0 });
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !after_dash {
                self.indent(indent);
            }
            self.out.push_str("- ");
            let node = match item {
                Value::Object(m) if !m.is_empty() => self.map(m, indent + 2, true),
                Value::Array(inner) if !inner.is_empty() => self.seq(inner, indent + 2, true),
                other => {
                    let node = self.scalar(other);
                    self.newline();
                    node
                }
            };
            if self.nodes {
                nodes.push(node);
            }
        }
        self.node(NodeValue::Seq(nodes.into_boxed_slice()), line)
    }

    /// A value written on the current line (an empty map or list in flow style).
    fn scalar(&mut self, value: &Value) -> Node {
        let line = self.line;
        let start = self.out.len();
        let plain = match value {
            Value::Null => {
                self.out.push_str("null");
                return self.node(NodeValue::Null, line);
            }
            Value::Bool(b) => {
                self.out.push_str(if *b { "true" } else { "false" });
                true
            }
            Value::Number(n) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{n}");
                true
            }
            Value::String(s) => {
                let plain = push_string(self.out, s);
                if !self.nodes {
                    return Node::new(NodeValue::Null, 0);
                }
                let text = text(s.as_str());
                return Node::scalar(text, plain, line);
            }
            Value::Array(_) => {
                self.out.push_str("[]");
                return self.node(NodeValue::Seq(Box::default()), line);
            }
            Value::Object(_) => {
                self.out.push_str("{}");
                return self.node(NodeValue::Map(Box::default()), line);
            }
        };
        if !self.nodes {
            return Node::new(NodeValue::Null, 0);
        }
        let text = Text::from(&self.out[start..]);
        Node::scalar(text, plain, line)
    }

    fn node(&self, value: NodeValue, line: u32) -> Node {
        if self.nodes {
            Node::new(value, line)
        } else {
            Node::new(NodeValue::Null, 0)
        }
    }
}

/// Appends [`string`]`(s)` without allocating when plain; returns whether it was plain.
pub(super) fn push_string(out: &mut String, s: &str) -> bool {
    if is_plain_safe(s) {
        out.push_str(s);
        true
    } else {
        out.push_str(&serde_json::Value::String(s.to_string()).to_string());
        false
    }
}

/// A string, plain when that is unambiguous (only block style is written, where a comma
/// is plain text), else double-quoted with JSON escapes (which
/// YAML's double-quoted style reads the same way).
pub fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '.' || first == '_') {
        return false;
    }
    let chars_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | ','));
    // `a: b` style or a trailing colon would start a mapping; `key:value` is fine in YAML
    // 1.2 but not every reader agrees, so any colon is quoted.
    if !chars_ok || s.contains(':') {
        return false;
    }
    !(is_special_word(s) || looks_numeric(s))
}

/// Booleans and nulls in YAML 1.1 or 1.2, any case.
fn is_special_word(s: &str) -> bool {
    [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan",
    ]
    .iter()
    .any(|w| w.eq_ignore_ascii_case(s))
}

/// Anything a reader might resolve to a number, date or sexagesimal: starts like a number
/// and uses only characters numbers use (digits, hex letters, signs, `.`, `_`, `x`, `o`).
fn looks_numeric(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    (first.is_ascii_digit() || first == '.')
        && s.chars().all(|c| {
            c.is_ascii_hexdigit() || matches!(c, '.' | '_' | '-' | '+' | 'x' | 'X' | 'o' | 'O')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_documents, Limits};
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted_and_durations_are_not() {
        for s in [
            "true",
            "No",
            "1.30",
            "8080",
            "1e3",
            "0x1F",
            "2001-01-01",
            "*",
            "",
            "a: b",
            "-x",
            "null",
            "3_000",
        ] {
            assert!(string(s).starts_with('"'), "{s} should be quoted");
        }
        for s in [
            "3s",
            "1500ms",
            "cluster.local/ns/shop/sa/web",
            "istio-system/*".trim_end_matches("/*"),
            "STRICT",
            "tls-443",
            "connect-failure,refused-stream",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn nested_maps_and_lists_read_back_the_same() {
        let value = json!({
            "apiVersion": "networking.istio.io/v1",
            "spec": {
                "hosts": ["a.shop.svc.cluster.local"],
                "http": [{"match": [{"port": 8080}], "retries": {"attempts": 2, "retryOn": "5xx,503"}, "route": [{"destination": {"host": "a"}}], "timeout": "3s"}],
                "empty": {},
                "none": [],
                "nested": [["x", "y"], []],
                "flags": {"yes": "yes", "n": 1.5, "b": true, "quote": "say \"hi\"\n"}
            }
        });
        let text = to_yaml(&value);
        let docs = parse_documents(&text, &Limits::default()).expect("valid YAML");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].root.to_json(), value, "{text}");
        assert!(
            text.contains("  http:\n  - match:\n    - port: 8080\n"),
            "{text}"
        );
    }

    #[test]
    fn the_tree_built_while_writing_is_the_tree_read_back() {
        let value = json!({
            "a": {"b": [{"c": 1, "d": [[], ["x", {"e": null}]], "f": {}}], "g": "say \"hi\"\n"},
            "h": [["y", "z"], [{"i": true}]],
            "j": "1.30",
            "k": 1.5
        });
        let mut text = String::from("# a comment first\n");
        let node = to_yaml_node(&value, &mut text, 2);
        assert_eq!(text["# a comment first\n".len()..], to_yaml(&value));
        let docs = parse_documents(&text, &Limits::default()).expect("valid YAML");
        assert_eq!(docs[0].root, node, "{text}");
    }
}
