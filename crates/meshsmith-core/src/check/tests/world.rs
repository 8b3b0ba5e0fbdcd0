//! Builds a [`Topology`] for check fixtures by hand, so rule tests do not depend on inference.
//!
//! Nodes come from the inventory: every Service with the workloads its selector matches,
//! then every workload no Service selects. A `TestTopology` document adds what inference
//! would find (roles, exposure, current settings, believed protocols) and the edges:
//!
//! ```yaml
//! apiVersion: meshsmith.dev/test
//! kind: TestTopology
//! metadata: {name: topology}
//! services:
//!   shop/orders: {role: aggregator, exposure: ingress-gateway, believed: {"9090": grpc},
//!                 server_first: {"4222": true},
//!                 settings: [{key: PAYMENTS_TIMEOUT, timeout: 30}, {key: PAYMENTS_RETRIES, retries: 3}]}
//! edges:
//!   - {from: edge/api-gateway, to: shop/orders, port: 8080}
//! unresolved:
//!   - {from: shop/orders, host: paymnts.shop, port: 8080}
//! external:               # hosts outside the cluster, classified as inference does
//!   - {from: shop/payments, host: api.stripe.com, port: 443}
//! remove_edges: [...]    # same shape; drops edges other documents add
//! traffic:                # what `--traffic` showed beyond edges
//!   unmatched: [{side: source, name: legacy, why: "no workload of that name", requests: 3}]
//!   outside: [{service: shop/orders, requests: 40}]
//!   unseen: [{from: shop/orders, to: shop/catalog, dropped: true}]
//!   shadow_denied: [{service: shop/catalog, caller: orders, requests: 2}]
//! ```
//! A service may also say `callers: {level: partial, code: MS209, reason: ...}` and
//! `hidden: {why: registry client, signal: ...}`.
//! Several documents merge: the last to mention a service wins (overlays load after the
//! clean configuration), edges add up.

use crate::check::hosts::selector_matches;
use crate::check::rules::undeclared_port_protocol::name_declares_protocol;
use crate::model::*;
use std::collections::BTreeMap;

pub fn protocol_of(name: Option<&str>, app_protocol: Option<&str>) -> Protocol {
    let text = app_protocol
        .or(name.filter(|n| name_declares_protocol(n)))
        .unwrap_or("")
        .to_ascii_lowercase();
    match text.split('-').next().unwrap_or("") {
        "http" | "https" => Protocol::Http,
        "http2" => Protocol::Http2,
        "grpc" => Protocol::Grpc,
        "tcp" | "mongo" | "mysql" | "redis" => Protocol::Tcp,
        "tls" => Protocol::Tls,
        "udp" => Protocol::Udp,
        _ => Protocol::Unknown,
    }
}

use crate::infer::workload_ref;

fn id(text: &str) -> QualifiedName {
    let (ns, name) = text.split_once('/').expect("ids are written ns/name");
    QualifiedName::new(ns, name)
}

