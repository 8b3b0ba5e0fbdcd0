//! Inventory (+ traffic, + the policy file's confirmed callers) -> [`Topology`]: the service
//! graph with evidence, protocols, roles, today's timeouts, and how completely each service's
//! callers are known.
//!
//! ```text
//!  workloads ─evidence sources─▶ candidates ─edges (resolve, merge)─▶ edges / unresolved / external
//!  services ──nodes──▶ graph nodes ─services (ports, exposure, roles, hidden calls)─▶ MeshService
//!  traffic ───────────▶ observed ─▶ unseen calls dropped, TrafficReport
//!                                   completeness ─▶ known / partial / unknown per service
//! ```
//! Where edges come from is [`evidence`]: one module per source. Cannot fail: what it cannot
//! place becomes an unresolved name, an unmatched traffic name or a note.

mod address;
mod catalogue;
mod completeness;
mod edges;
mod env;
mod evidence;
mod hidden;
mod nodes;
mod observed;
mod ports;
mod protocol;
mod resolve;
mod roles;
mod services;
mod settings;

pub use evidence::{names_a_host, Extra, CALLS_ANNOTATION};
pub use resolve::restricted as restricted_host;
pub use roles::ROLE_ANNOTATION;
pub use settings::{parse_duration, TOO_LONG_SECONDS};

use crate::model::*;
use evidence::{Candidate, Cx, PER_WORKLOAD};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The graph the manifests alone show.
pub fn infer(inventory: &Inventory) -> Topology {
    infer_with(inventory, &Extra::default())
}

/// The graph the manifests, the traffic and the policy file's confirmed callers show.
pub fn infer_with(inventory: &Inventory, extra: &Extra) -> Topology {
    let resolver = resolve::Resolver::new(inventory);
    let nodes = nodes::build(inventory);
    let cx = Cx {
        inventory,
        resolver: &resolver,
        nodes: &nodes,
        users: evidence::config_map_users(inventory),
        extra,
    };
    let per_workload: Vec<Vec<Candidate>> = inventory
        .workloads
        .par_iter()
        .enumerate()
        .map(|(wi, w)| {
            PER_WORKLOAD
                .iter()
                .flat_map(|source| source(&cx, wi, w))
                .collect()
        })
        .collect();
    let mut whole = evidence::whole_input(&cx);
    let candidates = per_workload.into_iter().flatten();
    let mut drafts = edges::merge(&cx, candidates.chain(std::mem::take(&mut whole.candidates)));

    let inputs = services::node_inputs(inventory, &nodes);
    let observed_protocols = whole.traffic.as_ref().map_or(&[][..], |t| &t.protocols[..]);
    let mut services = services::skeletons(&nodes, &inputs);
    services::caller_evidence(&mut services, &nodes, &inputs, &drafts, observed_protocols);
    let mut edges = services::edges(&services, std::mem::take(&mut drafts.edges));
    services::main_protocols(&mut services, &edges);
    services::exposure(&mut services, &nodes, inventory, &whole.istio);
    services::roles_and_signals(&mut services, &inputs, &edges, &drafts);

    let (report, coverage) = match (&whole.traffic, extra.traffic) {
        (Some(facts), Some(traffic)) => {
            let (r, c) = observed::apply(facts, traffic, &services, &mut edges);
            (Some(r), c)
        }
        _ => (None, completeness::Coverage::default()),
    };
    let edges: Vec<Edge> = edges.into_iter().map(|(_, _, e)| e).collect();
    let confirmed: BTreeMap<QualifiedName, String> = whole
        .declared
        .confirmed
        .iter()
        .map(|(n, basis)| (nodes.drafts[*n].id.clone(), basis.clone()))
        .collect();
    let knowledge = completeness::assess(&services, &edges, &confirmed, &coverage);
    drop(coverage);
    for (s, k) in services.iter_mut().zip(knowledge) {
        s.callers = k;
    }
    let mut notes = inventory.notes.clone();
    notes.append(&mut whole.declared.notes);
    let mut topology = assemble(services, edges, drafts, report, notes);
    topology.mesh_routes = std::mem::take(&mut whole.istio.mesh_routes);
    topology.mesh_routes.sort();
    topology.mesh_routes.dedup();
    topology.own_config = std::mem::take(&mut whole.istio.own_config);
    topology.own_config.sort();
    topology
}

/// Sorts everything into the topology's order.
fn assemble(
    mut services: Vec<MeshService>,
    mut edges: Vec<Edge>,
    drafts: edges::Drafts,
    traffic: Option<TrafficReport>,
    notes: Vec<Note>,
) -> Topology {
    let id_of = |n: usize| services[n].id.clone();
    let mut unresolved: Vec<Unresolved> = drafts
        .unresolved
        .into_iter()
        .map(|((from, host), d)| Unresolved {
            from: id_of(from),
            host,
            port: d.port,
            evidence: d.evidence.into_vec(),
        })
        .collect();
    let mut external: Vec<ExternalCall> = drafts
        .external
        .into_iter()
        .map(|((from, host), d)| external_call(id_of(from), host, d))
        .collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    unresolved.sort_by(|a, b| (&a.from, &a.host).cmp(&(&b.from, &b.host)));
    external.sort_by(|a, b| (&a.from, &a.host).cmp(&(&b.from, &b.host)));
    Topology {
        services,
        edges,
        unresolved,
        external,
        notes,
        traffic,
        mesh_routes: Vec::new(),
        own_config: Vec::new(),
    }
}

fn external_call(from: QualifiedName, host: String, d: edges::LooseDraft) -> ExternalCall {
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
    let restricted = resolve::restricted(&host);
    ExternalCall {
        from,
        host,
        port: d.port.or(if tls { Some(443) } else { None }),
        protocol,
        tls,
        restricted,
        evidence: d.evidence.into_vec(),
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
        host_network: w.host_network,
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

#[cfg(test)]
mod observed_tests;
#[cfg(test)]
mod protocol_tests;
#[cfg(test)]
mod role_tests;
#[cfg(test)]
mod tests;
