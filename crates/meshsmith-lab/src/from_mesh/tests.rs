//! The translation from generated resources, on the real examples/shopfront run through
//! load -> inventory -> infer -> generate, with the default policy and with overrides.

use super::*;
use meshsmith_core::generate::{generate, GenerateOptions};
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::model::Spec as Body;
use meshsmith_core::policy::{self, Policy};

const SHOPFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shopfront");

pub(crate) fn pipeline(policy_text: &str) -> (Topology, MeshConfig, Policy) {
    let loaded = load(&[Input::parse(SHOPFRONT)], &Limits::default()).expect("example loads");
    let inventory = meshsmith_core::inventory::inventory(&loaded.objects, "default");
    let topology = meshsmith_core::infer::infer(&inventory);
    let policy = policy::parse("meshsmith.yaml", policy_text).expect("policy parses");
    let options = GenerateOptions {
        namespace_labels: inventory.namespace_labels(),
        ..GenerateOptions::default()
    };
    let mesh = generate(&topology, &policy, &options);
    (topology, mesh, policy)
}

fn spec_of(policy_text: &str) -> (LabSpec, MeshConfig, Topology) {
    let (topology, mesh, policy) = pipeline(policy_text);
    let path = choose_path(&topology, &mesh).expect("a path");
    let spec =
        spec_from_mesh(&topology, &mesh, &path, &[], &policy.trust_domain).expect("translates");
    (spec, mesh, topology)
}

fn resource<'a>(mesh: &'a MeshConfig, kind: Kind, ns: &str, name: &str) -> &'a Resource {
    mesh.find(kind, ns, name).expect("generated")
}

#[test]
fn the_default_path_is_chosen_from_roles_edges_and_generated_retries() {
    let (topology, mesh, _) = pipeline("");
    let path = choose_path(&topology, &mesh).expect("a path");
    assert_eq!(
        path,
        [
            "api-gateway.edge",
            "order-service.shop",
            "payment-service.shop",
            "stripe-webhook.edge",
            "user-service.shop"
        ]
    );
    // The last one is there for its retries: a gRPC callee of the aggregator whose generated
    // route retries. Without them another retrying callee (HTTP) takes its place, or none.
    let mut no_grpc_retries = mesh.clone();
    for r in &mut no_grpc_retries.resources {
        let grpc = topology
            .service(&r.owner)
            .is_some_and(|s| s.protocol == core::Protocol::Grpc);
        if let (Kind::VirtualService, Body::VirtualService(vs), true) = (r.kind, &mut r.spec, grpc)
        {
            for route in &mut vs.http {
                route.retries = None;
            }
        }
    }
    let path = choose_path(&topology, &no_grpc_retries).expect("a path");
    assert_eq!(
        path[..4],
        [
            "api-gateway.edge",
            "order-service.shop",
            "payment-service.shop",
            "stripe-webhook.edge"
        ]
    );
    if let Some(extra) = path.get(4) {
        let s = topology.find(extra).expect("in the graph");
        assert_eq!(s.protocol, core::Protocol::Http, "{extra}");
        let spec = spec_from_mesh(&topology, &no_grpc_retries, &path, &[], "cluster.local")
            .expect("translates");
        let hop = spec.service(&s.id.name).expect("in the spec");
        assert!(hop.traffic.retries.attempts > 0, "{extra} does not retry");
    }
    // Without a webhook receiver calling the integration there is no such path, and the error
    // says which path came closest and how to choose by hand.
    let mut cut = topology.clone();
    cut.edges.retain(|e| e.from.name != "stripe-webhook");
    let err = choose_path(&cut, &mesh)
        .expect_err("no receiver")
        .to_string();
    assert!(err.contains("has no webhook receiver calling"), "{err}");
    assert!(err.contains("--services"), "{err}");
}

