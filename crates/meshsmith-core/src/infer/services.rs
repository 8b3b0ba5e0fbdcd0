//! Nodes + merged edges -> [`MeshService`]s and [`Edge`]s: each node's ports with what Istio
//! will do and what the evidence says, each edge's callee port and protocol, each service's
//! main protocol, its exposure, role, today's timeouts, and the workloads whose outbound calls
//! may be hidden.

use super::edges::{Drafts, EdgeDraft, PortHint};
use super::env::EnvEntry;
use super::evidence::istio::IstioFacts;
use super::hidden::{self, NodeFacts};
use super::nodes::Nodes;
use super::ports::HintsByTarget;
use super::protocol::CallerHint;
use super::{ports, protocol, roles, settings, workload_ref};
use crate::model::*;
use std::collections::BTreeMap;

/// A node's workloads and its Service, looked up once.
pub(crate) struct NodeInputs<'a> {
    pub workloads: Vec<&'a Workload>,
    pub service: Option<&'a Service>,
    /// The other Services selecting the node's workloads.
    pub aliases: Vec<&'a Service>,
    pub env: Vec<EnvEntry>,
}

pub(crate) fn node_inputs<'a>(inventory: &'a Inventory, nodes: &Nodes) -> Vec<NodeInputs<'a>> {
    nodes
        .drafts
        .iter()
        .map(|d| {
            let workloads: Vec<&Workload> = d
                .workloads
                .iter()
                .map(|&i| &inventory.workloads[i])
                .collect();
            let env = workloads
                .iter()
                .flat_map(|w| super::env::main_environment(inventory, w))
                .collect();
            NodeInputs {
                workloads,
                service: d.service.map(|i| &inventory.services[i]),
                aliases: d.aliases.iter().map(|&i| &inventory.services[i]).collect(),
                env,
            }
        })
        .collect()
}

/// Each node as a service with its ports as their own evidence shows them; what callers show
/// is added by [`caller_evidence`], role, protocol and exposure later.
pub(crate) fn skeletons(nodes: &Nodes, inputs: &[NodeInputs]) -> Vec<MeshService> {
    nodes
        .drafts
        .iter()
        .zip(inputs)
        .map(|(draft, input)| skeleton(draft, input, &HintsByTarget::new()))
        .collect()
}

/// Each node's ports believed again with what its callers show about them, port by port:
/// the schemes and client settings of the calls that reach a port, and the protocol traffic
/// was seen in.
pub(crate) fn caller_evidence(
    services: &mut [MeshService],
    nodes: &Nodes,
    inputs: &[NodeInputs],
    drafts: &Drafts,
    observed: &[(usize, Option<u16>, Protocol)],
) {
    let mut hints: Vec<HintsByTarget> = vec![HintsByTarget::new(); services.len()];
    for ((_, to), e) in &drafts.edges {
        for h in &e.hints {
            if let Some(target) = ports::hinted_target(&services[*to], h) {
                hints[*to].entry(target).or_default().insert(h.hint.clone());
            }
        }
    }
    for (node, port, p) in observed {
        if !p.is_http_family() && *p != Protocol::Tcp {
            continue;
        }
        let h = PortHint {
            port: *port,
            default_port: None,
            alias: None,
            hint: CallerHint {
                observed: true,
                protocol: *p,
                server_first: false,
                how: format!("observed in traffic as {}", p.as_str()),
            },
        };
        if let Some(target) = ports::hinted_target(&services[*node], &h) {
            hints[*node].entry(target).or_default().insert(h.hint);
        }
    }
    for (ni, shown) in hints.iter().enumerate() {
        if !shown.is_empty() {
            services[ni] = skeleton(&nodes.drafts[ni], &inputs[ni], shown);
        }
    }
}

