//! Generation on the shapes the shopfront lacks: TCP-only, several ports, no labels, no
//! Service, retries turned off.

use super::fixtures::shopfront_and_odd_shapes;
use super::*;
use crate::policy::parse;

fn config() -> MeshConfig {
    generate(
        &shopfront_and_odd_shapes(),
        &Policy::default(),
        &GenerateOptions::default(),
    )
}

#[test]
fn a_tcp_datastore_gets_a_tcp_only_destination_rule_and_no_virtual_service() {
    let c = config();
    assert!(c.find(Kind::VirtualService, "shop", "redis").is_none());
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("redis.shop") && n.contains("no HTTP or gRPC port")));
    let Some(Spec::DestinationRule(dr)) = c
        .find(Kind::DestinationRule, "shop", "redis")
        .map(|r| &r.spec)
    else {
        panic!("no DestinationRule for redis")
    };
    assert!(dr.traffic_policy.connection_pool.http.is_none());
    assert!(dr.traffic_policy.retry_budget.is_none());
    assert_eq!(
        dr.traffic_policy.outlier_detection.consecutive_5xx_errors,
        5
    );
}

#[test]
fn several_ports_get_a_route_each_with_their_own_retry_conditions() {
    let c = config();
    let Some(Spec::VirtualService(vs)) = c
        .find(Kind::VirtualService, "internal", "mixed-api")
        .map(|r| &r.spec)
    else {
        panic!("no VirtualService for mixed-api")
    };
    let ports: Vec<u16> = vs
        .http
        .iter()
        .flat_map(|h| h.matches.iter().map(|m| m.port))
        .collect();
    assert_eq!(ports, [8080, 9090]);
    let on = |i: usize| {
        vs.http[i]
            .retries
            .as_ref()
            .and_then(|r| r.retry_on.clone())
            .unwrap_or_default()
    };
    assert!(!on(0).contains("unavailable"));
    assert!(on(1).contains("unavailable"));
    assert_eq!(
        vs.http[1].route[0]
            .destination
            .port
            .as_ref()
            .map(|p| p.number),
        Some(9090)
    );
}

#[test]
fn a_workload_without_labels_gets_no_workload_policy_and_a_note() {
    let c = config();
    for kind in [
        Kind::PeerAuthentication,
        Kind::AuthorizationPolicy,
        Kind::Sidecar,
    ] {
        assert!(c.find(kind, "internal", "legacy").is_none(), "{kind:?}");
    }
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("legacy") && n.contains("no pod labels")));
    // Routing does not need labels.
    assert!(c.find(Kind::VirtualService, "internal", "legacy").is_some());
}

#[test]
fn a_pure_caller_is_allowed_where_it_calls_and_scoped_to_its_callees() {
    let c = config();
    assert!(c
        .find(Kind::VirtualService, "workers", "cron-caller")
        .is_none());
    let Some(Spec::AuthorizationPolicy(own)) = c
        .find(Kind::AuthorizationPolicy, "workers", "cron-caller")
        .map(|r| &r.spec)
    else {
        panic!("no policy")
    };
    assert!(own.rules.is_empty());
    let Some(Spec::AuthorizationPolicy(cart)) = c
        .find(Kind::AuthorizationPolicy, "shop", "cart-service")
        .map(|r| &r.spec)
    else {
        panic!("no policy")
    };
    assert!(cart.rules[0].from[0]
        .source
        .principals
        .contains(&"cluster.local/ns/workers/sa/cron-caller".to_string()));
    let Some(Spec::Sidecar(sc)) = c
        .find(Kind::Sidecar, "workers", "cron-caller")
        .map(|r| &r.spec)
    else {
        panic!("no sidecar")
    };
    assert_eq!(
        sc.egress[0].hosts,
        [
            "internal/mixed-api.internal.svc.cluster.local",
            "istio-system/*",
            "shop/cart-service.shop.svc.cluster.local"
        ]
    );
}

