//! Istio and Ingress resources already present -> exposure (which services outside traffic
//! reaches through a gateway or an Ingress) and candidates (a VirtualService route that names
//! its callers with `sourceLabels`).

use super::super::resolve::Target;
use super::{Callee, Candidate, Cx};
use crate::model::*;

#[derive(Default)]
pub struct IstioFacts {
    /// Service -> VirtualServices bound to a gateway that route to it.
    pub gateway_routes: Vec<(QualifiedName, Origin)>,
    pub ingress_routes: Vec<(QualifiedName, Origin)>,
    pub calls: Vec<Candidate>,
}

pub(crate) fn read(cx: &Cx) -> IstioFacts {
    let mut facts = IstioFacts::default();
    for vs in cx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        let bound_to_gateway = vs
            .spec()
            .at("gateways")
            .as_seq()
            .iter()
            .filter_map(Node::as_str)
            .any(|g| g != "mesh");
        for family in ["http", "tcp", "tls"] {
            for route in vs.spec().at(family).as_seq() {
                read_route(cx, vs, route, bound_to_gateway, &mut facts);
            }
        }
    }
    for ing in &cx.inventory.ingresses {
        for b in &ing.backends {
            facts.ingress_routes.push((
                QualifiedName::new(&ing.namespace, &b.service),
                b.origin.clone(),
            ));
        }
    }
    facts
}

/// One route of a VirtualService: its destinations are exposed when the route applies to a
/// gateway, and called by the workloads its `sourceLabels` select.
fn read_route(
    cx: &Cx,
    vs: &IstioResource,
    route: &Node,
    bound_to_gateway: bool,
    facts: &mut IstioFacts,
) {
    let matches = route.at("match").as_seq();
    let route_gateways: Vec<&str> = matches
        .iter()
        .flat_map(|m| m.at("gateways").as_seq().iter().filter_map(Node::as_str))
        .collect();
    let via_gateway = if route_gateways.is_empty() {
        bound_to_gateway
    } else {
        route_gateways.iter().any(|g| *g != "mesh")
    };
    let source_labels: Vec<StringMap> = matches
        .iter()
        .map(|m| crate::inventory::string_map(m.at("sourceLabels")))
        .filter(|l| !l.is_empty())
        .collect();
    for dest in route.at("route").as_seq() {
        let d = dest.at("destination");
        let Some(host) = d.at("host").as_str() else {
            continue;
        };
        let Target::Service(callee) = cx.resolver.resolve(host, &vs.namespace) else {
            continue;
        };
        let origin = vs.origin_at(d.at("host"));
        if via_gateway {
            facts.gateway_routes.push((callee.clone(), origin.clone()));
        }
        let Some(&node) = cx.nodes.by_service.get(&callee) else {
            continue;
        };
        let port = d
            .path(&["port", "number"])
            .as_i64()
            .and_then(|n| u16::try_from(n).ok());
        for labels in &source_labels {
            let callers = cx
                .inventory
                .workloads
                .iter()
                .enumerate()
                .filter(|(_, w)| labels.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v)));
            for (wi, _) in callers {
                facts.calls.push(Candidate {
                    caller: wi,
                    callee: Callee::Node { node, port },
                    evidence: Evidence {
                        origin: origin.clone(),
                        kind: HintKind::IstioConfig,
                        detail: format!(
                            "VirtualService {}/{} routes sourceLabels {:?} to {host}",
                            vs.namespace, vs.name, labels
                        ),
                    },
                    confidence: Confidence::High,
                    observed: None,
                });
            }
        }
    }
}