fn skeleton(
    draft: &super::nodes::NodeDraft,
    input: &NodeInputs,
    hints: &HintsByTarget,
) -> MeshService {
    let svc = input.service;
    let workloads = &input.workloads;
    let ports = svc
        .map(|s| ports::port_infos(s, workloads, hints))
        .unwrap_or_default();
    let mut aliases: Vec<ServiceAlias> = input
        .aliases
        .iter()
        .map(|a| ServiceAlias {
            name: a.name.clone(),
            headless: a.headless,
            ports: ports::port_infos(a, workloads, hints),
            origin: a.origin.clone(),
        })
        .collect();
    aliases.sort_by(|a, b| a.name.cmp(&b.name));
    MeshService {
        id: draft.id.clone(),
        service: svc.map(|s| s.name.clone()),
        aliases,
        external_name: svc.and_then(|s| s.external_name.clone()),
        workloads: workloads.iter().map(|w| workload_ref(w)).collect(),
        ports,
        protocol: Protocol::Unknown,
        protocol_reason: String::new(),
        declared_protocol: Protocol::Unknown,
        declared_reason: String::new(),
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
        callers: CallerKnowledge::known(""),
        hidden_calls: Vec::new(),
    }
}

/// The merged drafts as edges, with their callee port and protocol.
pub(crate) fn edges(
    services: &[MeshService],
    drafts: BTreeMap<(usize, usize), EdgeDraft>,
) -> Vec<(usize, usize, Edge)> {
    drafts
        .into_iter()
        .map(|((from, to), e)| {
            let callee = &services[to];
            let (port, alias_port) = ports::call_port(callee, &e);
            // A call through an alias speaks what the alias's port declares.
            let protocol = alias_port
                .or_else(|| port.and_then(|p| callee.port(p)))
                .map(|p| p.believed)
                .or(e.observed_protocol)
                .or_else(|| e.schemes.iter().find_map(|s| protocol::scheme_protocol(s)))
                .unwrap_or(Protocol::Unknown);
            let edge = Edge {
                from: services[from].id.clone(),
                to: callee.id.clone(),
                port,
                via: e.via.into_vec(),
                protocol,
                confidence: e.confidence.unwrap_or(Confidence::High),
                evidence: e.evidence.into_vec(),
                observed: e.observed,
            };
            (from, to, edge)
        })
        .collect()
}

/// Each service's protocol: its most-called port's (a multi-port Service speaks what its
/// callers use), else the port the catalogue names its server's main one, else its first port
/// with evidence, else its first port. A node without ports serves nothing: it speaks what it
/// speaks to its callees.
pub(crate) fn main_protocols(services: &mut [MeshService], edges: &[(usize, usize, Edge)]) {
    let mut calls_per_port: Vec<BTreeMap<u16, usize>> = vec![BTreeMap::new(); services.len()];
    let mut spoken_out: Vec<Vec<Protocol>> = vec![Vec::new(); services.len()];
    for (from, to, e) in edges {
        if let Some(p) = e.port {
            *calls_per_port[*to].entry(p).or_default() += 1;
        }
        spoken_out[*from].push(e.protocol);
    }
    for (ni, s) in services.iter_mut().enumerate() {
        let called = calls_per_port[ni]
            .iter()
            .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
            .and_then(|(p, _)| s.port(*p));
        let (main, why) = if let Some(p) = called {
            (Some(p), "the port its callers use")
        } else if let Some(p) = s.ports.iter().find(|p| p.main) {
            (Some(p), "its server's main port")
        } else if let Some(p) = s.ports.iter().find(|p| p.believed != Protocol::Unknown) {
            (Some(p), "its first port with evidence")
        } else {
            (s.ports.first(), "its first port")
        };
        match main.cloned() {
            Some(p) => {
                s.protocol = p.believed;
                s.protocol_reason = if s.ports.len() > 1 {
                    format!("port {} ({why}): {}", p.port, p.reason)
                } else {
                    p.reason.clone()
                };
                s.declared_protocol = p.declared;
                s.declared_reason = p.declared_reason.clone();
            }
            None => {
                let out = &spoken_out[ni];
                let spoken = out
                    .iter()
                    .copied()
                    .find(|p| p.is_http_family())
                    .or(out.iter().copied().find(|p| *p != Protocol::Unknown))
                    .unwrap_or(Protocol::Unknown);
                s.protocol = spoken;
                s.protocol_reason = if spoken == Protocol::Unknown {
                    "no Service: it serves nothing, and its calls show no protocol".into()
                } else {
                    format!(
                        "no Service: it serves nothing; it speaks {} to its callees",
                        spoken.as_str()
                    )
                };
                s.declared_protocol = Protocol::Unknown;
                s.declared_reason = "no Service: nothing for Istio to declare".into();
            }
        }
    }
}

