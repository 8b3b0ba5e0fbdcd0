//! Hand-built topologies for tests: the 22-service shopfront of the product description,
//! and a builder for arbitrary graphs.

use crate::model::*;
use std::sync::Arc;

pub fn origin(line: u32) -> Origin {
    Origin::new(&Arc::from("shopfront.yaml"), line)
}

/// A node with one Deployment of the same name, its own ServiceAccount and `app` label.
pub fn node(ns: &str, name: &str, role: Role, protocol: Protocol) -> MeshService {
    let port = if protocol == Protocol::Grpc {
        9090
    } else {
        8080
    };
    MeshService {
        id: QualifiedName::new(ns, name),
        service: Some(name.to_string()),
        aliases: Vec::new(),
        external_name: None,
        workloads: vec![WorkloadRef {
            name: name.to_string(),
            kind: WorkloadKind::Deployment,
            service_account: name.to_string(),
            sidecar_annotation: None,
            host_network: false,
            pod_labels: [("app".to_string(), name.to_string())].into(),
            selector: [("app".to_string(), name.to_string())].into(),
            origin: origin(1),
        }],
        ports: vec![PortInfo {
            port,
            name: Some(protocol.as_str().to_string()),
            target_port: Some(port),
            declared: protocol,
            believed: protocol,
            reason: "port name".to_string(),
            declared_reason: String::new(),
            server_first: false,
            main: false,
            app_protocol: None,
        }],
        protocol,
        declared_protocol: protocol,
        declared_reason: String::new(),
        protocol_reason: String::new(),
        role,
        role_reason: format!("test fixture: {}", role.as_str()),
        exposure: Exposure::default(),
        settings: Vec::new(),
        timeout_audit: TimeoutAudit::None,
        origin: origin(1),
        callers: CallerKnowledge::known("test fixture"),
        hidden_calls: Vec::new(),
    }
}

pub fn edge(from: &QualifiedName, to: &QualifiedName, protocol: Protocol) -> Edge {
    Edge {
        from: from.clone(),
        to: to.clone(),
        port: None,
        via: Vec::new(),
        protocol,
        confidence: Confidence::High,
        evidence: vec![Evidence {
            origin: origin(2),
            kind: HintKind::Env,
            detail: format!("env URL=http://{}.{}", to.name, to.namespace),
        }],
        observed: None,
    }
}

/// Sorts the lists as `infer` hands them over.
pub fn topology(
    mut services: Vec<MeshService>,
    mut edges: Vec<Edge>,
    external: Vec<ExternalCall>,
) -> Topology {
    services.sort_by(|a, b| a.id.cmp(&b.id));
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    Topology {
        services,
        edges,
        unresolved: Vec::new(),
        external,
        notes: Vec::new(),
        traffic: None,
        mesh_routes: Vec::new(),
        own_config: Vec::new(),
    }
}

