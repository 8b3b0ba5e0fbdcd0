//! Candidates -> edges: each candidate's address resolved from its caller's namespace, then
//! merged per (caller node, callee node) with the union of its ports, schemes, evidence and
//! the Service names it used (the callee's own or an alias, whose ports are its own), and the
//! strongest confidence. Names that match no Service become unresolved, hosts outside the
//! cluster external calls; a node calling itself is not an edge.

use super::evidence::{Callee, Candidate, Cx};
use super::protocol::{self, CallerHint};
use super::resolve::Target;
use crate::model::*;
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct EdgeDraft {
    /// Ports named with the callee's own Service (or with no name: traffic, Istio config).
    pub ports: SmallSet<u16>,
    /// The Service names the caller used: the callee's own and its aliases.
    pub via: SmallSet<String>,
    /// Ports named with an alias, which are the alias's own: (alias, port).
    pub alias_ports: SmallSet<(String, u16)>,
    pub schemes: SmallSet<String>,
    /// What each call shows about the protocol of the port it reaches, paired with that
    /// call's own port. A scheme or a client setting.
    pub hints: SmallSet<PortHint>,
    pub evidence: SmallSet<Evidence>,
    pub confidence: Option<Confidence>,
    pub observed: Option<CallCounts>,
    pub observed_protocol: Option<Protocol>,
}

/// One call's protocol hint and the port it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PortHint {
    /// The port the call names.
    pub port: Option<u16>,
    /// The port its scheme implies when it names none.
    pub default_port: Option<u16>,
    /// The alias it went through, whose ports are its own.
    pub alias: Option<String>,
    pub hint: CallerHint,
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
        let (to, port, scheme, via) = match c.callee {
            Callee::Node { node, port } => (node, port, None, None),
            Callee::Address(addr) => match cx.resolver.resolve(&addr.host, &w.namespace) {
                Target::Service(callee) => match cx.nodes.by_service.get(&callee) {
                    Some(&to) => (to, addr.port, addr.scheme, Some(callee.name)),
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
        if let Some(hint) = hint_of(scheme.as_deref(), &c.evidence) {
            let alias = via
                .clone()
                .filter(|name| !is_own_service(cx, to, name))
                .map(|name| name.to_string());
            let default_port = scheme.as_deref().and_then(protocol::scheme_default_port);
            e.hints.insert(PortHint {
                port,
                default_port,
                alias,
                hint,
            });
        }
        match via {
            Some(name) if !is_own_service(cx, to, &name) => {
                e.alias_ports.extend(port.map(|p| (name.to_string(), p)));
                e.via.insert(name.to_string());
            }
            Some(name) => {
                e.ports.extend(port);
                e.via.insert(name.to_string());
            }
            None => e.ports.extend(port),
        }
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

/// What one call shows about its callee port's protocol: the URL's scheme, else a client
/// setting's name (`CATALOG_GRPC_ADDR`).
fn hint_of(scheme: Option<&str>, evidence: &Evidence) -> Option<CallerHint> {
    if let Some(s) = scheme {
        let p = protocol::scheme_protocol(s)?;
        return Some(CallerHint {
            observed: false,
            protocol: p,
            server_first: protocol::scheme_server_first(s),
            how: format!("callers use {s}://"),
        });
    }
    let settings = matches!(
        evidence.kind,
        HintKind::Env
            | HintKind::EnvFromConfigMap
            | HintKind::ConfigMapKeyRef
            | HintKind::EnvHostPort
    );
    let (p, how) = settings
        .then(|| protocol::setting_protocol(&evidence.detail))
        .flatten()?;
    Some(CallerHint {
        observed: false,
        protocol: p,
        server_first: false,
        how,
    })
}

/// Whether `name` is node `node`'s own Service rather than an alias of it.
fn is_own_service(cx: &Cx, node: usize, name: &str) -> bool {
    cx.nodes.drafts[node]
        .service
        .is_some_and(|si| cx.inventory.services[si].name == name)
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

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items in order, in a vector of just their number: a set that gathered one item
    /// has room for four, and what is kept past inference should not carry that room.
    pub fn into_vec(self) -> Vec<T> {
        let mut items = self.0;
        items.shrink_to_fit();
        items
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
