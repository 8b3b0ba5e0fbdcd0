//! The shopfront story end to end: counts, roles, timeouts, mTLS exceptions, principals,
//! version gates, overrides and a stable file layout.

use super::fixtures::shopfront;
use super::*;
use crate::policy::parse;

fn shop() -> MeshConfig {
    generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions::default(),
    )
}

fn vs<'a>(c: &'a MeshConfig, ns: &str, name: &str) -> &'a VirtualServiceSpec {
    match c.find(Kind::VirtualService, ns, name).map(|r| &r.spec) {
        Some(Spec::VirtualService(s)) => s,
        other => panic!("no VirtualService {name}.{ns}: {other:?}"),
    }
}

fn ap<'a>(c: &'a MeshConfig, ns: &str, name: &str) -> &'a AuthorizationPolicySpec {
    match c.find(Kind::AuthorizationPolicy, ns, name).map(|r| &r.spec) {
        Some(Spec::AuthorizationPolicy(s)) => s,
        other => panic!("no AuthorizationPolicy {name}.{ns}: {other:?}"),
    }
}

fn retries(spec: &VirtualServiceSpec) -> (&str, &HttpRetry) {
    let route = &spec.http[0];
    (
        route.timeout.as_deref().unwrap_or(""),
        route.retries.as_ref().expect("retries written"),
    )
}

#[test]
fn every_shopfront_service_gets_the_four_core_kinds() {
    let c = shop();
    for kind in [
        Kind::VirtualService,
        Kind::DestinationRule,
        Kind::PeerAuthentication,
        Kind::AuthorizationPolicy,
        Kind::Sidecar,
    ] {
        assert_eq!(c.of_kind(kind).count(), 22, "{kind:?}");
    }
    assert_eq!(c.of_kind(Kind::ServiceEntry).count(), 2);
    // Every namespace in the fixture is unknown to the options, so each gets a patch.
    assert_eq!(c.of_kind(Kind::NamespacePatch).count(), 4);
}

#[test]
fn only_the_webhook_receiver_is_permissive_and_says_why() {
    let c = shop();
    for r in c.of_kind(Kind::PeerAuthentication) {
        let Spec::PeerAuthentication(spec) = &r.spec else {
            panic!("wrong spec")
        };
        if r.name == "stripe-webhook" {
            assert_eq!(spec.mtls.mode, "PERMISSIVE");
            let reason = r
                .annotations
                .get(peer_authentication::REASON_ANNOTATION)
                .expect("reason");
            assert!(reason.contains("outside the mesh"), "{reason}");
        } else {
            assert_eq!(spec.mtls.mode, "STRICT", "{}", r.name);
            assert!(r.annotations.is_empty());
        }
        assert!(!spec.selector.match_labels.is_empty());
    }
}

#[test]
fn timeouts_and_retries_follow_the_roles() {
    let c = shop();
    let (timeout, r) = retries(vs(&c, "shop", "payment-service"));
    assert_eq!(
        (timeout, r.attempts, r.retry_on.as_deref()),
        ("10s", 1, Some("connect-failure,refused-stream"))
    );
    assert_eq!(r.per_try_timeout.as_deref(), Some("5s"));
    // An aggregator starts at 5 s; order-service waits on payment-service's 10 s, so its
    // timeout is derived up to cover it (it stayed at 5 s before: a deadline inversion).
    let (timeout, _) = retries(vs(&c, "shop", "order-service"));
    assert_eq!(timeout, "10s");
    let (timeout, r) = retries(vs(&c, "shop", "user-service"));
    assert_eq!(
        (timeout, r.attempts, r.per_try_timeout.as_deref()),
        ("3s", 2, Some("1s"))
    );
    assert_eq!(retries(vs(&c, "workers", "report-builder")).0, "10s");
    // Istio 1.30 has retries.backoff.
    assert_eq!(r.backoff.as_deref(), Some("25ms"));
}

#[test]
fn grpc_ports_retry_on_grpc_conditions_and_http_ports_do_not() {
    let c = shop();
    let mut grpc_with_retries = 0;
    for name in ["user-service", "recommendation-service"] {
        let r = retries(vs(&c, "shop", name)).1.clone();
        if r.attempts == 0 {
            continue;
        }
        grpc_with_retries += 1;
        let on = r.retry_on.unwrap_or_default();
        assert!(
            on.contains("unavailable") && on.contains("cancelled"),
            "{name}: {on}"
        );
    }
    assert!(grpc_with_retries > 0, "no gRPC service kept its retries");
    let on = retries(vs(&c, "shop", "product-service"))
        .1
        .retry_on
        .clone()
        .unwrap_or_default();
    assert!(!on.contains("unavailable"), "{on}");
}

