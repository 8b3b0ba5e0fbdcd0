//! The checked readers the policy parser is built from: mappings with known keys, text,
//! names, bounded numbers and durations, each failing with the file and line.

use super::parse::Reader;
use super::*;
use crate::load::TreeError;
use crate::model::{Node, Value};

impl Reader<'_> {
    /// The entries of a mapping, each key checked against `allowed` and its line recorded.
    pub(super) fn entries<'a>(
        &mut self,
        node: &'a Node,
        place: &str,
        path: &str,
        allowed: &[&str],
    ) -> Result<Vec<(&'a str, &'a Node)>, PolicyError> {
        let mut entries = self.any_entries(node, place)?;
        // An unknown key is recorded and left out; the rest is still read.
        let unknown: Vec<PolicyError> = entries
            .iter()
            .filter(|(key, _)| !allowed.contains(key))
            .map(|(key, value)| PolicyError::UnknownKey {
                file: self.file.clone(),
                line: self.key_line(key, value.line.max(node.line)),
                key: key.to_string(),
                place: if place.is_empty() || place == "the policy file" {
                    "the policy file".into()
                } else {
                    format!("`{place}`")
                },
                expected: allowed.join(", "),
            })
            .collect();
        self.errors.extend(unknown);
        entries.retain(|(key, _)| allowed.contains(key));
        for (key, value) in &entries {
            let full = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            let line = self.key_line(key, value.line);
            self.policy.lines.insert(full, line);
        }
        Ok(entries)
    }

    pub(super) fn any_entries<'a>(
        &self,
        node: &'a Node,
        place: &str,
    ) -> Result<Vec<(&'a str, &'a Node)>, PolicyError> {
        match &node.value {
            Value::Map(entries) => Ok(entries.iter().map(|(k, v)| (k.as_str(), v)).collect()),
            _ => Err(self.bad(node, place, "expected a mapping of keys to values".into())),
        }
    }

    pub(super) fn seq<'a>(&self, node: &'a Node, key: &str) -> Result<&'a [Node], PolicyError> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.bad(node, key, "expected a list".into())),
        }
    }

    pub(super) fn text(&self, node: &Node, key: &str) -> Result<String, PolicyError> {
        match &node.value {
            Value::Scalar { text, .. } if !text.trim().is_empty() => Ok(text.to_string()),
            _ => Err(self.bad(node, key, "expected a text value".into())),
        }
    }

    /// A DNS-label-like name (trust domain, namespace).
    pub(super) fn name(&self, node: &Node, key: &str) -> Result<String, PolicyError> {
        let text = self.text(node, key)?;
        let ok = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !text.starts_with(['-', '.']);
        if ok {
            Ok(text)
        } else {
            Err(self.bad(
                node,
                key,
                format!("`{text}` is not a valid name (lowercase letters, digits, `-`, `.`)"),
            ))
        }
    }

    pub(super) fn number(
        &self,
        node: &Node,
        key: &str,
        min: u32,
        max: u32,
    ) -> Result<u32, PolicyError> {
        match &node.value {
            Value::Scalar { text } if node.plain => match text.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(self.bad(
                    node,
                    key,
                    format!("`{text}` must be a whole number from {min} to {max}"),
                )),
            },
            _ => Err(self.bad(
                node,
                key,
                format!("expected a whole number from {min} to {max}"),
            )),
        }
    }

    /// A plain number (decimals allowed) from `min` to `max`.
    pub(super) fn decimal(
        &self,
        node: &Node,
        key: &str,
        min: f64,
        max: f64,
    ) -> Result<f64, PolicyError> {
        let wrong = || self.bad(node, key, format!("expected a number from {min} to {max}"));
        match &node.value {
            Value::Scalar { text } if node.plain => match text.parse::<f64>() {
                Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(n),
                _ => Err(wrong()),
            },
            _ => Err(wrong()),
        }
    }

    pub(super) fn millis(&self, node: &Node, key: &str) -> Result<Millis, PolicyError> {
        Millis::parse(&self.text(node, key)?).map_err(|m| self.bad(node, key, m))
    }

    /// The line of `key`: the value's line or the nearest one above that writes `key:`.
    pub(super) fn key_line(&self, key: &str, value_line: u32) -> u32 {
        let plain = format!("{key}:");
        let quoted = format!("\"{key}\":");
        (1..=value_line)
            .rev()
            .find(|&n| {
                self.text
                    .get(n as usize - 1)
                    .is_some_and(|l| l.contains(&plain) || l.contains(&quoted))
            })
            .unwrap_or(value_line)
    }

    pub(super) fn bad(&self, node: &Node, key: &str, message: String) -> PolicyError {
        PolicyError::BadValue {
            file: self.file.clone(),
            line: node.line.max(1),
            key: key.to_string(),
            message,
        }
    }

    pub(super) fn missing(&self, line: u32, message: &str) -> PolicyError {
        PolicyError::Missing {
            file: self.file.clone(),
            line: line.max(1),
            message: message.to_string(),
        }
    }

    pub(super) fn unknown_role(&self, node: &Node, name: &str) -> PolicyError {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        let line = self.key_line(name, node.line);
        let at = Node::new(Value::Null, line);
        self.bad(
            &at,
            name,
            format!(
                "`{name}` is not a role; expected one of: {}",
                roles.join(", ")
            ),
        )
    }
}

pub(super) fn describe(e: &TreeError) -> String {
    match e {
        TreeError::Syntax { message, .. } => format!("not valid YAML: {message}"),
        TreeError::TooDeep { limit, .. } => format!("nested deeper than {limit} levels"),
        TreeError::AliasBudget { .. } | TreeError::UnknownAlias { .. } => {
            "YAML aliases are not supported in the policy file".to_string()
        }
        TreeError::TooManyDocuments { .. } => "one policy document per file".to_string(),
        TreeError::ComplexKey { .. } => "keys must be plain text".to_string(),
    }
}
