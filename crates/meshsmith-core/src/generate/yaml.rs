//! A small deterministic YAML writer: `serde_json::Value` in, block-style YAML text out.
//!
//! Keys come out in the map's order (sorted, as `serde_json` keeps them), sequences at the
//! indentation of their key as `kubectl` writes them, and a string is quoted exactly when a
//! YAML 1.1 or 1.2 reader could take it for something else (`"true"`, `"1.30"`, `"8080"`,
//! `"*"`), so every reader gets back the same strings. `3s` stays plain.

use serde_json::Value;

/// The document as YAML, ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a map inside a sequence item sits after its `- `.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(key));
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                write_map(out, m, indent + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, indent);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        if !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2),
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
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
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | ".nan"
    )
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
}
