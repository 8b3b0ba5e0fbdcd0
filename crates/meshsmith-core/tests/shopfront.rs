//! The bundled example, end to end through load -> inventory -> infer: the graph, protocols,
//! roles and timeout audit its README promises.

use meshsmith_core::infer::infer;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::model::*;
use std::path::PathBuf;

fn shopfront() -> (Topology, meshsmith_core::load::Loaded) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    let loaded = load(&[Input::Path(dir)], &Limits::default()).expect("example loads");
    let topology = infer(&inventory(&loaded.objects, "default"));
    (topology, loaded)
}

#[test]
fn the_graph_is_the_one_the_team_drew() {
    let (t, _) = shopfront();
    let mut edges: Vec<String> = t
        .edges
        .iter()
        .map(|e| format!("{} -> {}", e.from.name, e.to.name))
        .collect();
    edges.sort();
    let expected = [
        "api-gateway -> notification-service",
        "api-gateway -> order-service",
        "api-gateway -> product-service",
        "api-gateway -> user-service",
        "event-archiver -> order-store",
        "image-resizer -> catalog-store",
        "notification-service -> email-worker",
        "notification-service -> sms-worker",
        "order-service -> inventory-service",
        "order-service -> order-store",
        "order-service -> payment-service",
        "order-service -> pricing-service",
        "order-service -> shipping-service",
        "order-service -> user-service",
        "payment-service -> ledger-service",
        "product-service -> catalog-store",
        "product-service -> pricing-service",
        "product-service -> recommendation-service",
        "product-service -> review-service",
        "product-service -> search-service",
        "recommendation-service -> catalog-store",
        "recommendation-service -> order-store",
        "report-builder -> ledger-service",
        "report-builder -> order-store",
        "review-service -> profile-store",
        "search-service -> catalog-store",
        "stripe-webhook -> payment-service",
        "user-service -> profile-store",
    ];
    assert_eq!(edges, expected);
    assert!(t.edges.iter().all(|e| e.confidence == Confidence::High));
    assert!(t.unresolved.is_empty(), "{:?}", t.unresolved);
    let external: Vec<(String, String)> = t
        .external
        .iter()
        .map(|x| (x.from.name.to_string(), x.host.clone()))
        .collect();
    assert_eq!(
        external,
        vec![
            ("payment-service".to_string(), "api.stripe.com".to_string()),
            ("email-worker".to_string(), "api.sendgrid.com".to_string()),
            ("sms-worker".to_string(), "api.twilio.com".to_string()),
        ]
    );
}

#[test]
fn every_piece_of_evidence_points_at_a_line_naming_the_callee() {
    let (t, loaded) = shopfront();
    let text_of = |file: &str| {
        (0..loaded.sources.len() as u32)
            .find(|&id| loaded.sources.name(id) == file)
            .map(|id| loaded.sources.text(id).to_string())
            .unwrap_or_default()
    };
    for e in &t.edges {
        for ev in &e.evidence {
            let text = text_of(&ev.origin.file);
            let line = text.lines().nth(ev.origin.line as usize - 1).unwrap_or("");
            // A `$(VAR)` reference points at the line that uses it; its detail shows the
            // expanded value.
            let named = line.contains(&*e.to.name)
                || (line.contains("$(") && ev.detail.contains(&*e.to.name));
            assert!(named, "{} -> {}: {} is `{}`", e.from, e.to, ev.origin, line);
        }
    }
}

#[test]
fn protocols_sixteen_http_six_grpc() {
    let (t, _) = shopfront();
    let count = |p: Protocol| t.services.iter().filter(|s| s.protocol == p).count();
    assert_eq!(
        (
            count(Protocol::Http),
            count(Protocol::Grpc),
            t.services.len()
        ),
        (16, 6, 22)
    );
    let grpc: Vec<&str> = t
        .services
        .iter()
        .filter(|s| s.protocol == Protocol::Grpc)
        .map(|s| s.id.name.as_str())
        .collect();
    assert_eq!(
        grpc,
        [
            "catalog-store",
            "order-store",
            "profile-store",
            "search-service",
            "product-service",
            "user-service"
        ]
    );
    assert!(t.services.iter().all(|s| s.declared_protocol == s.protocol));
}

#[test]
fn timeout_audit_is_eight_five_nine() {
    let (t, _) = shopfront();
    let names = |a: TimeoutAudit| -> Vec<&str> {
        t.services
            .iter()
            .filter(|s| s.timeout_audit == a)
            .map(|s| s.id.name.as_str())
            .collect()
    };
    assert_eq!(names(TimeoutAudit::None).len(), 8);
    assert_eq!(
        names(TimeoutAudit::TooLong),
        [
            "api-gateway",
            "notification-service",
            "order-service",
            "product-service",
            "report-builder"
        ]
    );
    assert_eq!(names(TimeoutAudit::Reasonable).len(), 9);
    let order = t.find("order-service").expect("order-service");
    let payment = order
        .settings
        .iter()
        .find(|s| s.key == "PAYMENT_TIMEOUT")
        .expect("payment timeout");
    assert_eq!(payment.value, 30.0);
}

#[test]
fn roles_exposure_and_accounts() {
    let (t, _) = shopfront();
    let role = |n: &str| t.find(n).map(|s| s.role);
    assert_eq!(role("api-gateway"), Some(Role::Gateway));
    assert_eq!(role("stripe-webhook"), Some(Role::WebhookReceiver));
    assert_eq!(role("payment-service"), Some(Role::ExternalIntegration));
    for agg in [
        "order-service",
        "product-service",
        "notification-service",
        "recommendation-service",
    ] {
        assert_eq!(role(agg), Some(Role::Aggregator), "{agg}");
    }
    for worker in [
        "email-worker",
        "sms-worker",
        "report-builder",
        "image-resizer",
        "event-archiver",
    ] {
        assert_eq!(role(worker), Some(Role::Worker), "{worker}");
    }
    for sync in [
        "user-service",
        "ledger-service",
        "catalog-store",
        "search-service",
    ] {
        assert_eq!(role(sync), Some(Role::SyncApi), "{sync}");
    }
    let gateway = t.find("api-gateway").expect("api-gateway");
    assert_eq!(gateway.exposure.ingress_gateway.len(), 1);
    assert!(gateway.exposure.direct.is_none());
    let webhook = t.find("stripe-webhook").expect("stripe-webhook");
    assert_eq!(
        webhook.exposure.direct.as_ref().map(|d| d.0),
        Some(ServiceType::LoadBalancer)
    );
    for s in &t.services {
        assert_eq!(s.workloads.len(), 1, "{}", s.id);
        assert_eq!(s.workloads[0].service_account, s.id.name);
        let annotated = s.workloads[0].sidecar_annotation.is_some();
        assert_eq!(annotated, s.id.name != "email-worker", "{}", s.id);
    }
}