/// Gateway routes, Ingresses and LoadBalancer/NodePort Services.
pub(crate) fn exposure(
    services: &mut [MeshService],
    nodes: &Nodes,
    inventory: &Inventory,
    facts: &IstioFacts,
) {
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
    for svc in inventory
        .services
        .iter()
        .filter(|s| s.service_type.is_exposed())
    {
        if let Some(&n) = nodes
            .by_service
            .get(&QualifiedName::new(&svc.namespace, &svc.name))
        {
            services[n]
                .exposure
                .direct
                .get_or_insert((svc.service_type, svc.origin.clone()));
        }
    }
}

/// Roles, today's timeouts and the hidden-call signals, per node.
pub(crate) fn roles_and_signals(
    services: &mut [MeshService],
    inputs: &[NodeInputs],
    edges: &[(usize, usize, Edge)],
    drafts: &Drafts,
) {
    let mut callees = vec![0usize; services.len()];
    let mut callers = vec![0usize; services.len()];
    let mut registry_call: Vec<Option<(String, Origin)>> = vec![None; services.len()];
    let registries: Vec<bool> = services
        .iter()
        .zip(inputs)
        .map(|(s, i)| {
            let images: Vec<&str> = i
                .workloads
                .iter()
                .flat_map(|w| w.containers.iter().map(|c| c.image.as_str()))
                .collect();
            s.service.is_some() && hidden::is_registry(&s.id.name, &images)
        })
        .collect();
    for (from, to, e) in edges {
        callees[*from] += 1;
        callers[*to] += 1;
        if registries[*to] && registry_call[*from].is_none() {
            let origin = e.evidence.first().map(|ev| ev.origin.clone());
            registry_call[*from] = origin.map(|o| (e.to.to_string(), o));
        }
    }
    let mut external: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let mut unresolved = vec![0usize; services.len()];
    for (n, h) in drafts.external.keys() {
        external.entry(*n).or_default().push(h.as_str());
    }
    for (n, _) in drafts.unresolved.keys() {
        unresolved[*n] += 1;
    }
    for (ni, input) in inputs.iter().enumerate() {
        let facts = NodeFacts {
            workloads: input.workloads.clone(),
            env: &input.env,
            exposed: services[ni].exposure.is_exposed(),
            exposure_kind: exposure_kind(&services[ni].exposure),
            has_service: input.service.is_some(),
            visible_calls: callees[ni] + unresolved[ni],
            calls_registry: registry_call[ni].take(),
        };
        services[ni].hidden_calls = hidden::hidden_calls(&facts);
        let ext = external.get(&ni).cloned().unwrap_or_default();
        role_and_settings(&mut services[ni], input, callees[ni], callers[ni], ext);
    }
}

fn role_and_settings(
    s: &mut MeshService,
    input: &NodeInputs,
    callees: usize,
    callers: usize,
    external: Vec<&str>,
) {
    let settings = settings::settings(&input.env);
    let queue_keys: Vec<String> = input
        .env
        .iter()
        .filter(|e| roles::is_queue_key(&e.name))
        .map(|e| e.name.clone())
        .collect();
    let mut annotations: Vec<(String, &StringMap)> = Vec::new();
    for w in &input.workloads {
        let what = format!("{} {}", w.kind.as_str(), w.name);
        annotations.push((what.clone(), &w.pod_annotations));
        annotations.push((what, &w.annotations));
    }
    if let Some(svc) = input.service {
        annotations.push((format!("Service {}", svc.name), &svc.annotations));
    }
    let role_input = roles::RoleInput {
        annotations: annotations.iter().map(|(w, a)| (w.as_str(), *a)).collect(),
        exposure: &s.exposure,
        has_service: input.service.is_some(),
        workloads: input.workloads.clone(),
        protocol: s.protocol,
        ports: &s.ports,
        callees,
        callers,
        external,
        queue_keys,
        name: &s.id.name,
    };
    let (role, reason) = roles::role(&role_input);
    s.role = role;
    s.role_reason = reason;
    s.timeout_audit = settings::audit(&settings);
    s.settings = settings;
}

fn exposure_kind(e: &Exposure) -> String {
    if let Some((kind, _)) = &e.direct {
        format!("{} Service", kind.as_str())
    } else if !e.ingress.is_empty() {
        "Ingress".to_string()
    } else {
        "ingress gateway route".to_string()
    }
}
