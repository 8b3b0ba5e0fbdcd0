//! A small graph for the report's unit tests: `web` calls `orders` (high confidence) and
//! `ledger` (low), `orders` calls a host outside; texts as the caller chooses them.

use meshsmith_core::model::*;
use std::sync::Arc;

pub fn service(ns: &str, name: &str, reason: &str) -> MeshService {
    let origin = Origin::new(&Arc::from("/home/someone/manifests/app.yaml"), 3);
    MeshService {
        id: QualifiedName::new(ns, name),
        service: Some(name.to_string()),
        aliases: vec![],
        external_name: None,
        workloads: vec![],
        ports: vec![PortInfo {
            port: 8080,
            name: Some("http".into()),
            target_port: Some(8080),
            declared: Protocol::Http,
            believed: Protocol::Http,
            reason: reason.to_string(),
            declared_reason: String::new(),
            server_first: false,
            main: false,
            app_protocol: None,
        }],
        protocol: Protocol::Http,
        declared_protocol: Protocol::Http,
        declared_reason: String::new(),
        protocol_reason: String::new(),
        role: Role::SyncApi,
        role_reason: reason.to_string(),
        exposure: Exposure::default(),
        settings: vec![],
        timeout_audit: TimeoutAudit::None,
        origin,
        callers: CallerKnowledge::known(reason),
        hidden_calls: vec![],
    }
}

fn edge(from: &str, to: &str, confidence: Confidence, detail: &str) -> Edge {
    Edge {
        from: QualifiedName::new("shop", from),
        to: QualifiedName::new("shop", to),
        port: Some(8080),
        via: vec![],
        protocol: Protocol::Http,
        confidence,
        evidence: vec![Evidence {
            origin: Origin::new(&Arc::from("/home/someone/manifests/app.yaml"), 9),
            kind: HintKind::Env,
            detail: detail.to_string(),
        }],
        observed: None,
    }
}

/// The graph, every free text set to `text`.
pub fn topology(text: &str) -> Topology {
    let mut services = vec![
        service("shop", "ledger", text),
        service("shop", "orders", text),
        service("shop", "web", text),
    ];
    services[0].callers = CallerKnowledge {
        level: Completeness::Unknown,
        reasons: vec![CompletenessReason {
            code: "MS208",
            message: text.to_string(),
            origin: None,
        }],
        basis: String::new(),
    };
    Topology {
        services,
        edges: vec![
            edge("web", "ledger", Confidence::Low, text),
            edge("web", "orders", Confidence::High, text),
        ],
        external: vec![ExternalCall {
            from: QualifiedName::new("shop", "orders"),
            host: "api.example.com".into(),
            port: Some(443),
            protocol: Protocol::Http,
            tls: true,
            restricted: None,
            evidence: vec![],
        }],
        ..Topology::default()
    }
}
