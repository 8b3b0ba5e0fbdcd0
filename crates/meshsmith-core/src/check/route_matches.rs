//! Route rules of one VirtualService that traffic can never reach, as Istio's validation
//! finds them. In: a VirtualService's spec. Out: every unreachable rule and every match
//! shadowed by an earlier one, with why.
//!
//! Envoy takes the first rule whose match fits, in order, so in each of `http`, `tcp` and
//! `tls`:
//! - a rule after one without `match` is never reached (only the last rule may match all);
//! - a match equal to an earlier one (names aside) is never used, and a rule whose every
//!   match is such a copy is never reached;
//! - an HTTP `uri.prefix` match is never used when an earlier prefix match covers it: its
//!   prefix starts with the earlier prefix, and port, method, authority, headers, query
//!   parameters and `withoutHeaders` are the same or the earlier one's start with them.

use crate::model::{Node, Value};
use std::collections::BTreeMap;
use std::collections::HashMap;

/// What is wrong with one rule or match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The whole rule is never reached.
    Unreachable { rule: String, reason: String },
    /// One match of the rule is never used because an earlier one takes its traffic.
    Ineffective {
        rule: String,
        matched: String,
        earlier: String,
    },
}

/// Every problem of the VirtualService `spec`, in section and rule order.
pub fn problems(spec: &Node) -> Vec<(Problem, &Node)> {
    let mut found = Vec::new();
    for section in ["http", "tcp", "tls"] {
        analyze(section, spec.at(section).as_seq(), &mut found);
    }
    found
}

/// `http[2]` or `http[2] "reviews-v2"`: how messages name a rule.
fn rule_name(section: &str, i: usize, route: &Node) -> String {
    match route.at("name").as_str() {
        Some(name) if section == "http" => format!("{section}[{i}] \"{name}\""),
        _ => format!("{section}[{i}]"),
    }
}

fn match_name(j: usize, m: &Node) -> String {
    match m.at("name").as_str() {
        Some(name) => format!("match[{j}] \"{name}\""),
        None => format!("match[{j}]"),
    }
}

fn analyze<'a>(section: &str, routes: &'a [Node], found: &mut Vec<(Problem, &'a Node)>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut catch_all: Option<usize> = None;
    let mut prefixes: Vec<PrefixMatch> = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let name = rule_name(section, i, route);
        let matches = route.at("match").as_seq();
        if matches.is_empty() {
            if let Some(earlier) = catch_all {
                let reason = format!(
                    "{} has no match and takes every request first; only the last rule may \
                     leave `match` out",
                    rule_name(section, earlier, &routes[earlier])
                );
                found.push((Problem::Unreachable { rule: name, reason }, route));
            }
            catch_all = Some(i);
            continue;
        }
        let mut copies = 0;
        for (j, m) in matches.iter().enumerate() {
            if let Some(earlier) = catch_all {
                let reason = format!(
                    "{} before it has no match and takes every request",
                    rule_name(section, earlier, &routes[earlier])
                );
                found.push((
                    Problem::Unreachable {
                        rule: name.clone(),
                        reason,
                    },
                    route,
                ));
                break;
            }
            let key = canonical(m, section == "http");
            if let Some(&earlier) = seen.get(&key) {
                found.push((
                    Problem::Ineffective {
                        rule: name.clone(),
                        matched: match_name(j, m),
                        earlier: rule_name(section, earlier, &routes[earlier]),
                    },
                    m,
                ));
                copies += 1;
                continue;
            }
            seen.insert(key, i);
            if section == "http" {
                prefixes.extend(PrefixMatch::of(m, name.clone(), match_name(j, m)));
            }
        }
        if copies == matches.len() {
            let reason = "every match repeats one of an earlier rule".to_string();
            found.push((Problem::Unreachable { rule: name, reason }, route));
        }
    }
    for (a, earlier) in prefixes.iter().enumerate() {
        for later in &prefixes[a + 1..] {
            if later.prefix != earlier.prefix && earlier.covers(later) {
                found.push((
                    Problem::Ineffective {
                        rule: later.rule.clone(),
                        matched: format!("{} (prefix {})", later.matched, later.prefix),
                        earlier: format!(
                            "{} {} (prefix {})",
                            earlier.rule, earlier.matched, earlier.prefix
                        ),
                    },
                    later.node,
                ));
            }
        }
    }
}

/// A match's content in a canonical text: keys sorted, empty values and (for HTTP) the
/// match's own `name` left out, so equal matches give equal text.
fn canonical(node: &Node, drop_name: bool) -> String {
    let mut out = String::new();
    write_canonical(node, drop_name, &mut out);
    out
}