#[test]
fn retries_can_be_turned_off_and_too_short_timeouts_drop_them() {
    let policy = parse(
        "meshsmith.yaml",
        "services:\n  order-service:\n    retries: {attempts: 0}\n  user-service:\n    timeout: 2ms\n",
    )
    .expect("valid");
    let c = generate(
        &shopfront_and_odd_shapes(),
        &policy,
        &GenerateOptions::default(),
    );
    for name in ["order-service", "user-service"] {
        let Some(Spec::VirtualService(vs)) =
            c.find(Kind::VirtualService, "shop", name).map(|r| &r.spec)
        else {
            panic!("no VirtualService for {name}")
        };
        assert_eq!(vs.http[0].retries, Some(HttpRetry::default()), "{name}");
        let Some(Spec::DestinationRule(dr)) =
            c.find(Kind::DestinationRule, "shop", name).map(|r| &r.spec)
        else {
            panic!("no DestinationRule for {name}")
        };
        // No retries from this route, so no retry budget written for it either.
        assert_eq!(
            dr.traffic_policy.retry_budget.is_none(),
            name == "order-service"
        );
    }
}

#[test]
fn every_value_written_has_a_reason() {
    let c = config();
    for r in c
        .resources
        .iter()
        .filter(|r| r.kind != Kind::NamespacePatch)
    {
        assert!(
            r.reasons
                .iter()
                .any(|x| x.field == "role" || x.field.starts_with("spec")),
            "{:?} {}",
            r.kind,
            r.name
        );
        assert!(r.reasons.iter().all(|x| !x.why.is_empty()));
    }
    let vs = c
        .find(Kind::VirtualService, "shop", "payment-service")
        .expect("vs");
    let fields: Vec<&str> = vs.reasons.iter().map(|r| r.field.as_str()).collect();
    for f in [
        "role",
        "spec.http[0].timeout",
        "spec.http[0].retries.attempts",
        "spec.http[0].retries.perTryTimeout",
        "spec.http[0].retries.retryOn",
    ] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    let role = vs
        .reasons
        .iter()
        .find(|r| r.field == "role")
        .map(|r| r.why.as_str());
    assert_eq!(role, Some("test fixture: external-integration"));
}

#[test]
fn overrides_for_unknown_services_and_opted_out_workloads_are_noted() {
    let policy = parse(
        "meshsmith.yaml",
        "services:\n  no-such-service:\n    timeout: 3s\n",
    )
    .expect("valid");
    let mut topology = shopfront_and_odd_shapes();
    if let Some(s) = topology
        .services
        .iter_mut()
        .find(|s| s.id.name == "ledger-service")
    {
        s.workloads[0].sidecar_annotation = Some(false);
    }
    let c = generate(&topology, &policy, &GenerateOptions::default());
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("`no-such-service` (meshsmith.yaml:2) matches no service")),
        "{:?}",
        c.notes
    );
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("ledger-service") && n.contains("opts out of injection")));
}

#[test]
fn exposure_that_policies_cannot_admit_is_noted() {
    let mut topology = shopfront_and_odd_shapes();
    for s in &mut topology.services {
        match s.id.name.as_str() {
            "search-service" => s.exposure.ingress.push(super::fixtures::origin(60)),
            "review-service" => {
                s.exposure.direct = Some((ServiceType::NodePort, super::fixtures::origin(61)))
            }
            _ => {}
        }
    }
    let c = generate(&topology, &Policy::default(), &GenerateOptions::default());
    assert!(c
        .notes
        .iter()
        .any(|n| n.starts_with("search-service.internal: exposed by a Kubernetes Ingress")));
    // Direct exposure is admitted, not just noted: PERMISSIVE with its reason, and plain
    // requests (no identity) allowed on the service's ports.
    let pa = c
        .find(Kind::PeerAuthentication, "shop", "review-service")
        .expect("review-service PeerAuthentication");
    let Spec::PeerAuthentication(spec) = &pa.spec else {
        panic!("wrong spec")
    };
    assert_eq!(spec.mtls.mode, "PERMISSIVE");
    assert!(pa
        .annotations
        .values()
        .any(|r| r.contains("NodePort Service")));
    let ap = c
        .find(Kind::AuthorizationPolicy, "shop", "review-service")
        .expect("review-service AuthorizationPolicy");
    let Spec::AuthorizationPolicy(spec) = &ap.spec else {
        panic!("wrong spec")
    };
    assert!(spec
        .rules
        .iter()
        .any(|r| r.from.iter().any(|f| f.source.not_principals == ["*"])));
    // The webhook receiver's direct exposure is handled, not noted.
    assert!(!c.notes.iter().any(|n| n.starts_with("stripe-webhook")));
}