#[test]
fn no_call_chain_multiplies_a_request_beyond_the_limit() {
    let c = shop();
    let topology = super::fixtures::shopfront();
    let tries = |id: &QualifiedName| -> u32 {
        c.resources
            .iter()
            .find(|r| r.kind == Kind::VirtualService && &r.owner == id)
            .and_then(|r| match &r.spec {
                Spec::VirtualService(v) => v
                    .http
                    .first()
                    .and_then(|h| h.retries.as_ref())
                    .map(|x| x.attempts + 1),
                _ => None,
            })
            .unwrap_or(1)
    };
    // Longest product along any path, by walking every path from every service.
    fn worst(
        t: &Topology,
        id: &QualifiedName,
        tries: &dyn Fn(&QualifiedName) -> u32,
        depth: usize,
    ) -> u32 {
        let below = t
            .callees(id)
            .map(|e| worst(t, &e.to, tries, depth + 1))
            .max()
            .unwrap_or(1);
        if depth > 32 {
            return u32::MAX;
        }
        tries(id) * below
    }
    for s in &topology.services {
        let w = worst(&topology, &s.id, &tries, 0);
        assert!(
            w <= RETRY_AMPLIFICATION_LIMIT,
            "{}: one request becomes {w}",
            s.id
        );
    }
    // Leaves with a route keep their retries: the cheapest place to retry.
    let leaves_retrying = topology
        .services
        .iter()
        .filter(|s| topology.callees(&s.id).next().is_none() && tries(&s.id) > 1)
        .count();
    assert!(leaves_retrying > 0, "no leaf kept its retries");
}

#[test]
fn every_per_try_timeout_fits_in_its_timeout() {
    let c = shop();
    for r in c.of_kind(Kind::VirtualService) {
        let Spec::VirtualService(spec) = &r.spec else {
            continue;
        };
        for route in &spec.http {
            let t = crate::policy::Millis::parse(route.timeout.as_deref().unwrap_or(""))
                .expect("timeout");
            let retry = route.retries.as_ref().expect("retries");
            if let Some(p) = &retry.per_try_timeout {
                let p = crate::policy::Millis::parse(p).expect("per try");
                assert!(p.0 * (u64::from(retry.attempts) + 1) <= t.0, "{}", r.name);
            }
        }
    }
}

#[test]
fn authorization_allows_exactly_the_callers() {
    let c = shop();
    let pay = ap(&c, "shop", "payment-service");
    assert_eq!(pay.action.as_deref(), Some("ALLOW"));
    assert_eq!(pay.rules.len(), 1);
    assert_eq!(
        pay.rules[0].from[0].source.principals,
        [
            "cluster.local/ns/edge/sa/stripe-webhook",
            "cluster.local/ns/shop/sa/order-service"
        ]
    );
    let gw = ap(&c, "edge", "api-gateway");
    assert_eq!(
        gw.rules[0].from[0].source.principals,
        ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
    );
    let uncalled = ap(&c, "workers", "report-builder");
    assert!(uncalled.rules.is_empty() && uncalled.action.is_none());
    assert_eq!(
        uncalled.selector.match_labels.get("app"),
        Some("report-builder")
    );
    for r in c.of_kind(Kind::AuthorizationPolicy) {
        let Spec::AuthorizationPolicy(spec) = &r.spec else {
            continue;
        };
        for rule in &spec.rules {
            for from in &rule.from {
                assert!(
                    from.source.principals.iter().all(|p| !p.contains('*')),
                    "{}",
                    r.name
                );
            }
        }
    }
}

#[test]
fn the_webhook_receiver_admits_identity_less_traffic_on_its_ports_only() {
    let c = shop();
    let hook = ap(&c, "edge", "stripe-webhook");
    assert_eq!(hook.rules.len(), 1);
    assert!(hook.rules[0].from[0].source.principals.is_empty());
    assert_eq!(hook.rules[0].from[0].source.not_principals, ["*"]);
    assert_eq!(hook.rules[0].to[0].operation.ports, ["8080"]);
}

#[test]
fn sidecars_and_service_entries_follow_the_dependencies() {
    let c = shop();
    let Some(Spec::Sidecar(pay)) = c
        .find(Kind::Sidecar, "shop", "payment-service")
        .map(|r| &r.spec)
    else {
        panic!("no sidecar")
    };
    assert_eq!(
        pay.egress[0].hosts,
        [
            "internal/ledger-service.internal.svc.cluster.local",
            "istio-system/*",
            "shop/api.stripe.com"
        ]
    );
    let se = c
        .find(Kind::ServiceEntry, "shop", "external-api-stripe-com")
        .expect("service entry");
    let Spec::ServiceEntry(spec) = &se.spec else {
        panic!("wrong spec")
    };
    assert_eq!(
        (spec.ports[0].number, spec.ports[0].protocol.as_str()),
        (443, "TLS")
    );
    assert_eq!(se.owner.name, "payment-service");
}

#[test]
fn no_destination_rule_touches_tls() {
    let c = shop();
    for r in c.of_kind(Kind::DestinationRule) {
        let text = serde_json::to_string(&layout::to_value(r)).unwrap_or_default();
        assert!(!text.contains("\"tls\""), "{text}");
    }
}