fn write_canonical(node: &Node, drop_name: bool, out: &mut String) {
    match &node.value {
        Value::Null => out.push('~'),
        Value::Scalar { text, .. } => {
            out.push('"');
            out.push_str(text);
            out.push('"');
        }
        Value::Seq(items) => {
            out.push('[');
            for item in items.iter().filter(|n| !is_empty(n)) {
                write_canonical(item, false, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let sorted: BTreeMap<&str, &Node> = entries
                .iter()
                .filter(|(k, v)| !(is_empty(v) || (drop_name && k == "name")))
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            out.push('{');
            for (k, v) in sorted {
                out.push_str(k);
                out.push(':');
                write_canonical(v, false, out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

fn is_empty(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Seq(items) => items.is_empty(),
        Value::Map(entries) => entries.is_empty(),
        Value::Scalar { .. } => false,
    }
}

/// An HTTP match on a `uri.prefix`, with what else it requires, for the covering test.
struct PrefixMatch<'a> {
    node: &'a Node,
    rule: String,
    matched: String,
    prefix: String,
    port: Option<String>,
    method: String,
    authority: String,
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    without_headers: BTreeMap<String, String>,
}

/// `exact:v` or `prefix:v` of a string match; empty when it has neither.
fn exact_or_prefix(m: &Node) -> String {
    match (m.at("exact").as_str(), m.at("prefix").as_str()) {
        (Some(e), _) if !e.is_empty() => format!("exact:{e}"),
        (_, Some(p)) if !p.is_empty() => format!("prefix:{p}"),
        _ => String::new(),
    }
}

fn string_matches(node: &Node) -> BTreeMap<String, String> {
    node.as_map()
        .iter()
        .map(|(k, v)| (k.to_string(), exact_or_prefix(v)))
        .collect()
}

impl<'a> PrefixMatch<'a> {
    fn of(m: &'a Node, rule: String, matched: String) -> Option<Self> {
        let prefix = m.path(&["uri", "prefix"]).as_str()?;
        if prefix.is_empty() {
            return None;
        }
        let method = match exact_or_prefix(m.at("method")) {
            // A match that names no method is read as GET.
            none if none.is_empty() => "exact:GET".to_string(),
            method => method,
        };
        Some(PrefixMatch {
            node: m,
            rule,
            matched,
            prefix: prefix.to_string(),
            port: m.at("port").as_str().map(str::to_string),
            method,
            authority: exact_or_prefix(m.at("authority")),
            headers: string_matches(m.at("headers")),
            query: string_matches(m.at("queryParams")),
            without_headers: string_matches(m.at("withoutHeaders")),
        })
    }

    /// True when every request `later` matches is matched by `self` first.
    fn covers(&self, later: &PrefixMatch) -> bool {
        let loose = |a: &str, b: &str| a == b || a.starts_with(b);
        let maps = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| loose(v, w)))
        };
        later.prefix.starts_with(&self.prefix)
            && self.port == later.port
            && loose(&self.method, &later.method)
            && loose(&self.authority, &later.authority)
            && maps(&self.headers, &later.headers)
            && maps(&self.query, &later.query)
            && maps(&self.without_headers, &later.without_headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_text, Limits};

    fn spec(yaml: &str) -> Node {
        let loaded = load_text("vs.yaml", yaml, &Limits::default()).expect("loads");
        loaded.objects[0].doc.at("spec").clone()
    }

    fn kinds(yaml: &str) -> Vec<String> {
        let spec = spec(yaml);
        problems(&spec)
            .into_iter()
            .map(|(p, _)| match p {
                Problem::Unreachable { rule, .. } => format!("unreachable {rule}"),
                Problem::Ineffective { rule, matched, .. } => {
                    format!("ineffective {rule} {matched}")
                }
            })
            .collect()
    }

    const HEAD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: shop}\n";

    #[test]
    fn a_rule_after_a_catch_all_is_unreachable() {
        let found = kinds(&format!(
            "{HEAD}spec:\n  hosts: [r]\n  http:\n    - route: [{{destination: {{host: r}}}}]\n    - match: [{{uri: {{prefix: /a}}}}]\n      route: [{{destination: {{host: r}}}}]\n"
        ));
        assert_eq!(found, ["unreachable http[1]"]);
    }

    #[test]
    fn a_repeated_match_is_ineffective_and_a_rule_of_repeats_unreachable() {
        let found = kinds(&format!(
            "{HEAD}spec:\n  hosts: [r]\n  http:\n    - match: [{{uri: {{exact: /a}}, name: one}}]\n      route: [{{destination: {{host: r}}}}]\n    - match: [{{name: two, uri: {{exact: /a}}}}]\n      route: [{{destination: {{host: r}}}}]\n"
        ));
        assert_eq!(
            found,
            [
                "ineffective http[1] match[0] \"two\"",
                "unreachable http[1]"
            ]
        );
    }

    #[test]
    fn a_longer_prefix_after_a_shorter_one_is_ineffective_unless_it_asks_for_more() {
        let covered = kinds(&format!(
            "{HEAD}spec:\n  hosts: [r]\n  http:\n    - match: [{{uri: {{prefix: /api}}}}]\n      route: [{{destination: {{host: r}}}}]\n    - match: [{{uri: {{prefix: /api/v2}}}}]\n      route: [{{destination: {{host: r}}}}]\n"
        ));
        assert_eq!(covered, ["ineffective http[1] match[0] (prefix /api/v2)"]);
        let narrower = kinds(&format!(
            "{HEAD}spec:\n  hosts: [r]\n  http:\n    - match: [{{uri: {{prefix: /api}}}}]\n      route: [{{destination: {{host: r}}}}]\n    - match: [{{uri: {{prefix: /api/v2}}, headers: {{x: {{exact: y}}}}}}]\n      route: [{{destination: {{host: r}}}}]\n"
        ));
        assert!(narrower.is_empty(), "{narrower:?}");
    }
}
