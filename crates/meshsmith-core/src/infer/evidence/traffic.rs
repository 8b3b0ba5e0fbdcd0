//! Observed traffic -> candidates with confidence `observed`, plus what the traffic shows
//! beyond calls: callers from outside the mesh, dry-run denials, names that match nothing in
//! the manifests, and which nodes it showed being called and calling out.
//!
//! Names are matched against the inventory: a workload by name, a pod by its workload's name
//! and the suffix its controller adds (`reviews-v2-5b64f47978-x7k2p`), a principal by its
//! namespace and service account (only when one node runs as it), a service host by name.
//! When both sides' proxies reported the same call, the larger count stands for it.

use super::{Callee, Candidate, Cx};
use crate::infer::resolve::Target;
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct TrafficFacts {
    pub candidates: Vec<Candidate>,
    pub unmatched: Vec<UnmatchedName>,
    pub outside: BTreeMap<usize, (u64, Origin)>,
    pub shadow: Vec<(usize, Option<String>, u64, Origin)>,
    /// Nodes the traffic showed being called, and calling out.
    pub called: BTreeSet<usize>,
    pub calling: BTreeSet<usize>,
    /// Nodes whose own proxy reported calls into them (inbound access log lines, metrics with
    /// `reporter="destination"`): a proxy that reports its inbound calls reports its outbound
    /// ones too, so the traffic shows everything they call.
    pub reporting: BTreeSet<usize>,
    /// Protocols seen per (node, port).
    pub protocols: Vec<(usize, Option<u16>, Protocol)>,
}

/// One (caller, callee, port) with counts per reporting side.
#[derive(Default)]
struct Seen {
    by_reporter: BTreeMap<Reporter, CallCounts>,
    protocol: Option<Protocol>,
    first: Option<(Origin, String)>,
}

pub(crate) fn read(cx: &Cx, traffic: &Traffic) -> TrafficFacts {
    let mut facts = TrafficFacts::default();
    let mut seen: BTreeMap<(usize, usize, Option<u16>), Seen> = BTreeMap::new();
    for o in &traffic.observations {
        let caller = source(cx, o, &mut facts);
        let Some(callee) = destination(cx, o, caller, &mut facts) else {
            continue;
        };
        if o.counts.requests > 0 || o.counts.shadow_denied > 0 {
            facts.called.insert(callee);
            if o.reporter != Reporter::Source {
                facts.reporting.insert(callee);
            }
        }
        if let Some(p) = o.protocol {
            facts.protocols.push((callee, o.port, p));
        }
        if o.counts.shadow_denied > 0 {
            let name = caller.map(|wi| cx.inventory.workloads[wi].name.clone());
            let name = name.or_else(|| peer_name(&o.source));
            facts
                .shadow
                .push((callee, name, o.counts.shadow_denied, o.origin.clone()));
        }
        let Some(wi) = caller else {
            if o.source == ObservedPeer::Unknown && o.counts.requests > 0 {
                let entry = facts.outside.entry(callee).or_insert((0, o.origin.clone()));
                entry.0 += o.counts.requests;
            }
            continue;
        };
        let from = cx.nodes.by_workload[wi];
        if from == callee || (o.counts.requests == 0 && o.counts.shadow_denied == 0) {
            continue;
        }
        facts.calling.insert(from);
        // A dry-run denial is a request that happened, even where only the denial was logged.
        let mut counts = o.counts;
        counts.requests = counts.requests.max(counts.shadow_denied);
        let s = seen.entry((wi, callee, o.port)).or_default();
        s.by_reporter.entry(o.reporter).or_default().add(&counts);
        s.protocol = s.protocol.or(o.protocol);
        s.first
            .get_or_insert_with(|| (o.origin.clone(), o.detail.clone()));
    }
    for ((wi, node, port), s) in seen {
        if let Some(c) = candidate(wi, node, port, s) {
            facts.candidates.push(c);
        }
    }
    facts.unmatched.sort();
    facts
        .unmatched
        .dedup_by(|a, b| a.side == b.side && a.name == b.name);
    facts
}