#[test]
fn numeric_retry_on_codes_become_retriable_status_codes_as_istio_writes_them() {
    assert_eq!(
        retry_on("connect-failure, 503,refused-stream,504,503"),
        Ok((
            vec![
                "connect-failure".to_string(),
                "refused-stream".to_string(),
                "retriable-status-codes".to_string()
            ],
            vec![503, 504]
        ))
    );
    // Named conditions alone add nothing; an explicit retriable-status-codes is kept once.
    assert_eq!(
        retry_on("unavailable,cancelled"),
        Ok((
            vec!["unavailable".to_string(), "cancelled".to_string()],
            vec![]
        ))
    );
    assert_eq!(
        retry_on("retriable-status-codes,502"),
        Ok((vec!["retriable-status-codes".to_string()], vec![502]))
    );
    assert!(retry_on("5xx,999").is_err());
    // Through the generated route: a retryOn override with a code reaches the spec and the
    // bootstrap's retriable_status_codes.
    let (topology, mut mesh, policy) = pipeline("");
    for r in &mut mesh.resources {
        if let (Kind::VirtualService, Body::VirtualService(vs)) = (r.kind, &mut r.spec) {
            if r.name == "user-service" {
                for route in &mut vs.http {
                    if let Some(retries) = &mut route.retries {
                        retries.retry_on = Some("unavailable,503".into());
                    }
                }
            }
        }
    }
    let path = choose_path(&topology, &mesh).expect("path");
    let spec = spec_from_mesh(&topology, &mesh, &path, &[], &policy.trust_domain).expect("spec");
    let user = spec.service("user-service").expect("user-service");
    assert_eq!(
        user.traffic.retries.retry_on,
        ["unavailable", "retriable-status-codes"]
    );
    assert_eq!(user.traffic.retries.retriable_status_codes, [503]);
    spec.validate().expect("valid");
}

#[test]
fn every_figure_comes_from_the_generated_resources() {
    let (spec, mesh, _) = spec_of("");
    spec.validate().expect("valid");
    let edges: Vec<(&str, &str)> = spec
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(
        edges,
        [
            ("api-gateway", "order-service"),
            ("order-service", "payment-service"),
            ("stripe-webhook", "payment-service"),
            // The caller just upstream of user-service on the path comes first: the single-caller
            // scenarios run through it.
            ("order-service", "user-service"),
            ("api-gateway", "user-service")
        ]
    );
    for s in &spec.services {
        let vs = resource(&mesh, Kind::VirtualService, &s.namespace, &s.name);
        let Body::VirtualService(vs) = &vs.spec else {
            panic!("virtual service body")
        };
        // order-service routes per port; its callers use 8080.
        let route = vs
            .http
            .iter()
            .find(|r| r.matches.is_empty() || r.matches.iter().any(|m| m.port == 8080))
            .expect("route");
        let retries = route.retries.clone().unwrap_or_default();
        assert_eq!(
            Some(s.traffic.timeout_ms),
            route.timeout.as_deref().and_then(millis)
        );
        assert_eq!(s.traffic.retries.attempts, retries.attempts);
        // No perTryTimeout (as with `attempts: 0`) is 0: the route timeout bounds the try.
        assert_eq!(
            Some(s.traffic.retries.per_try_timeout_ms),
            retries.per_try_timeout.as_deref().map_or(Some(0), millis)
        );
        assert_eq!(
            s.traffic.retries.retry_on.join(","),
            retries.retry_on.unwrap_or_default()
        );
        let dr = resource(&mesh, Kind::DestinationRule, &s.namespace, &s.name);
        let Body::DestinationRule(dr) = &dr.spec else {
            panic!("destination rule body")
        };
        let pool = s.traffic.connection_pool.as_ref().expect("pool");
        let http = dr
            .traffic_policy
            .connection_pool
            .http
            .clone()
            .expect("http");
        assert_eq!(
            (
                pool.max_connections,
                pool.max_pending_requests,
                pool.max_requests
            ),
            (
                dr.traffic_policy.connection_pool.tcp.max_connections,
                http.http1_max_pending_requests,
                http.http2_max_requests
            )
        );
        let o = s.traffic.outlier_detection.as_ref().expect("outlier");
        let want = &dr.traffic_policy.outlier_detection;
        assert_eq!(o.consecutive_5xx, want.consecutive_5xx_errors);
        assert_eq!(Some(o.interval_ms), millis(&want.interval));
        assert_eq!(
            Some(o.base_ejection_time_ms),
            millis(&want.base_ejection_time)
        );
        assert_eq!(o.max_ejection_percent, want.max_ejection_percent);
    }
    let payment = spec.service("payment-service").expect("payment");
    assert_eq!(
        payment.allowed_principals,
        [
            "cluster.local/ns/edge/sa/stripe-webhook",
            "cluster.local/ns/shop/sa/order-service"
        ]
    );
    assert_eq!(payment.mtls, MtlsMode::Strict);
    assert_eq!(payment.instances, 2);
    let webhook = spec.service("stripe-webhook").expect("webhook");
    assert_eq!(webhook.mtls, MtlsMode::Permissive);
    assert!(webhook.external_plaintext && webhook.allow_unauthenticated);
    assert!(webhook.allowed_principals.is_empty());
    assert_eq!(webhook.instances, 1);
    let gateway = spec.service("api-gateway").expect("gateway");
    assert!(!gateway.external_plaintext && !gateway.allow_unauthenticated);
}

