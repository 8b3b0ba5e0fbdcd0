//! The Prometheus text exposition format, one line at a time: `# HELP` / `# TYPE` lines and
//! samples `name{label="value",...} value [timestamp]` (label values with `\\`, `\"` and
//! `\n` escapes).

use super::Series;
use std::borrow::Cow;

/// An owned-or-borrowed sample read from one line.
pub(crate) struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub value: f64,
}

impl Sample<'_> {
    pub fn series(&self) -> Series<'_> {
        Series {
            name: Some(self.name),
            labels: &self.labels,
            amount: self.value,
        }
    }
}

/// `# HELP name ...`, `# TYPE name counter`, OpenMetrics' `# UNIT` and `# EOF`.
pub(crate) fn is_metadata(line: &str) -> bool {
    ["# HELP ", "# TYPE ", "# UNIT ", "# EOF"]
        .iter()
        .any(|p| line.starts_with(p))
}

/// The sample a line holds, or `None` when it is no sample.
pub(crate) fn parse(line: &str) -> Option<Sample<'_>> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = parse_labels(inner, &mut labels)?;
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = parse_value(fields.next()?)?;
    if let Some(ts) = fields.next() {
        ts.parse::<f64>().ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(Sample {
        name,
        labels,
        value,
    })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// Reads `a="x",b="y"}`; returns what follows the closing brace.
fn parse_labels<'a>(
    mut s: &'a str,
    out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Option<&'a str> {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Some(rest);
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let after = s[eq + 1..].trim_start().strip_prefix('"')?;
        let (value, rest) = quoted(after)?;
        out.push((Cow::Borrowed(key), value));
        s = rest.trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// A label value up to its closing quote, unescaped; and what follows it.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = s.as_bytes();
    let mut owned: Option<String> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = match owned {
                    Some(mut o) => {
                        o.push_str(&s[copied..i]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&s[..i]),
                };
                return Some((value, &s[i + 1..]));
            }
            b'\\' if i + 1 < bytes.len() => {
                let o = owned.get_or_insert_with(String::new);
                o.push_str(&s[copied..i]);
                o.push(match bytes[i + 1] {
                    b'n' => '\n',
                    b'"' => '"',
                    b'\\' => '\\',
                    _ => return None,
                });
                i += 2;
                copied = i;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples() {
        let s = parse(r#"istio_requests_total{reporter="destination",source_workload="productpage-v1",path="a\"b"} 12 1714557600000"#).expect("a sample");
        assert_eq!(s.name, "istio_requests_total");
        assert_eq!(s.value, 12.0);
        assert_eq!(s.labels[2].1, "a\"b");
        let bare = parse("envoy_server_live 1").expect("a sample");
        assert!(bare.labels.is_empty());
        assert!(parse("envoy_server_live").is_none());
        assert!(parse("hello world, this is not a sample").is_none());
        assert!(parse(r#"x{a="unterminated} 1"#).is_none());
        assert!(parse("2024-05-01 line").is_none());
    }

    #[test]
    fn metadata() {
        assert!(is_metadata("# TYPE istio_requests_total counter"));
        assert!(!is_metadata("# a comment"));
    }
}
