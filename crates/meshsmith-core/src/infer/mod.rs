//! Inventory -> [`Topology`]: the service graph with evidence, protocols, roles and today's
//! timeouts.
//!
//! ```text
//!  workloads ─hints─▶ addresses ─resolve─▶ edges / unresolved / external
//!  services ──nodes─▶ graph nodes ─protocol, exposure, roles, settings─▶ MeshService
//! ```
//! Cannot fail: what it cannot place becomes an unresolved name or a note.

mod address;
mod env;
mod hints;
mod istio;
mod nodes;
mod protocol;
mod resolve;
mod roles;
mod settings;

pub use hints::CALLS_ANNOTATION;
pub use roles::ROLE_ANNOTATION;
pub use settings::{parse_duration, TOO_LONG_SECONDS};

use crate::model::*;
use rayon::prelude::*;
use resolve::{Resolver, Target};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
struct EdgeDraft {
    ports: SmallSet<u16>,
    schemes: SmallSet<String>,
    evidence: SmallSet<Evidence>,
    confidence: Option<Confidence>,
}

#[derive(Default)]
struct LooseDraft {
    port: Option<u16>,
    schemes: SmallSet<String>,
    evidence: SmallSet<Evidence>,
}

/// A sorted set kept in one vector: an edge gathers a handful of ports, schemes and pieces
/// of evidence, for which a tree's nodes would cost more than the items.
struct SmallSet<T>(Vec<T>);

impl<T> Default for SmallSet<T> {
    fn default() -> Self {
        SmallSet(Vec::new())
    }
}

impl<T: Ord> SmallSet<T> {
    fn insert(&mut self, item: T) {
        if let Err(i) = self.0.binary_search(&item) {
            self.0.insert(i, item);
        }
    }

    fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.insert(item);
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
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

pub fn infer(inventory: &Inventory) -> Topology {
    let resolver = Resolver::new(inventory);
    let nodes = nodes::build(inventory);
    let users = hints::config_map_users(inventory);
    let facts = istio::read(inventory, &resolver);
    let per_workload: Vec<Vec<hints::Hint>> = inventory
        .workloads
        .par_iter()
        .map(|w| hints::workload_hints(inventory, w, &users))
        .collect();

    let mut edges: BTreeMap<(usize, usize), EdgeDraft> = BTreeMap::new();
    let mut unresolved: BTreeMap<(usize, String), LooseDraft> = BTreeMap::new();
    let mut external: BTreeMap<(usize, String), LooseDraft> = BTreeMap::new();
    for (wi, hints) in per_workload.into_iter().enumerate() {
        let w = &inventory.workloads[wi];
        let from = nodes.by_workload[wi];
        for h in hints {
            let addr = &h.address;
            match resolver.resolve(&addr.host, &w.namespace) {
                Target::Service(callee) => {
                    let Some(&to) = nodes.by_service.get(&callee) else {
                        continue;
                    };
                    if to == from {
                        continue;
                    }
                    let e = edges.entry((from, to)).or_default();
                    e.ports.extend(addr.port);
                    e.schemes.extend(addr.scheme.clone());
                    e.evidence.insert(h.evidence);
                    e.confidence = e.confidence.max(Some(h.confidence));
                }
                Target::Unresolved(host) => {
                    if host == w.name || host == nodes.drafts[from].id.name {
                        continue;
                    }
                    let u = unresolved.entry((from, host)).or_default();
                    u.port = u.port.or(addr.port);
                    u.evidence.insert(h.evidence);
                }
                Target::External(host) => {
                    let x = external.entry((from, host)).or_default();
                    x.port = x.port.or(addr.port);
                    x.schemes.extend(addr.scheme.clone());
                    x.evidence.insert(h.evidence);
                }
                Target::Ignore => {}
            }
        }
    }
    for call in facts.calls {
        let from = nodes.by_workload[call.caller];
        let Some(&to) = nodes.by_service.get(&call.callee) else {
            continue;
        };
        if to != from {
            let e = edges.entry((from, to)).or_default();
            e.ports.extend(call.port);
            e.evidence.insert(call.evidence);
            e.confidence = e.confidence.max(Some(Confidence::High));
        }
    }

    // Schemes callers used, per callee node, to help name unlabelled ports.
    let mut schemes_of: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for ((_, to), e) in &edges {
        schemes_of
            .entry(*to)
            .or_default()
            .extend(e.schemes.iter().cloned());
    }

    let mut services: Vec<MeshService> = Vec::with_capacity(nodes.drafts.len());
    for (ni, draft) in nodes.drafts.iter().enumerate() {
        let workloads: Vec<&Workload> = draft
            .workloads
            .iter()
            .map(|&i| &inventory.workloads[i])
            .collect();
        let svc = draft.service.map(|i| &inventory.services[i]);
        let schemes: Vec<&str> = schemes_of
            .get(&ni)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let ports: Vec<PortInfo> = svc
            .map(|s| {
                s.ports
                    .iter()
                    .map(|p| {
                        let target = protocol::target_port(p, &workloads);
                        let (declared, _) = protocol::declared(p);
                        let (believed, reason) =
                            protocol::believed(p, target, &workloads, &schemes);
                        PortInfo {
                            port: p.port,
                            name: p.name.clone(),
                            target_port: target,
                            declared,
                            believed,
                            reason,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        services.push(MeshService {
            id: draft.id.clone(),
            service: svc.map(|s| s.name.clone()),
            aliases: draft.aliases.clone(),
            external_name: svc.and_then(|s| s.external_name.clone()),
            workloads: workloads.iter().map(|w| workload_ref(w)).collect(),
            ports,
            protocol: Protocol::Unknown,
            declared_protocol: Protocol::Unknown,
            role: Role::SyncApi,
            role_reason: String::new(),
            exposure: Exposure::default(),
            settings: Vec::new(),
            timeout_audit: TimeoutAudit::None,
            origin: svc
                .map(|s| s.origin.clone())
                .or_else(|| workloads.first().map(|w| w.origin.clone()))
                .unwrap_or_else(|| Origin {
                    file: "".into(),
                    line: 0,
                }),
        });
    }

    // Edge ports and protocols, now that callee ports are known.
    let mut topo_edges: Vec<(usize, usize, Edge)> = Vec::new();
    for ((from, to), e) in edges {
        let callee = &services[to];
        let port = edge_port(callee, &e.ports, &e.schemes);
        let protocol = port
            .and_then(|p| callee.port(p))
            .map(|p| p.believed)
            .or_else(|| e.schemes.iter().find_map(|s| protocol::scheme_protocol(s)))
            .unwrap_or(Protocol::Unknown);
        topo_edges.push((
            from,
            to,
            Edge {
                from: services[from].id.clone(),
                to: callee.id.clone(),
                port,
                protocol,
                confidence: e.confidence.unwrap_or(Confidence::High),
                evidence: e.evidence.into_iter().collect(),
            },
        ));
    }

    // Per node, in one pass over the edges: calls per callee port, protocols spoken out,
    // and the number of callees and callers.
    let mut calls_per_port: Vec<BTreeMap<u16, usize>> = vec![BTreeMap::new(); services.len()];
    let mut spoken_out: Vec<Vec<Protocol>> = vec![Vec::new(); services.len()];
    let mut callee_count = vec![0usize; services.len()];
    let mut caller_count = vec![0usize; services.len()];
    for (from, to, e) in &topo_edges {
        if let Some(p) = e.port {
            *calls_per_port[*to].entry(p).or_default() += 1;
        }
        spoken_out[*from].push(e.protocol);
        callee_count[*from] += 1;
        caller_count[*to] += 1;
    }
    for (ni, s) in services.iter_mut().enumerate() {
        // The service's protocol is its most-called port's, else its first port's.
        let main_port = calls_per_port[ni]
            .iter()
            .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
            .and_then(|(p, _)| s.port(*p))
            .or(s.ports.first());
        (s.protocol, s.declared_protocol) = match main_port {
            Some(p) => (p.believed, p.declared),
            None => {
                let out = &spoken_out[ni];
                let spoken = out
                    .iter()
                    .copied()
                    .find(|p| p.is_http_family())
                    .or(out.first().copied())
                    .unwrap_or(Protocol::Http);
                (spoken, Protocol::Unknown)
            }
        };
    }

    // Exposure.
    for (callee, origin) in &facts.gateway_routes {
        if let Some(&n) = nodes.by_service.get(callee) {
            services[n].exposure.ingress_gateway.push(origin.clone());
        }
    }
    for (callee, origin) in &facts.ingress_routes {
        if let Some(&n) = nodes.by_service.get(callee) {
            services[n].exposure.ingress.push(origin.clone());
        }
    }
    for (si, svc) in inventory.services.iter().enumerate() {
        if svc.service_type.is_exposed() {
            if let Some(&n) = nodes
                .by_service
                .get(&QualifiedName::new(&svc.namespace, &svc.name))
            {
                let _ = si;
                services[n]
                    .exposure
                    .direct
                    .get_or_insert((svc.service_type, svc.origin.clone()));
            }
        }
    }

    // Settings, roles, audit.
    let external_by_node: BTreeMap<usize, Vec<&str>> =
        external.keys().fold(BTreeMap::new(), |mut m, (n, h)| {
            m.entry(*n).or_insert_with(Vec::new).push(h.as_str());
            m
        });
    for (ni, draft) in nodes.drafts.iter().enumerate() {
        let workloads: Vec<&Workload> = draft
            .workloads
            .iter()
            .map(|&i| &inventory.workloads[i])
            .collect();
        let env: Vec<env::EnvEntry> = workloads
            .iter()
            .flat_map(|w| hints::main_environment(inventory, w))
            .collect();
        let settings = settings::settings(&env);
        let queue_keys: Vec<String> = env
            .iter()
            .filter(|e| roles::is_queue_key(&e.name))
            .map(|e| e.name.clone())
            .collect();
        let svc = draft.service.map(|i| &inventory.services[i]);
        let mut annotations: Vec<(String, &StringMap)> = Vec::new();
        for w in &workloads {
            annotations.push((
                format!("{} {}", w.kind.as_str(), w.name),
                &w.pod_annotations,
            ));
            annotations.push((format!("{} {}", w.kind.as_str(), w.name), &w.annotations));
        }
        if let Some(s) = svc {
            annotations.push((format!("Service {}", s.name), &s.annotations));
        }
        let s = &services[ni];
        let input = roles::RoleInput {
            annotations: annotations.iter().map(|(w, a)| (w.as_str(), *a)).collect(),
            exposure: &s.exposure,
            has_service: svc.is_some(),
            workloads: workloads.clone(),
            protocol: s.protocol,
            callees: callee_count[ni],
            callers: caller_count[ni],
            external: external_by_node.get(&ni).cloned().unwrap_or_default(),
            queue_keys,
            name: &s.id.name,
        };
        let (role, reason) = roles::role(&input);
        let s = &mut services[ni];
        s.role = role;
        s.role_reason = reason;
        s.timeout_audit = settings::audit(&settings);
        s.settings = settings;
    }

    let id_of = |n: usize| services[n].id.clone();
    let mut unresolved: Vec<Unresolved> = unresolved
        .into_iter()
        .map(|((from, host), d)| Unresolved {
            from: id_of(from),
            host,
            port: d.port,
            evidence: d.evidence.into_iter().collect(),
        })
        .collect();
    let mut external: Vec<ExternalCall> = external
        .into_iter()
        .map(|((from, host), d)| {
            let tls = d
                .schemes
                .iter()
                .any(|s| s.ends_with('s') && s != "redis" || s == "rediss")
                || d.port == Some(443);
            let protocol = d
                .schemes
                .iter()
                .find_map(|s| protocol::scheme_protocol(s))
                .unwrap_or(Protocol::Tcp);
            ExternalCall {
                from: id_of(from),
                host,
                port: d.port.or(if tls { Some(443) } else { None }),
                protocol,
                tls,
                evidence: d.evidence.into_iter().collect(),
            }
        })
        .collect();
    let mut edges: Vec<Edge> = topo_edges.into_iter().map(|(_, _, e)| e).collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    unresolved.sort_by(|a, b| (&a.from, &a.host).cmp(&(&b.from, &b.host)));
    external.sort_by(|a, b| (&a.from, &a.host).cmp(&(&b.from, &b.host)));
    Topology {
        services,
        edges,
        unresolved,
        external,
        notes: inventory.notes.clone(),
    }
}

/// Pod labels that change from one release to the next, which a policy must not select on.
const VOLATILE_LABELS: [&str; 5] = [
    "version",
    "pod-template-hash",
    "controller-revision-hash",
    "app.kubernetes.io/version",
    "helm.sh/chart",
];

/// A workload as a graph node carries it: its account, sidecar annotation and the labels a
/// policy selects it by.
pub fn workload_ref(w: &Workload) -> WorkloadRef {
    WorkloadRef {
        name: w.name.clone(),
        kind: w.kind,
        service_account: w.service_account.clone(),
        sidecar_annotation: w
            .pod_annotations
            .get("sidecar.istio.io/inject")
            .map(|v| v == "true"),
        pod_labels: w.pod_labels.clone(),
        selector: if w.selector.is_empty() {
            w.pod_labels
                .iter()
                .filter(|(k, _)| !VOLATILE_LABELS.contains(k))
                .collect()
        } else {
            w.selector.clone()
        },
        origin: w.origin.clone(),
    }
}

/// The callee port an edge uses: the one named (a Service port, or a target port mapped back),
/// else the scheme's default, else the callee's only or first port.
fn edge_port(
    callee: &MeshService,
    named: &SmallSet<u16>,
    schemes: &SmallSet<String>,
) -> Option<u16> {
    for &p in named {
        if callee.port(p).is_some() {
            return Some(p);
        }
        if let Some(info) = callee.ports.iter().find(|i| i.target_port == Some(p)) {
            return Some(info.port);
        }
    }
    if let Some(&p) = named.iter().next() {
        if callee.ports.is_empty() {
            return Some(p);
        }
    }
    let default = schemes.iter().find_map(|s| match s.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    });
    default
        .filter(|p| callee.port(*p).is_some())
        .or(callee.primary_port().map(|p| p.port))
}

#[cfg(test)]
mod tests;