#[test]
fn policy_overrides_reach_the_spec() {
    let (spec, _, _) = spec_of(
        "services:\n  payment-service.shop:\n    timeout: 30s\n  stripe-webhook.edge:\n    mtls: {mode: STRICT}\n",
    );
    let payment = spec.service("payment-service").expect("payment");
    assert_eq!(payment.traffic.timeout_ms, 30_000);
    let webhook = spec.service("stripe-webhook").expect("webhook");
    assert_eq!(webhook.mtls, MtlsMode::Strict);
    // Still a receiver of outside traffic: the lab expects plaintext there and will say so.
    assert!(webhook.external_plaintext);
}

#[test]
fn an_edited_authorization_policy_drops_the_caller() {
    let (topology, mut mesh, policy) = pipeline("");
    for r in &mut mesh.resources {
        if let (Kind::AuthorizationPolicy, Body::AuthorizationPolicy(ap)) = (r.kind, &mut r.spec) {
            for rule in &mut ap.rules {
                for from in &mut rule.from {
                    from.source
                        .principals
                        .retain(|p| !p.ends_with("/sa/order-service"));
                }
            }
        }
    }
    let path = choose_path(&topology, &mesh).expect("path");
    let spec = spec_from_mesh(&topology, &mesh, &path, &[], &policy.trust_domain).expect("spec");
    let payment = spec.service("payment-service").expect("payment");
    assert_eq!(
        payment.allowed_principals,
        ["cluster.local/ns/edge/sa/stripe-webhook"]
    );
}

#[test]
fn the_unauthenticated_exception_counts_only_on_its_ports() {
    let mut ap = AuthorizationPolicySpec::default();
    ap.rules.push(core::AuthorizationRule {
        from: vec![core::RuleFrom {
            source: core::Source {
                principals: vec![],
                not_principals: vec!["*".into()],
            },
        }],
        to: vec![core::RuleTo {
            operation: core::Operation {
                ports: vec!["8000".into()],
            },
        }],
    });
    assert!(access(&ap, Some(8000)).expect("ok").unauthenticated);
    assert!(!access(&ap, Some(9000)).expect("ok").unauthenticated);
    ap.action = Some("DENY".into());
    assert!(access(&ap, Some(8000)).is_err());
}