pub fn build(inv: &Inventory, docs: &[&Object]) -> Topology {
    let mut overrides: BTreeMap<String, &Node> = BTreeMap::new();
    let mut edges: Vec<(&Node, usize)> = Vec::new();
    // (from, to, the document that removes it): a document never removes its own edges.
    let mut removed: Vec<(String, String, usize)> = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        for (key, node) in doc.doc.at("services").as_map() {
            overrides.insert(key.to_string(), node);
        }
        edges.extend(doc.doc.at("edges").as_seq().iter().map(|e| (e, d)));
        for e in doc.doc.at("remove_edges").as_seq() {
            let text = |k| e.at(k).as_str().unwrap_or("").to_string();
            removed.push((text("from"), text("to"), d));
        }
    }
    let mut services = Vec::new();
    let mut selected = std::collections::BTreeSet::new();
    for svc in &inv.services {
        let workloads: Vec<WorkloadRef> = inv
            .workloads
            .iter()
            .filter(|w| w.namespace == svc.namespace && !svc.selector.is_empty())
            .filter(|w| selector_matches(&svc.selector, &w.pod_labels))
            .inspect(|w| {
                selected.insert(w.id());
            })
            .map(workload_ref)
            .collect();
        let key = format!("{}/{}", svc.namespace, svc.name);
        let extra = overrides.get(&key).copied();
        let ports = svc
            .ports
            .iter()
            .map(|p| {
                let declared = protocol_of(p.name.as_deref(), p.app_protocol.as_deref());
                let believed = extra
                    .and_then(|x| x.at("believed").at(&p.port.to_string()).as_str())
                    .map_or(declared, |b| protocol_of(Some(b), None));
                PortInfo {
                    port: p.port,
                    name: p.name.clone(),
                    target_port: match p.target_port {
                        Some(PortRef::Number(n)) => Some(n),
                        _ => None,
                    },
                    declared,
                    believed,
                    reason: "test fixture".into(),
                    declared_reason: "test fixture".into(),
                    server_first: extra
                        .and_then(|x| x.at("server_first").at(&p.port.to_string()).as_bool())
                        .unwrap_or(false),
                    main: false,
                    app_protocol: p.app_protocol.clone(),
                }
            })
            .collect();
        let direct = svc
            .service_type
            .is_exposed()
            .then(|| (svc.service_type, svc.origin.clone()));
        services.push(node(
            QualifiedName::new(&svc.namespace, &svc.name),
            Some(svc.name.clone()),
            workloads,
            ports,
            direct,
            svc.origin.clone(),
            extra,
        ));
    }
    for w in inv.workloads.iter().filter(|w| !selected.contains(&w.id())) {
        let extra = overrides
            .get(&format!("{}/{}", w.namespace, w.name))
            .copied();
        let refs = vec![workload_ref(w)];
        services.push(node(
            w.id(),
            None,
            refs,
            Vec::new(),
            None,
            w.origin.clone(),
            extra,
        ));
    }
    services.sort_by(|a, b| a.id.cmp(&b.id));
    let mut topology = Topology {
        services,
        ..Topology::default()
    };
    let mut built = Vec::new();
    for (e, d) in edges {
        let doc = docs[d];
        let from = e.at("from").as_str().unwrap_or("").to_string();
        let to = e.at("to").as_str().unwrap_or("").to_string();
        if removed
            .iter()
            .any(|(f, t, by)| *f == from && *t == to && *by != d)
        {
            continue;
        }
        let to_id = id(&to);
        let port = e.at("port").as_i64().and_then(|p| u16::try_from(p).ok());
        let callee = topology.service(&to_id).expect("edge names a node");
        let protocol = port
            .and_then(|p| callee.port(p))
            .or(callee.primary_port())
            .map_or(Protocol::Unknown, |p| p.believed);
        built.push(Edge {
            from: id(&from),
            to: to_id,
            port,
            via: Vec::new(),
            protocol,
            confidence: Confidence::High,
            evidence: vec![Evidence {
                origin: doc.origin_at(e),
                kind: HintKind::Annotation,
                detail: format!("test edge {from} -> {to}"),
            }],
            observed: None,
        });
    }
    built.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    topology.edges = built;
    for doc in docs {
        let t = doc.doc.at("traffic");
        if t.is_map() {
            topology.traffic = Some(traffic(doc, t));
        }
    }
    for doc in docs {
        for u in doc.doc.at("unresolved").as_seq() {
            let from = u.at("from").as_str().unwrap_or("");
            let host = u.at("host").as_str().unwrap_or("").to_string();
            topology.unresolved.push(Unresolved {
                from: id(from),
                port: u.at("port").as_i64().and_then(|p| u16::try_from(p).ok()),
                evidence: vec![Evidence {
                    origin: doc.origin_at(u),
                    kind: HintKind::Env,
                    detail: format!("test reference to {host}"),
                }],
                host,
            });
        }
        for x in doc.doc.at("external").as_seq() {
            let host = x.at("host").as_str().unwrap_or("").to_string();
            let port = x.at("port").as_i64().and_then(|p| u16::try_from(p).ok());
            topology.external.push(ExternalCall {
                from: id(x.at("from").as_str().unwrap_or("")),
                port,
                protocol: Protocol::Http,
                tls: port == Some(443),
                restricted: crate::infer::restricted_host(&host),
                evidence: vec![Evidence {
                    origin: doc.origin_at(x),
                    kind: HintKind::Env,
                    detail: format!("test reference to {host}"),
                }],
                host,
            });
        }
    }
    topology
}

