//! Renderers: one per output format. They turn pipeline results into text; they decide nothing.

pub mod check_json;
pub mod check_text;
pub mod gate_json;
pub mod gate_text;
pub mod graph;
pub mod html;
pub mod lab;
pub mod map_json;
pub mod map_text;
pub mod sarif;

use meshsmith_core::model::{QualifiedName, Topology};
use serde::{Serialize, Serializer};
use std::collections::HashMap;

pub use meshsmith_core::plan::rollout_md::counted;

/// A JSON list written one element at a time: each element's tree is built, written and let
/// go before the next, so a large report never exists as one tree.
pub struct Each<F>(pub F);

impl<F, I> Serialize for Each<F>
where
    F: Fn() -> I,
    I: Iterator<Item = serde_json::Value>,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

/// Display names for nodes: the bare name where it is unique, `name.namespace` otherwise.
pub struct Names(HashMap<QualifiedName, String>);

impl Names {
    pub fn new(topology: &Topology) -> Self {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for s in &topology.services {
            *count.entry(s.id.name.as_str()).or_default() += 1;
        }
        Names(
            topology
                .services
                .iter()
                .map(|s| {
                    let label = if count[s.id.name.as_str()] > 1 {
                        s.id.to_string()
                    } else {
                        s.id.name.to_string()
                    };
                    (s.id.clone(), label)
                })
                .collect(),
        )
    }

    pub fn get(&self, id: &QualifiedName) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// `text` with every character that could drive a terminal or reorder what it shows written
/// as an escape (`\u{1b}`): control characters other than a line break or a tab, and the
/// bidirectional formatting characters (a right-to-left override makes `gpj.exe` read
/// `exe.jpg`).
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn what_could_drive_a_terminal_is_escaped_and_the_rest_kept() {
        assert_eq!(
            terminal_safe("name `\u{202e}evil\u{1b}[31m` ünïcode\n\tok\r"),
            "name `\\u{202e}evil\\u{1b}[31m` ünïcode\n\tok\\u{d}"
        );
        assert!(matches!(
            terminal_safe("plain\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
