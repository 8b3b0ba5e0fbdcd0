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
    /// Services whose host a VirtualService routes on the `mesh` gateway.
    pub mesh_routes: Vec<MeshRoute>,
    /// Every Istio object of the manifests, with what it governs.
    pub own_config: Vec<OwnObject>,
}

pub(crate) fn read(cx: &Cx) -> IstioFacts {
    let mut facts = IstioFacts::default();
    let mut by_namespace: std::collections::HashMap<&str, Vec<&Workload>> = Default::default();
    for w in &cx.inventory.workloads {
        by_namespace.entry(&w.namespace).or_default().push(w);
    }
    facts.own_config = cx
        .inventory
        .istio
        .iter()
        .map(|r| own_object(cx, &by_namespace, r))
        .collect();
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
        mesh_routes(cx, vs, &mut facts.mesh_routes);
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

/// The Services whose hosts `vs` routes for sidecars: it names no gateway, or `mesh`.
fn mesh_routes(cx: &Cx, vs: &IstioResource, out: &mut Vec<MeshRoute>) {
    let gateways = vs.spec().at("gateways").as_seq();
    let for_sidecars = gateways.is_empty() || gateways.iter().any(|g| g.as_str() == Some("mesh"));
    if !for_sidecars {
        return;
    }
    let hosts = vs.spec().at("hosts").as_seq();
    for host in hosts {
        let Some(name) = host.as_str() else {
            continue;
        };
        if let Target::Service(service) = cx.resolver.resolve(name, &vs.namespace) {
            let pass_through = hosts.len() == 1 && passes_through(cx, vs, &service);
            out.push(MeshRoute {
                service,
                virtual_service: QualifiedName::new(&vs.namespace, &vs.name),
                pass_through,
                original: pass_through.then(|| vs.to_json().to_string()),
                origin: vs.origin_at(host),
            });
        }
    }
}

/// What an Istio object of the manifests governs: the workloads its selector picks (for the
/// kinds of which Istio applies one per workload) and the hosts of a DestinationRule.
fn own_object(
    cx: &Cx,
    by_namespace: &std::collections::HashMap<&str, Vec<&Workload>>,
    r: &IstioResource,
) -> OwnObject {
    let selector = match r.kind.as_str() {
        "PeerAuthentication" | "AuthorizationPolicy" => &["selector", "matchLabels"][..],
        "Sidecar" => &["workloadSelector", "labels"][..],
        _ => &[][..],
    };
    let labels = if selector.is_empty() {
        StringMap::new()
    } else {
        crate::inventory::string_map(r.spec().path(selector))
    };
    let workloads = if labels.is_empty() {
        Vec::new()
    } else {
        by_namespace
            .get(r.namespace.as_str())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|w| labels.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v)))
            .map(|w| QualifiedName::new(&w.namespace, &w.name))
            .collect()
    };
    let mut hosts = Vec::new();
    if r.kind.as_str() == "DestinationRule" {
        if let Some(host) = r.spec().at("host").as_str() {
            if let Target::Service(s) = cx.resolver.resolve(host, &r.namespace) {
                hosts.push(format!("{}.{}.svc.cluster.local", s.name, s.namespace));
            }
        }
    }
    let mtls_mode = (r.kind.as_str() == "PeerAuthentication").then(|| peer_modes(r.spec()));
    OwnObject {
        kind: r.kind.to_string(),
        object: QualifiedName::new(&r.namespace, &r.name),
        workloads,
        hosts,
        mtls_mode,
        origin: r.origin(),
    }
}

/// A PeerAuthentication's mode, then each port whose own mode differs from STRICT:
/// `PERMISSIVE, port 9090 DISABLE`; exactly `STRICT` only where every port is STRICT.
fn peer_modes(spec: &Node) -> String {
    let mode = |n: &Node| n.at("mode").as_str().unwrap_or("UNSET").to_string();
    let mut text = mode(spec.at("mtls"));
    for (port, setting) in spec.at("portLevelMtls").as_map() {
        let m = mode(setting);
        if m != "STRICT" && !(m == "UNSET" && text == "STRICT") {
            text.push_str(&format!(", port {port} {m}"));
        }
    }
    text
}

/// `vs` only sends its HTTP traffic to `service`: one route, with nothing but one
/// destination (a port at most) that is `service`, and no TCP or TLS routes.
fn passes_through(cx: &Cx, vs: &IstioResource, service: &QualifiedName) -> bool {
    let spec = vs.spec();
    let plain_keys = spec
        .as_map()
        .iter()
        .all(|(k, _)| matches!(k.as_str(), "hosts" | "http" | "gateways"));
    let [route] = spec.at("http").as_seq() else {
        return false;
    };
    let [destination] = route.at("route").as_seq() else {
        return false;
    };
    let only = |node: &Node, keys: &[&str]| {
        node.as_map()
            .iter()
            .all(|(k, _)| keys.contains(&k.as_str()))
    };
    let d = destination.at("destination");
    let same = d.at("host").as_str().is_some_and(
        |h| matches!(cx.resolver.resolve(h, &vs.namespace), Target::Service(s) if &s == service),
    );
    plain_keys
        && only(route, &["route"])
        && only(destination, &["destination"])
        && only(d, &["host", "port"])
        && same
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