#[test]
fn hand_chosen_services_and_their_errors() {
    let (topology, mesh, _) = pipeline("");
    let two = ["order-service".to_string(), "payment-service".to_string()];
    let spec = spec_from_mesh(&topology, &mesh, &two, &[], "cluster.local").expect("spec");
    assert_eq!(spec.services.len(), 2);
    assert_eq!(spec.edges.len(), 1);
    let unknown = ["nope".to_string(), "payment-service".to_string()];
    assert_eq!(
        spec_from_mesh(&topology, &mesh, &unknown, &[], "cluster.local"),
        Err(FromMeshError::UnknownService("nope".into()))
    );
    let apart = ["email-worker".to_string(), "payment-service".to_string()];
    assert!(matches!(
        spec_from_mesh(&topology, &mesh, &apart, &[], "cluster.local"),
        Err(FromMeshError::NoEdges(_))
    ));
}

#[test]
fn old_settings_come_from_the_callers_audit() {
    let (spec, _, topology) = spec_of("");
    let old = old_settings(&topology, &spec);
    let hop = |from: &str, to: &str| {
        old.iter()
            .find(|h| h.from == from && h.to == to)
            .cloned()
            .expect("hop")
    };
    // order-service: PAYMENT_TIMEOUT=30s, PAYMENT_RETRIES=3.
    let pay = hop("order-service", "payment-service");
    assert_eq!(pay.traffic.retries.attempts, 3);
    assert_eq!(pay.traffic.retries.per_try_timeout_ms, 30_000);
    assert_eq!(pay.traffic.timeout_ms, 120_000);
    assert!(pay
        .sources
        .iter()
        .any(|s| s.starts_with("PAYMENT_TIMEOUT=30s")));
    assert!(pay.traffic.connection_pool.is_none() && pay.traffic.outlier_detection.is_none());
    // api-gateway: UPSTREAM_TIMEOUT=30s and UPSTREAM_MAX_RETRIES=2 name no service: all callees.
    let gw = hop("api-gateway", "order-service");
    assert_eq!(gw.traffic.retries.attempts, 2);
    assert_eq!(gw.traffic.retries.per_try_timeout_ms, 30_000);
    assert_eq!(gw.traffic.timeout_ms, 90_000);
    // stripe-webhook: PAYMENT_SERVICE_TIMEOUT=5s, PAYMENT_SERVICE_RETRIES=2.
    let wh = hop("stripe-webhook", "payment-service");
    assert_eq!(
        (wh.traffic.timeout_ms, wh.traffic.retries.per_try_timeout_ms),
        (15_000, 5_000)
    );
}

#[test]
fn durations_read_as_istio_writes_them() {
    assert_eq!(millis("10s"), Some(10_000));
    assert_eq!(millis("1660ms"), Some(1_660));
    assert_eq!(millis("0s"), Some(0));
    assert_eq!(millis("1m"), Some(60_000));
    assert_eq!(millis("10"), None);
    assert_eq!(millis("s"), None);
    assert_eq!(millis("1.5ms"), None);
}

#[test]
fn a_dry_run_annotation_the_workload_and_the_ports_reach_the_spec() {
    let (topology, mut mesh, policy) = pipeline("");
    let path = choose_path(&topology, &mesh).expect("path");
    let spec = spec_from_mesh(&topology, &mesh, &path, &[], &policy.trust_domain).expect("spec");
    let user = spec.service("user-service").expect("user-service");
    assert!(!user.dry_run);
    assert_eq!(user.workload(), "user-service");
    assert_eq!((user.port, user.target_port()), (9090, 9090));
    for (value, dry) in [
        ("true", true),
        ("True", true),
        ("1", true),
        ("false", false),
        ("yes", false),
    ] {
        for r in &mut mesh.resources {
            if r.kind == Kind::AuthorizationPolicy && r.name == "user-service" {
                r.annotations.insert(DRY_RUN_ANNOTATION, value);
            }
        }
        let spec =
            spec_from_mesh(&topology, &mesh, &path, &[], &policy.trust_domain).expect("spec");
        let user = spec.service("user-service").expect("user-service");
        assert_eq!(user.dry_run, dry, "{value}");
        // The rules still say who would be allowed: they become the shadow rules.
        assert!(!user.allowed_principals.is_empty());
    }
}
