//! What the Kubernetes API server would refuse in an object meshsmith reads: names and
//! namespaces that are not DNS names, a workload without containers, ports out of range or
//! written as strings. `kubectl apply` fails on these, so meshsmith does too, with the file
//! and line, rather than planning a mesh for objects that can never exist.

use super::LoadError;
use crate::model::{Node, Value};
use std::sync::Arc;

/// Kinds whose pod template meshsmith reads, and where it sits.
const POD_SPECS: [(&str, &[&str]); 7] = [
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    (
        "CronJob",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ),
    ("Pod", &["spec"]),
];

/// What every object must have: an `apiVersion`, a `kind` and a `metadata.name`. The API
/// server refuses a document without one of them, so `kubectl apply` does. The first missing.
pub(super) fn identity(file: &Arc<str>, root: &Node) -> Option<LoadError> {
    let has = |node: &Node| node.as_str().is_some_and(|s| !s.is_empty());
    let kind = root.at("kind").as_str().filter(|k| !k.is_empty());
    let what = kind.unwrap_or("an object");
    let meta = root.at("metadata");
    let (line, message) = if !has(root.at("apiVersion")) {
        (root.line, format!("{what} has no apiVersion"))
    } else if kind.is_none() {
        (root.line, "an object has no kind".to_string())
    } else if meta.at("name").as_str().is_none() {
        let line = if meta.is_map() { meta.line } else { root.line };
        (line, format!("{what} has no metadata.name"))
    } else {
        return None;
    };
    Some(LoadError::Invalid {
        file: file.to_string(),
        line,
        message,
    })
}

/// Every problem of one object (`root`, of `kind`), each at its line.
pub(super) fn object(file: &Arc<str>, kind: &str, root: &Node) -> Vec<LoadError> {
    let mut out = Vec::new();
    let mut bad = |node: &Node, message: String| {
        out.push(LoadError::Invalid {
            file: file.to_string(),
            line: if node.line > 0 { node.line } else { root.line },
            message,
        })
    };
    let meta = root.at("metadata");
    if let Some(why) = name_problem(kind, meta.at("name").as_str().unwrap_or("")) {
        bad(meta.at("name"), format!("{kind} name {why}"));
    }
    if let Some(ns) = meta.at("namespace").as_str().filter(|ns| !ns.is_empty()) {
        if let Some(why) = label_problem(ns) {
            bad(meta.at("namespace"), format!("namespace `{ns}` {why}"));
        }
    }
    if let Some((_, path)) = POD_SPECS.iter().find(|(k, _)| *k == kind) {
        let pod = root.path(path);
        let containers = pod.at("containers");
        if containers.as_seq().is_empty() {
            bad(
                containers,
                format!("{kind} has no containers (spec.containers is required)"),
            );
        }
        for c in containers
            .as_seq()
            .iter()
            .chain(pod.at("initContainers").as_seq())
        {
            for p in c.at("ports").as_seq() {
                if let Some(why) = port_problem(p.at("containerPort")) {
                    bad(p.at("containerPort"), format!("containerPort {why}"));
                }
            }
        }
    }
    if kind == "Service" {
        for p in root.path(&["spec", "ports"]).as_seq() {
            if let Some(why) = port_problem(p.at("port")) {
                bad(p.at("port"), format!("Service port {why}"));
            }
            let target = p.at("targetPort");
            if target.as_str().is_some_and(|t| t.parse::<i64>().is_err()) {
                if let Some(why) = port_name_problem(target.as_str().unwrap_or("")) {
                    bad(target, format!("targetPort {why}"));
                }
            } else if !target.is_null() {
                if let Some(why) = port_problem(target) {
                    bad(target, format!("targetPort {why}"));
                }
            }
        }
    }
    out
}

/// A port number as the API server takes it: a plain integer from 1 to 65535.
fn port_problem(node: &Node) -> Option<String> {
    let Value::Scalar { text } = &node.value else {
        return node
            .is_null()
            .then(|| "is missing".to_string())
            .or_else(|| Some("must be a number".to_string()));
    };
    let Ok(n) = text.trim().parse::<i64>() else {
        return Some(format!("`{text}` is not a number"));
    };
    if !node.plain {
        return Some(format!(
            "\"{text}\" is written as a string; write the number {n} unquoted"
        ));
    }
    (!(1..=65535).contains(&n)).then(|| format!("{n} is out of range (1-65535)"))
}

/// A named port (IANA service name): at most 15 characters, lower-case letters, digits and
/// `-`, at least one letter, no `--`, not starting or ending with `-`.
fn port_name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    (!ok).then(|| format!("`{name}` is not a port number or a valid port name"))
}

/// Names of Services and Namespaces are DNS labels (RFC 1035 for Services: starting with a
/// letter); other objects' names are DNS subdomains (RFC 1123, up to 253 characters).
fn name_problem(kind: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty (metadata.name is required)".to_string());
    }
    match kind {
        "Service" => label_problem(name).or_else(|| {
            (!name.starts_with(|c: char| c.is_ascii_lowercase()))
                .then(|| format!("`{name}` must start with a lower-case letter"))
        }),
        "Namespace" => label_problem(name),
        _ if name.len() > 253 => Some(format!(
            "`{}…` is {} characters long; at most 253",
            &name[..name.char_indices().nth(40).map_or(name.len(), |(i, _)| i)],
            name.len()
        )),
        _ => name
            .split('.')
            .find_map(label_problem)
            .map(|why| format!("`{name}`: {why}")),
    }
}

/// A DNS label (RFC 1123): 1 to 63 lower-case letters, digits or `-`, starting and ending
/// with a letter or digit.
fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("has an empty part".to_string());
    }
    if label.len() > 63 {
        return Some(format!("is {} characters long; at most 63", label.len()));
    }
    let ok = label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    (!ok).then(|| {
        format!("`{label}` is not a DNS name: lower-case letters, digits and `-` only, starting and ending with a letter or digit")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_api_server() {
        assert!(name_problem("Deployment", "orders-v2.shop").is_none());
        assert!(name_problem("Deployment", "Orders").is_some());
        assert!(name_problem("Deployment", "").is_some());
        assert!(name_problem("Deployment", &"a".repeat(300)).is_some());
        assert!(name_problem("Service", "9lives").is_some());
        assert!(name_problem("Service", "orders.shop").is_some());
        assert!(name_problem("Namespace", "team-a").is_none());
        assert!(label_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn port_names_are_iana_service_names() {
        assert!(port_name_problem("http").is_none());
        assert!(port_name_problem("grpc-web").is_none());
        assert!(port_name_problem("8080x").is_none());
        assert!(port_name_problem("HTTP").is_some());
        assert!(port_name_problem("a-very-long-port-name").is_some());
        assert!(port_name_problem("a--b").is_some());
    }
}
