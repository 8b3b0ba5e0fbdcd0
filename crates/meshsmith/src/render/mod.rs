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