fn candidate(wi: usize, node: usize, port: Option<u16>, s: Seen) -> Option<Candidate> {
    // Both sides' proxies count the same requests: the larger count stands for the call.
    let counts = s.by_reporter.values().copied().max_by_key(|c| c.requests)?;
    let (origin, detail) = s.first?;
    Some(Candidate {
        caller: wi,
        callee: Callee::Node { node, port },
        evidence: Evidence {
            origin,
            kind: HintKind::Traffic,
            detail: format!("observed {}: {detail}", describe(&counts)),
        },
        confidence: Confidence::Observed,
        observed: Some((counts, s.protocol)),
    })
}

/// `1,234 requests (1,200 ok, 34 5xx; mTLS)`.
pub(crate) fn describe(c: &CallCounts) -> String {
    let mut parts = vec![format!("{} ok", thousands(c.ok))];
    if c.client_errors > 0 {
        parts.push(format!("{} 4xx", thousands(c.client_errors)));
    }
    if c.server_errors > 0 {
        parts.push(format!("{} 5xx", thousands(c.server_errors)));
    }
    if c.denied > 0 {
        parts.push(format!("{} denied", thousands(c.denied)));
    }
    let security = match (c.mtls > 0, c.plaintext > 0) {
        (true, false) => "; mTLS",
        (false, true) => "; plain text",
        (true, true) => "; mTLS and plain text",
        _ => "",
    };
    let noun = if c.requests == 1 {
        "request"
    } else {
        "requests"
    };
    format!(
        "{} {noun} ({}{security})",
        thousands(c.requests),
        parts.join(", ")
    )
}

pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn peer_name(p: &ObservedPeer) -> Option<String> {
    match p {
        ObservedPeer::Workload { name, .. } | ObservedPeer::Pod { name, .. } => Some(name.clone()),
        ObservedPeer::Principal(p) => Some(p.clone()),
        ObservedPeer::MeshUnidentified | ObservedPeer::Unknown => None,
    }
}

/// The workload that made the call, if the traffic names one the inventory has.
fn source(cx: &Cx, o: &Observation, facts: &mut TrafficFacts) -> Option<usize> {
    let found = match &o.source {
        ObservedPeer::Workload { namespace, name } => {
            workload(cx, Some(namespace), name).or_else(|_| pod(cx, Some(namespace), name))
        }
        ObservedPeer::Pod { namespace, name } => pod(cx, namespace.as_ref(), name),
        ObservedPeer::Principal(p) => principal(cx, p),
        ObservedPeer::MeshUnidentified | ObservedPeer::Unknown => return None,
    };
    match found {
        Ok(wi) => Some(wi),
        Err(why) => {
            let name = peer_name(&o.source).unwrap_or_default();
            unmatched(facts, "source", name, why, o);
            None
        }
    }
}

/// The node called, if the traffic names one the inventory has. A bare host is resolved as
/// the caller's pod would resolve it, from the caller's namespace.
fn destination(
    cx: &Cx,
    o: &Observation,
    caller: Option<usize>,
    facts: &mut TrafficFacts,
) -> Option<usize> {
    let from_namespace = caller.map_or("default", |wi| {
        cx.inventory.workloads[wi].namespace.as_str()
    });
    let found = match &o.destination {
        ObservedTarget::Service { namespace, name } => service(cx, namespace.as_deref(), name),
        ObservedTarget::Workload { namespace, name } => workload(cx, Some(namespace), name)
            .or_else(|_| pod(cx, Some(namespace), name))
            .map(|wi| cx.nodes.by_workload[wi]),
        ObservedTarget::Pod { namespace, name } => {
            pod(cx, namespace.as_ref(), name).map(|wi| cx.nodes.by_workload[wi])
        }
        ObservedTarget::Host(host) => match cx.resolver.resolve(host, from_namespace) {
            Target::Service(id) => service(cx, Some(&id.namespace), &id.name),
            // Calls out of the cluster are not edges of the graph.
            Target::External(_) | Target::Ignore => return None,
            Target::Unresolved(_) => Err("no Service of that name".to_string()),
        },
    };
    match found {
        Ok(node) => Some(node),
        Err(why) => {
            let name = match &o.destination {
                ObservedTarget::Service { namespace, name } => match namespace {
                    Some(ns) => format!("{name}.{ns}"),
                    None => name.clone(),
                },
                ObservedTarget::Workload { name, .. }
                | ObservedTarget::Pod { name, .. }
                | ObservedTarget::Host(name) => name.clone(),
            };
            unmatched(facts, "destination", name, why, o);
            None
        }
    }
}