#[test]
fn fields_are_gated_by_the_istio_version() {
    let old = GenerateOptions {
        istio_version: Some(crate::policy::IstioVersion::new(1, 25)),
        ..GenerateOptions::default()
    };
    let c = generate(&shopfront(), &Policy::default(), &old);
    assert!(retries(vs(&c, "shop", "user-service")).1.backoff.is_none());
    for r in c.of_kind(Kind::DestinationRule) {
        let Spec::DestinationRule(dr) = &r.spec else {
            continue;
        };
        assert!(dr.traffic_policy.retry_budget.is_none());
    }
    let new = shop();
    let Some(Spec::DestinationRule(dr)) = new
        .find(Kind::DestinationRule, "shop", "user-service")
        .map(|r| &r.spec)
    else {
        panic!("no rule")
    };
    assert!(dr.traffic_policy.retry_budget.is_some());
}

#[test]
fn policy_overrides_change_values_and_their_reasons() {
    let policy = parse(
        "meshsmith.yaml",
        "services:\n  order-service:\n    timeout: 4s\n  ledger-service.internal:\n    mtls: {mode: PERMISSIVE, reason: legacy batch client}\n",
    )
    .expect("valid policy");
    let c = generate(&shopfront(), &policy, &GenerateOptions::default());
    assert_eq!(retries(vs(&c, "shop", "order-service")).0, "4s");
    let vs_res = c
        .find(Kind::VirtualService, "shop", "order-service")
        .expect("vs");
    let why = vs_res
        .reasons
        .iter()
        .find(|r| r.field == "spec.http[0].timeout")
        .map(|r| r.why.clone());
    assert_eq!(
        why.as_deref(),
        Some("policy override for order-service (meshsmith.yaml:3)")
    );
    let pa = c
        .find(Kind::PeerAuthentication, "internal", "ledger-service")
        .expect("pa");
    assert_eq!(
        pa.annotations.get(peer_authentication::REASON_ANNOTATION),
        Some("legacy batch client")
    );
}

#[test]
fn api_versions_are_selectable() {
    let c = generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions {
            api_version: ApiVersion::V1beta1,
            ..Default::default()
        },
    );
    for r in c
        .resources
        .iter()
        .filter(|r| r.kind != Kind::NamespacePatch)
    {
        assert!(r.api_version.ends_with("/v1beta1"), "{}", r.api_version);
    }
    assert!(shop()
        .resources
        .iter()
        .filter(|r| r.kind != Kind::NamespacePatch)
        .all(|r| r.api_version.ends_with(".io/v1")));
}

#[test]
fn skipped_namespaces_and_injected_namespaces_get_nothing() {
    let mut policy = Policy::default();
    policy.skip_namespaces.push("workers".to_string());
    let mut options = GenerateOptions::default();
    options.namespace_labels.insert(
        "shop".into(),
        [("istio-injection".to_string(), "enabled".to_string())].into(),
    );
    let c = generate(&shopfront(), &policy, &options);
    assert!(c.resources.iter().all(|r| r.owner.namespace != "workers"));
    assert!(c.notes.iter().any(|n| n.contains("report-builder.workers")));
    let patched: Vec<&str> = c
        .of_kind(Kind::NamespacePatch)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(patched, ["edge", "internal"]);
}

#[test]
fn generation_is_deterministic_and_the_layout_is_stable() {
    let header = Header {
        version: "0.1.0".into(),
        inputs: vec!["examples/shopfront".into()],
    };
    let a = layout(&shop(), &header);
    let b = layout(&shop(), &header);
    assert_eq!(a, b);
    let paths: Vec<String> = a.iter().map(|(p, _)| p.display().to_string()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    assert!(paths.contains(&"shop/payment-service/virtual-service.yaml".to_string()));
    assert!(paths.contains(&"shop/payment-service/service-entry.yaml".to_string()));
    assert!(paths.contains(&"shop/kustomization.yaml".to_string()));
    assert!(paths.contains(&"kustomization.yaml".to_string()));
    for (path, text) in &a {
        assert!(
            text.starts_with("# Generated by meshsmith 0.1.0 from examples/shopfront;"),
            "{}",
            path.display()
        );
        assert_eq!(layout::edited(text), Some(false), "{}", path.display());
    }
    let edited = a[0].1.replace("app", "apq");
    assert_eq!(layout::edited(&edited), Some(true));
    assert_eq!(layout::edited("kind: x\n"), None);
}

#[test]
fn kustomizations_list_every_file_beneath_them() {
    let header = Header {
        version: "0.1.0".into(),
        inputs: vec![],
    };
    let files = layout(&shop(), &header);
    let root = files
        .iter()
        .find(|(p, _)| p.as_os_str() == "kustomization.yaml")
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let resources = files
        .iter()
        .filter(|(p, _)| !p.ends_with("kustomization.yaml") && !p.ends_with("namespace-patch.yaml"))
        .count();
    assert_eq!(root.matches("\n- ").count(), resources);
    assert!(root.contains("- shop/payment-service/authorization-policy.yaml\n"));
    assert!(!root.contains("namespace-patch"));
}

#[test]
fn an_empty_topology_gives_nothing_and_does_not_fail() {
    let c = generate(
        &Topology::default(),
        &Policy::default(),
        &GenerateOptions::default(),
    );
    assert!(c.resources.is_empty());
    assert!(layout(
        &c,
        &Header {
            version: "x".into(),
            inputs: vec![]
        }
    )
    .is_empty());
}
