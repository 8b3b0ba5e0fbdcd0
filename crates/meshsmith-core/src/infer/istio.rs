//! Istio and Ingress resources already present -> exposure (which services outside traffic
//! reaches through a gateway or an Ingress) and edges (a VirtualService route that names its
//! callers with `sourceLabels`).

use super::resolve::{Resolver, Target};
use crate::model::*;

/// A call read from Istio config: caller workload index, callee Service, evidence.
pub struct IstioCall {
    pub caller: usize,
    pub callee: QualifiedName,
    pub port: Option<u16>,
    pub evidence: Evidence,
}

#[derive(Default)]
pub struct IstioFacts {
    /// Service -> VirtualServices bound to a gateway that route to it.
    pub gateway_routes: Vec<(QualifiedName, Origin)>,
    pub ingress_routes: Vec<(QualifiedName, Origin)>,
    pub calls: Vec<IstioCall>,
}

pub fn read(inventory: &Inventory, resolver: &Resolver) -> IstioFacts {
    let mut facts = IstioFacts::default();
    for vs in inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        let gateways: Vec<&str> = vs
            .spec()
            .at("gateways")
            .as_seq()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        let bound_to_gateway = gateways.iter().any(|g| *g != "mesh");
        for family in ["http", "tcp", "tls"] {
            for route in vs.spec().at(family).as_seq() {
                let route_gateways: Vec<&str> = route
                    .at("match")
                    .as_seq()
                    .iter()
                    .flat_map(|m| m.at("gateways").as_seq().iter().filter_map(Node::as_str))
                    .collect();
                let via_gateway = if route_gateways.is_empty() {
                    bound_to_gateway
                } else {
                    route_gateways.iter().any(|g| *g != "mesh")
                };
                let source_labels: Vec<StringMap> = route
                    .at("match")
                    .as_seq()
                    .iter()
                    .map(|m| crate::inventory::string_map(m.at("sourceLabels")))
                    .filter(|l| !l.is_empty())
                    .collect();
                for dest in route.at("route").as_seq() {
                    let d = dest.at("destination");
                    let Some(host) = d.at("host").as_str() else {
                        continue;
                    };
                    let Target::Service(callee) = resolver.resolve(host, &vs.namespace) else {
                        continue;
                    };
                    let origin = vs.origin_at(d.at("host"));
                    if via_gateway {
                        facts.gateway_routes.push((callee.clone(), origin.clone()));
                    }
                    let port = d
                        .path(&["port", "number"])
                        .as_i64()
                        .and_then(|n| u16::try_from(n).ok());
                    for labels in &source_labels {
                        for (wi, w) in inventory.workloads.iter().enumerate() {
                            if labels.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v)) {
                                facts.calls.push(IstioCall {
                                    caller: wi,
                                    callee: callee.clone(),
                                    port,
                                    evidence: Evidence {
                                        origin: origin.clone(),
                                        kind: HintKind::IstioConfig,
                                        detail: format!(
                                            "VirtualService {}/{} routes sourceLabels {:?} to {host}",
                                            vs.namespace, vs.name, labels
                                        ),
                                    },
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    for ing in &inventory.ingresses {
        for b in &ing.backends {
            facts.ingress_routes.push((
                QualifiedName::new(&ing.namespace, &b.service),
                b.origin.clone(),
            ));
        }
    }
    facts
}