fn node(
    id: QualifiedName,
    service: Option<String>,
    workloads: Vec<WorkloadRef>,
    ports: Vec<PortInfo>,
    direct: Option<(ServiceType, Origin)>,
    origin: Origin,
    extra: Option<&Node>,
) -> MeshService {
    let extra_at = |k: &str| {
        extra
            .map_or(&Node::new(Value::Null, 0), |x| x.at(k))
            .clone()
    };
    let role = extra_at("role")
        .as_str()
        .and_then(Role::parse)
        .unwrap_or(Role::SyncApi);
    let mut exposure = Exposure {
        direct,
        ..Exposure::default()
    };
    if extra_at("exposure").as_str() == Some("ingress-gateway") {
        exposure.ingress_gateway.push(origin.clone());
    }
    let settings = extra_at("settings")
        .as_seq()
        .iter()
        .filter_map(|s| {
            let key = s.at("key").as_str()?.to_string();
            let (value, is_timeout): (f64, bool) =
                match (s.at("timeout").as_str(), s.at("retries").as_str()) {
                    (Some(t), _) => (t.parse().ok()?, true),
                    (None, Some(r)) => (r.parse().ok()?, false),
                    _ => return None,
                };
            Some(ResilienceSetting {
                raw: value.to_string(),
                key,
                value,
                is_timeout,
                origin: origin.clone(),
            })
        })
        .collect();
    let protocol = ports
        .first()
        .map_or(Protocol::Unknown, |p: &PortInfo| p.believed);
    let declared_protocol = ports.first().map_or(Protocol::Unknown, |p| p.declared);
    MeshService {
        id,
        service,
        aliases: Vec::new(),
        external_name: None,
        workloads,
        ports,
        protocol,
        protocol_reason: "test fixture".into(),
        declared_protocol,
        declared_reason: "test fixture".into(),
        role,
        role_reason: "test fixture".into(),
        exposure,
        settings,
        timeout_audit: TimeoutAudit::Reasonable,
        callers: callers_of(&extra_at("callers"), &origin),
        hidden_calls: hidden_of(&extra_at("hidden"), &origin),
        origin,
    }
}

/// `callers: {level: partial, code: MS210, reason: "..."}`; known when absent.
fn callers_of(node: &Node, origin: &Origin) -> CallerKnowledge {
    let level = match node.at("level").as_str() {
        Some("unknown") => Completeness::Unknown,
        Some("partial") => Completeness::Partial,
        _ => return CallerKnowledge::known("test fixture"),
    };
    let code = match node.at("code").as_str() {
        Some("MS208") => "MS208",
        Some("MS209") => "MS209",
        Some("MS210") => "MS210",
        _ => "MS211",
    };
    CallerKnowledge {
        level,
        reasons: vec![CompletenessReason {
            code,
            message: node
                .at("reason")
                .as_str()
                .unwrap_or("test reason")
                .to_string(),
            origin: Some(origin.clone()),
        }],
        basis: String::new(),
    }
}

/// `hidden: {why: registry client, signal: setting EUREKA_URL}`.
fn hidden_of(node: &Node, origin: &Origin) -> Vec<HiddenCalls> {
    let Some(why) = node.at("why").as_str() else {
        return Vec::new();
    };
    vec![HiddenCalls {
        workload: node.at("workload").as_str().unwrap_or("").to_string(),
        why: why.to_string(),
        signal: node.at("signal").as_str().unwrap_or("").to_string(),
        origin: origin.clone(),
    }]
}

/// The `traffic:` section of a test topology.
fn traffic(doc: &Object, t: &Node) -> TrafficReport {
    let text = |n: &Node, k: &str| n.at(k).as_str().unwrap_or("").to_string();
    let count = |n: &Node| n.at("requests").as_i64().unwrap_or(1) as u64;
    TrafficReport {
        unmatched: t
            .at("unmatched")
            .as_seq()
            .iter()
            .map(|u| UnmatchedName {
                side: if text(u, "side") == "source" {
                    "source"
                } else {
                    "destination"
                },
                name: text(u, "name"),
                why: text(u, "why"),
                requests: count(u),
                origin: doc.origin_at(u),
            })
            .collect(),
        outside: t
            .at("outside")
            .as_seq()
            .iter()
            .map(|o| OutsideCallers {
                service: id(&text(o, "service")),
                requests: count(o),
                origin: doc.origin_at(o),
            })
            .collect(),
        unseen: t
            .at("unseen")
            .as_seq()
            .iter()
            .map(|u| UnseenCall {
                from: id(&text(u, "from")),
                to: id(&text(u, "to")),
                confidence: Confidence::Low,
                dropped: u.at("dropped").as_bool() == Some(true),
                evidence: Some(Evidence {
                    origin: doc.origin_at(u),
                    kind: HintKind::Env,
                    detail: "test setting".into(),
                }),
            })
            .collect(),
        shadow_denied: t
            .at("shadow_denied")
            .as_seq()
            .iter()
            .map(|d| ShadowDenial {
                service: id(&text(d, "service")),
                caller: d.at("caller").as_str().map(str::to_string),
                requests: count(d),
                origin: doc.origin_at(d),
            })
            .collect(),
        ..TrafficReport::default()
    }
}