fn unmatched(
    facts: &mut TrafficFacts,
    side: &'static str,
    name: String,
    why: String,
    o: &Observation,
) {
    facts.unmatched.push(UnmatchedName {
        side,
        name,
        why,
        requests: o.counts.requests,
        origin: o.origin.clone(),
    });
}

fn service(cx: &Cx, namespace: Option<&str>, name: &str) -> Result<usize, String> {
    if let Some(ns) = namespace {
        return cx
            .nodes
            .by_service
            .get(&QualifiedName::new(ns, name))
            .copied()
            .ok_or_else(|| format!("no Service {name} in namespace {ns}"));
    }
    let found: BTreeSet<usize> = cx
        .nodes
        .by_service
        .iter()
        .filter(|(id, _)| id.name == name)
        .map(|(_, n)| *n)
        .collect();
    one(found, "Service")
}

fn workload(cx: &Cx, namespace: Option<&String>, name: &str) -> Result<usize, String> {
    let found: BTreeSet<usize> = cx
        .inventory
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| w.name == name && namespace.is_none_or(|ns| *ns == w.namespace))
        .map(|(i, _)| i)
        .collect();
    one(found, "workload")
}

/// The workload a pod belongs to: the longest workload name that the pod's name starts with,
/// followed by the suffix its controller adds (one or two dash-separated parts).
fn pod(cx: &Cx, namespace: Option<&String>, name: &str) -> Result<usize, String> {
    let mut best: Option<(usize, usize)> = None;
    let mut tied = false;
    for (i, w) in cx.inventory.workloads.iter().enumerate() {
        if namespace.is_some_and(|ns| *ns != w.namespace) {
            continue;
        }
        let matches = name == w.name
            || name
                .strip_prefix(w.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(controller_suffix);
        if !matches {
            continue;
        }
        match best {
            Some((len, _)) if len > w.name.len() => {}
            Some((len, _)) if len == w.name.len() => tied = true,
            _ => {
                best = Some((w.name.len(), i));
                tied = false;
            }
        }
    }
    match best {
        Some((_, i)) if !tied => Ok(i),
        Some(_) => Err("the name fits workloads of several namespaces".into()),
        None => Err("no workload whose pods are named so".into()),
    }
}

/// `5b64f47978-x7k2p` (Deployment), `x7k2p` (DaemonSet, Job), `0` (StatefulSet),
/// `28745120-x7k2p` (CronJob).
fn controller_suffix(rest: &str) -> bool {
    let parts: Vec<&str> = rest.split('-').collect();
    (1..=2).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 12 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The workload running as a principal `<trust-domain>/ns/<ns>/sa/<sa>`, when exactly one
/// node runs as it; a shared identity cannot tell its workloads apart.
fn principal(cx: &Cx, principal: &str) -> Result<usize, String> {
    let rest = principal.trim_start_matches("spiffe://");
    let parsed = rest
        .split_once("/ns/")
        .and_then(|(_, r)| r.split_once("/sa/"));
    let Some((ns, sa)) = parsed else {
        return Err("not a principal of the form <trust-domain>/ns/<ns>/sa/<sa>".into());
    };
    let found: Vec<usize> = cx
        .inventory
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| w.namespace == ns && w.service_account == sa)
        .map(|(i, _)| i)
        .collect();
    let nodes: BTreeSet<usize> = found.iter().map(|&wi| cx.nodes.by_workload[wi]).collect();
    match nodes.len() {
        0 => Err(format!("no workload runs as service account {sa} in {ns}")),
        1 => Ok(found[0]),
        n => Err(format!(
            "service account {sa} is shared by {n} services, so the caller cannot be told apart"
        )),
    }
}

fn one(found: BTreeSet<usize>, what: &str) -> Result<usize, String> {
    let n = found.len();
    match found.into_iter().next() {
        None => Err(format!("no {what} of that name")),
        Some(i) if n == 1 => Ok(i),
        Some(_) => Err(format!("{n} {what}s of that name in different namespaces")),
    }
}