/// The shopfront: 22 services (16 HTTP, 6 gRPC) in four namespaces.
pub fn shopfront() -> Topology {
    use Protocol::{Grpc as G, Http as H};
    use Role::*;
    let table: [(&str, &str, Role, Protocol); 22] = [
        ("edge", "api-gateway", Gateway, H),
        ("edge", "stripe-webhook", WebhookReceiver, H),
        ("shop", "order-service", Aggregator, H),
        ("shop", "payment-service", ExternalIntegration, H),
        ("shop", "product-service", SyncApi, H),
        ("shop", "user-service", SyncApi, G),
        ("shop", "cart-service", Aggregator, H),
        ("shop", "notification-service", ExternalIntegration, H),
        ("shop", "review-service", SyncApi, H),
        ("shop", "recommendation-service", SyncApi, G),
        ("internal", "ledger-service", SyncApi, H),
        ("internal", "pricing-service", SyncApi, G),
        ("internal", "inventory-service", SyncApi, G),
        ("internal", "search-service", SyncApi, H),
        ("internal", "catalog-service", SyncApi, H),
        ("internal", "auth-service", SyncApi, G),
        ("internal", "shipping-service", SyncApi, H),
        ("internal", "tax-service", SyncApi, G),
        ("workers", "report-builder", Worker, H),
        ("workers", "email-worker", Worker, H),
        ("workers", "image-resizer", Worker, H),
        ("workers", "audit-log", SyncApi, H),
    ];
    let mut services: Vec<MeshService> = table
        .iter()
        .map(|(ns, n, r, p)| node(ns, n, *r, *p))
        .collect();
    let id = |name: &str| -> QualifiedName {
        table
            .iter()
            .find(|t| t.1 == name)
            .map(|t| QualifiedName::new(t.0, t.1))
            .unwrap_or_else(|| QualifiedName::new("missing", name))
    };
    let calls: [(&str, &[&str]); 13] = [
        (
            "api-gateway",
            &[
                "order-service",
                "product-service",
                "user-service",
                "cart-service",
                "search-service",
                "review-service",
                "recommendation-service",
                "auth-service",
            ],
        ),
        ("stripe-webhook", &["payment-service"]),
        (
            "order-service",
            &[
                "payment-service",
                "inventory-service",
                "pricing-service",
                "shipping-service",
                "notification-service",
                "user-service",
                "audit-log",
            ],
        ),
        ("payment-service", &["ledger-service"]),
        ("cart-service", &["pricing-service", "inventory-service"]),
        ("product-service", &["catalog-service"]),
        ("search-service", &["catalog-service"]),
        ("review-service", &["user-service"]),
        ("recommendation-service", &["catalog-service"]),
        ("shipping-service", &["tax-service"]),
        ("notification-service", &["email-worker"]),
        ("catalog-service", &["image-resizer"]),
        ("report-builder", &["ledger-service"]),
    ];
    let mut edges = Vec::new();
    for (from, tos) in calls {
        for to in tos {
            let protocol = table.iter().find(|t| t.1 == *to).map_or(H, |t| t.3);
            edges.push(edge(&id(from), &id(to), protocol));
        }
    }
    for s in &mut services {
        match s.id.name.as_str() {
            "api-gateway" => s.exposure.ingress_gateway.push(origin(40)),
            "stripe-webhook" => s.exposure.direct = Some((ServiceType::LoadBalancer, origin(50))),
            _ => {}
        }
    }
    let external = vec![
        external_call(&id("payment-service"), "api.stripe.com"),
        external_call(&id("notification-service"), "api.sendgrid.com"),
    ];
    topology(services, edges, external)
}

pub fn external_call(from: &QualifiedName, host: &str) -> ExternalCall {
    ExternalCall {
        from: from.clone(),
        host: host.to_string(),
        port: None,
        protocol: Protocol::Http,
        tls: true,
        restricted: None,
        evidence: vec![Evidence {
            origin: origin(3),
            kind: HintKind::Env,
            detail: format!("env API_BASE=https://{host}"),
        }],
    }
}

/// The shopfront plus the shapes it lacks: a TCP datastore, a service with an HTTP and a
/// gRPC port, a workload without labels, and a pure caller with no Service.
pub fn shopfront_and_odd_shapes() -> Topology {
    let mut t = shopfront();
    let redis = node("shop", "redis", Role::Datastore, Protocol::Tcp);
    let mut mixed = node("internal", "mixed-api", Role::SyncApi, Protocol::Http);
    let mut grpc_port = mixed.ports[0].clone();
    grpc_port.port = 9090;
    grpc_port.target_port = Some(9090);
    grpc_port.declared = Protocol::Unknown;
    grpc_port.believed = Protocol::Grpc;
    mixed.ports.push(grpc_port);
    let mut unlabelled = node("internal", "legacy", Role::SyncApi, Protocol::Http);
    unlabelled.workloads[0].pod_labels.clear();
    unlabelled.workloads[0].selector.clear();
    let mut caller = node("workers", "cron-caller", Role::Worker, Protocol::Http);
    caller.service = None;
    caller.ports.clear();
    let cart = t
        .services
        .iter()
        .find(|s| s.id.name == "cart-service")
        .map(|s| s.id.clone());
    let mut edges = t.edges.clone();
    if let Some(cart) = cart {
        edges.push(edge(&cart, &redis.id, Protocol::Tcp));
        edges.push(edge(&caller.id, &mixed.id, Protocol::Http));
        edges.push(edge(&caller.id, &cart, Protocol::Http));
    }
    let mut services = std::mem::take(&mut t.services);
    services.extend([redis, mixed, unlabelled, caller]);
    topology(services, edges, t.external)
}
