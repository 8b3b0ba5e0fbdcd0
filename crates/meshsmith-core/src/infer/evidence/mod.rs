//! Where edges come from: one module per source of evidence, each turning what it reads into
//! the same [`Candidate`] (a caller workload, what it calls, the evidence and how sure it is).
//! `infer` merges the candidates, resolves their addresses and scores the edges.
//!
//! ```text
//!  per workload:  env ─┐                      whole input:  istio ────┐
//!                 args ─┼─▶ Vec<Candidate>                   traffic ──┼─▶ Vec<Candidate>
//!         config_files ─┤                                    declared ─┘
//!          annotations ─┘
//! ```
//!
//! Adding a source is one module here and one line in [`PER_WORKLOAD`] or in [`whole_input`].

mod annotations;
mod args;
mod config_files;
mod declared;
mod env;
pub(super) mod istio;
pub(super) mod traffic;

use super::address::{bare_host, Address};
use super::nodes::Nodes;
use super::resolve::Resolver;
use crate::model::*;
use std::collections::HashMap;

pub use annotations::CALLS_ANNOTATION;

/// A ConfigMap handed to this many workloads or more is shared: its addresses are not
/// specific to any one caller, so edges read from it are low-confidence.
pub const SHARED_CONFIG_MAP_USERS: usize = 3;

/// What a candidate call points at.
#[derive(Debug, Clone)]
pub(crate) enum Callee {
    /// A host (and port, scheme) still to resolve from the caller's namespace.
    Address(Address),
    /// A graph node, already resolved (Istio config, traffic, the policy file).
    Node { node: usize, port: Option<u16> },
}

/// One call some evidence suggests: `caller` (a workload index) calls `callee`.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub caller: usize,
    pub callee: Callee,
    pub evidence: Evidence,
    pub confidence: Confidence,
    /// Counts and protocol when the call was seen in traffic.
    pub observed: Option<(CallCounts, Option<Protocol>)>,
}

impl Candidate {
    /// A call to an address, read from the caller's own configuration.
    pub fn address(
        caller: usize,
        address: Address,
        evidence: Evidence,
        confidence: Confidence,
    ) -> Self {
        Candidate {
            caller,
            callee: Callee::Address(address),
            evidence,
            confidence,
            observed: None,
        }
    }
}

/// What every source may read.
pub(crate) struct Cx<'a> {
    pub inventory: &'a Inventory,
    pub resolver: &'a Resolver,
    pub nodes: &'a Nodes,
    /// How many workloads load each ConfigMap, per (namespace, name).
    pub users: HashMap<(String, String), usize>,
    pub extra: &'a Extra<'a>,
}

impl Cx<'_> {
    /// Whether a ConfigMap of `namespace` is shared by enough workloads that its addresses
    /// say nothing about any one of them.
    pub fn shared(&self, namespace: &str, config_map: Option<&str>) -> bool {
        config_map.is_some_and(|n| {
            self.users
                .get(&(namespace.to_string(), n.to_string()))
                .copied()
                .unwrap_or(0)
                >= SHARED_CONFIG_MAP_USERS
        })
    }

    pub fn confidence_of(&self, namespace: &str, config_map: Option<&str>) -> Confidence {
        if self.shared(namespace, config_map) {
            Confidence::Low
        } else {
            Confidence::High
        }
    }
}

/// Evidence from outside the manifests: the running system's traffic and the callers the
/// policy file confirms.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra<'a> {
    pub traffic: Option<&'a Traffic>,
    pub declared: &'a [DeclaredCallers],
}

/// Sources read from one workload's own specification, in the order their evidence lists.
type PerWorkload = fn(&Cx, usize, &Workload) -> Vec<Candidate>;
pub(crate) const PER_WORKLOAD: &[PerWorkload] = &[
    env::candidates,
    args::candidates,
    config_files::mounted,
    config_files::looked_up,
    annotations::candidates,
];

/// What the sources that read the whole input found besides candidates.
#[derive(Default)]
pub(crate) struct WholeInput {
    pub candidates: Vec<Candidate>,
    pub istio: istio::IstioFacts,
    pub traffic: Option<traffic::TrafficFacts>,
    pub declared: declared::DeclaredFacts,
}

/// Sources that read the whole input: Istio configuration, traffic, the policy file.
pub(crate) fn whole_input(cx: &Cx) -> WholeInput {
    let mut out = WholeInput {
        istio: istio::read(cx),
        ..WholeInput::default()
    };
    out.candidates.append(&mut out.istio.calls);
    if let Some(traffic) = cx.extra.traffic {
        let mut facts = traffic::read(cx, traffic);
        out.candidates.append(&mut facts.candidates);
        out.traffic = Some(facts);
    }
    out.declared = declared::read(cx);
    out.candidates
        .extend(out.declared.candidates.iter().cloned());
    out
}

/// How many workloads load each ConfigMap (by env or volume), per namespace.
pub(crate) fn config_map_users(inventory: &Inventory) -> HashMap<(String, String), usize> {
    let mut users: HashMap<(String, String), usize> = HashMap::new();
    for w in &inventory.workloads {
        let mut names: Vec<&str> = w
            .config_map_volumes
            .iter()
            .map(|v| v.config_map.as_str())
            .collect();
        for c in &w.containers {
            names.extend(c.env_from.iter().filter_map(|e| e.config_map.as_deref()));
            names.extend(c.env.iter().filter_map(|e| match &e.source {
                EnvSource::ConfigMapKey { config_map, .. } => Some(config_map.as_str()),
                _ => None,
            }));
        }
        names.sort_unstable();
        names.dedup();
        for n in names {
            *users
                .entry((w.namespace.clone(), n.to_string()))
                .or_default() += 1;
        }
    }
    users
}

/// A host written without a port or scheme.
pub(crate) fn bare(host: String) -> Address {
    Address {
        host,
        port: None,
        scheme: None,
        line_offset: 0,
    }
}

/// `name.ns.svc` or `name.ns.svc.<cluster-domain>`.
pub(crate) fn is_cluster_form(value: &str) -> bool {
    let labels: Vec<&str> = value.trim().split('.').collect();
    labels.len() >= 3 && labels.iter().skip(2).any(|l| *l == "svc") && bare_host(value).is_some()
}

/// Variable or file keys whose value is a host: `*_HOST`, `*_ADDR`, `*_URL`, `server`...
pub fn names_a_host(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let last = upper.rsplit(['_', '.', '-']).next().unwrap_or("");
    matches!(
        last,
        "HOST"
            | "HOSTNAME"
            | "HOSTS"
            | "ADDR"
            | "ADDRESS"
            | "SERVER"
            | "SERVERS"
            | "ENDPOINT"
            | "ENDPOINTS"
            | "URL"
            | "URI"
            | "BROKER"
            | "BROKERS"
            | "DSN"
            | "UPSTREAM"
    ) || upper.ends_with("_SERVICE_HOST")
}

/// The first line of a value, at most 120 characters.
pub(crate) fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(120).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
