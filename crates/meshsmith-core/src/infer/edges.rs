//! Candidates -> edges: each candidate's address resolved from its caller's namespace, then
//! merged per (caller node, callee node) with the union of its ports, schemes and evidence and
//! the strongest confidence. Names that match no Service become unresolved, hosts outside the
//! cluster external calls; a node calling itself is not an edge.

use super::evidence::{Callee, Candidate, Cx};
use super::resolve::Target;
use crate::model::*;
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct EdgeDraft {
    pub ports: SmallSet<u16>,
    pub schemes: SmallSet<String>,
    pub evidence: SmallSet<Evidence>,
    pub confidence: Option<Confidence>,
    pub observed: Option<CallCounts>,
    pub observed_protocol: Option<Protocol>,
}

#[derive(Default)]
pub(crate) struct LooseDraft {
    pub port: Option<u16>,
    pub schemes: SmallSet<String>,
    pub evidence: SmallSet<Evidence>,
}

/// Every candidate, merged.
#[derive(Default)]
pub(crate) struct Drafts {
    pub edges: BTreeMap<(usize, usize), EdgeDraft>,
    pub unresolved: BTreeMap<(usize, String), LooseDraft>,
    pub external: BTreeMap<(usize, String), LooseDraft>,
}

pub(crate) fn merge(cx: &Cx, candidates: impl IntoIterator<Item = Candidate>) -> Drafts {
    let mut out = Drafts::default();
    for c in candidates {
        let w = &cx.inventory.workloads[c.caller];
        let from = cx.nodes.by_workload[c.caller];
        let (to, port, scheme) = match c.callee {
            Callee::Node { node, port } => (node, port, None),
            Callee::Address(addr) => match cx.resolver.resolve(&addr.host, &w.namespace) {
                Target::Service(callee) => match cx.nodes.by_service.get(&callee) {
                    Some(&to) => (to, addr.port, addr.scheme),
                    None => continue,
                },
                Target::Unresolved(host) => {
                    if host != w.name && host != cx.nodes.drafts[from].id.name {
                        let u = out.unresolved.entry((from, host)).or_default();
                        u.port = u.port.or(addr.port);
                        u.evidence.insert(c.evidence);
                    }
                    continue;
                }
                Target::External(host) => {
                    let x = out.external.entry((from, host)).or_default();
                    x.port = x.port.or(addr.port);
                    x.schemes.extend(addr.scheme);
                    x.evidence.insert(c.evidence);
                    continue;
                }
                Target::Ignore => continue,
            },
        };
        if to == from {
            continue;
        }
        let e = out.edges.entry((from, to)).or_default();
        e.ports.extend(port);
        e.schemes.extend(scheme);
        e.evidence.insert(c.evidence);
        e.confidence = e.confidence.max(Some(c.confidence));
        if let Some((counts, protocol)) = c.observed {
            e.observed
                .get_or_insert_with(CallCounts::default)
                .add(&counts);
            e.observed_protocol = e.observed_protocol.or(protocol);
        }
    }
    out
}

/// A sorted set kept in one vector: an edge gathers a handful of ports, schemes and pieces
/// of evidence, for which a tree's nodes would cost more than the items.
pub(crate) struct SmallSet<T>(Vec<T>);

impl<T> Default for SmallSet<T> {
    fn default() -> Self {
        SmallSet(Vec::new())
    }
}

impl<T: Ord> SmallSet<T> {
    pub fn insert(&mut self, item: T) {
        if let Err(i) = self.0.binary_search(&item) {
            self.0.insert(i, item);
        }
    }

    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.insert(item);
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T> IntoIterator for SmallSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a SmallSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
