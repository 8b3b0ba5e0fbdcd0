//! What the translation writes for each policy field, checked on the JSON itself.

use super::*;
use crate::spec::{ConnectionPool, OutlierDetection, RetryPolicy};
use serde_json::Value;

fn tls() -> TlsFiles {
    TlsFiles {
        cert: "c.crt".into(),
        key: "c.key".into(),
        ca: "ca.crt".into(),
    }
}

fn logs() -> LogFiles {
    LogFiles::in_dir(Path::new("/run"), "pod")
}

fn inbound(mtls: MtlsMode, allowed: &[&str], unauthenticated: bool) -> SidecarPlan {
    SidecarPlan {
        pod: "payment-service-0123456789-bcdfg".into(),
        namespace: "shop".into(),
        workload: "payment-service".into(),
        admin_port: 1,
        tls: tls(),
        logs: logs(),
        inbound: Some(InboundPlan {
            port: 2,
            app_port: 3,
            target_port: 50051,
            protocol: Protocol::Grpc,
            mtls,
            namespace: "shop".into(),
            policy: "payment-service".into(),
            allowed_ids: allowed.iter().map(|s| s.to_string()).collect(),
            allow_unauthenticated: unauthenticated,
            dry_run: false,
        }),
        outbound: Vec::new(),
    }
}

fn route(traffic: TrafficPolicy) -> OutboundRoute {
    OutboundRoute {
        fqdn: "payment-service.shop.svc.cluster.local".into(),
        aliases: vec!["payment-service".into()],
        port: 8080,
        protocol: Protocol::Http,
        callee_id: "spiffe://cluster.local/ns/shop/sa/payment-service".into(),
        endpoints: vec![5, 6],
        traffic,
    }
}

fn outbound(traffic: TrafficPolicy) -> SidecarPlan {
    SidecarPlan {
        pod: "order-service-0123456789-bcdfg".into(),
        namespace: "shop".into(),
        workload: "order-service".into(),
        admin_port: 1,
        tls: tls(),
        logs: logs(),
        inbound: None,
        outbound: vec![OutboundListener {
            service_port: 8080,
            port: 4,
            routes: vec![route(traffic)],
            passthrough: Vec::new(),
        }],
    }
}

fn rbac_of(plan: &SidecarPlan) -> Value {
    let chains = &plan_json(plan)["static_resources"]["listeners"][0]["filter_chains"];
    chains[0]["filters"][0]["typed_config"]["http_filters"][0].clone()
}

fn plan_json(plan: &SidecarPlan) -> Value {
    bootstrap(plan)
}

fn plain_traffic() -> TrafficPolicy {
    TrafficPolicy {
        timeout_ms: 0,
        retries: RetryPolicy {
            attempts: 0,
            per_try_timeout_ms: 0,
            retry_on: vec![],
            retriable_status_codes: vec![],
        },
        outlier_detection: None,
        connection_pool: None,
    }
}

#[test]
fn strict_has_only_a_tls_chain_and_permissive_adds_plaintext() {
    let strict = bootstrap(&inbound(MtlsMode::Strict, &[], false));
    let chains = strict["static_resources"]["listeners"][0]["filter_chains"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(chains.len(), 1);
    assert_eq!(chains[0]["filter_chain_match"]["transport_protocol"], "tls");
    let tls_ctx = &chains[0]["transport_socket"]["typed_config"];
    assert_eq!(tls_ctx["require_client_certificate"], true);
    let permissive = bootstrap(&inbound(MtlsMode::Permissive, &[], false));
    let chains = permissive["static_resources"]["listeners"][0]["filter_chains"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(chains.len(), 2);
    assert_eq!(
        chains[1]["filter_chain_match"]["transport_protocol"],
        "raw_buffer"
    );
}

#[test]
fn an_empty_principal_list_allows_nothing_and_principals_match_exactly() {
    let rbac = rbac_of(&inbound(MtlsMode::Strict, &[], false));
    assert_eq!(rbac["name"], "envoy.filters.http.rbac");
    assert_eq!(rbac["typed_config"]["rules"]["action"], "ALLOW");
    // Istio's never-matching policy: ALLOW with nothing that matches denies everything.
    let never =
        &rbac["typed_config"]["rules"]["policies"]["ns[shop]-policy[payment-service]-rule[0]"];
    assert_eq!(never["permissions"][0]["not_rule"]["any"], true);
    assert_eq!(never["principals"][0]["not_id"]["any"], true);
    let id = "spiffe://cluster.local/ns/shop/sa/order-service";
    let rbac = rbac_of(&inbound(MtlsMode::Strict, &[id], true));
    let policies = rbac["typed_config"]["rules"]["policies"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let rule = &policies["ns[shop]-policy[payment-service]-rule[0]"];
    assert_eq!(
        rule["principals"][0]["authenticated"]["principal_name"]["exact"],
        id
    );
    assert!(
        policies["ns[shop]-policy[payment-service]-rule[1]"]["principals"][0]["not_id"].is_object()
    );
    assert!(rbac["typed_config"].get("shadow_rules").is_none());
}

#[test]
fn a_dry_run_policy_goes_into_shadow_rules_and_enforces_nothing() {
    let id = "spiffe://cluster.local/ns/shop/sa/order-service";
    let mut plan = inbound(MtlsMode::Strict, &[id], false);
    if let Some(i) = plan.inbound.as_mut() {
        i.dry_run = true;
    }
    let rbac = rbac_of(&plan);
    let config = &rbac["typed_config"];
    // No `rules` at all: Envoy enforces nothing and only evaluates the shadow rules.
    assert!(config.get("rules").is_none(), "{config}");
    assert_eq!(config["shadow_rules_stat_prefix"], "istio_dry_run_allow_");
    assert_eq!(config["shadow_rules"]["action"], "ALLOW");
    assert_eq!(
        config["shadow_rules"]["policies"]["ns[shop]-policy[payment-service]-rule[0]"]
            ["principals"][0]["authenticated"]["principal_name"]["exact"],
        id
    );
}

#[test]
fn names_are_istios() {
    let b = plan_json(&inbound(MtlsMode::Permissive, &[], false));
    assert_eq!(
        b["node"]["id"],
        "sidecar~127.0.0.1~payment-service-0123456789-bcdfg.shop~shop.svc.cluster.local"
    );
    let l = &b["static_resources"]["listeners"][0];
    assert_eq!(l["name"], "virtualInbound");
    for chain in l["filter_chains"].as_array().into_iter().flatten() {
        assert_eq!(chain["name"], "0.0.0.0_50051");
        let hcm = &chain["filters"][0]["typed_config"];
        assert_eq!(hcm["stat_prefix"], "inbound_0.0.0.0_50051");
        let route = &hcm["route_config"]["virtual_hosts"][0]["routes"][0];
        assert_eq!(route["route"]["cluster"], "inbound|50051||");
        assert_eq!(route["name"], "default");
    }
    assert_eq!(
        b["static_resources"]["clusters"][0]["name"],
        "inbound|50051||"
    );

    let b = plan_json(&outbound(plain_traffic()));
    let l = &b["static_resources"]["listeners"][0];
    assert_eq!(l["name"], "0.0.0.0_8080");
    let hcm = &l["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["stat_prefix"], "outbound_0.0.0.0_8080");
    assert_eq!(hcm["route_config"]["name"], "8080");
    let vhost = &hcm["route_config"]["virtual_hosts"][0];
    assert_eq!(vhost["name"], "payment-service.shop.svc.cluster.local:8080");
    let domains: Vec<&str> = vhost["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        domains,
        [
            "payment-service.shop.svc.cluster.local",
            "payment-service.shop.svc.cluster.local:8080",
            "payment-service",
            "payment-service:8080"
        ]
    );
    let c = &b["static_resources"]["clusters"][0];
    assert_eq!(
        c["name"],
        "outbound|8080||payment-service.shop.svc.cluster.local"
    );
    assert_eq!(
        c["transport_socket"]["typed_config"]["sni"],
        "outbound_.8080_._.payment-service.shop.svc.cluster.local"
    );
    // Both access logs on every connection manager: Istio's JSON and its text format.
    let logs = hcm["access_log"].as_array().cloned().unwrap_or_default();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0]["typed_config"]["path"], "/run/pod.json.log");
    assert_eq!(logs[1]["typed_config"]["path"], "/run/pod.text.log");
}

#[test]
fn a_destination_the_sidecar_does_not_import_goes_through_passthrough_cluster() {
    let mut plan = outbound(plain_traffic());
    plan.outbound[0].passthrough.push(PassthroughRoute {
        fqdn: "ledger.finance.svc.cluster.local".into(),
        aliases: vec!["ledger.finance".into()],
        port: 8080,
        endpoint: 7,
    });
    let b = plan_json(&plan);
    let hosts = &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"];
    let any = &hosts[1];
    assert_eq!(any["name"], "allow_any");
    assert_eq!(any["domains"][0], "*");
    let route = &any["routes"][0];
    assert_eq!(route["route"]["cluster"], "PassthroughCluster");
    assert_eq!(
        route["match"]["headers"][0]["string_match"]["safe_regex"]["regex"],
        "^(ledger\\.finance\\.svc\\.cluster\\.local|ledger\\.finance\\.svc\\.cluster\\.local:8080|ledger\\.finance|ledger\\.finance:8080)$"
    );
    assert_eq!(
        route["request_headers_to_add"][0]["header"]["value"],
        "127.0.0.1:7"
    );
    let clusters = b["static_resources"]["clusters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let passthrough = clusters
        .iter()
        .find(|c| c["name"] == "PassthroughCluster")
        .expect("a PassthroughCluster");
    assert_eq!(passthrough["type"], "ORIGINAL_DST");
    assert!(passthrough.get("transport_socket").is_none(), "plaintext");
}

#[test]
fn an_unset_timeout_is_written_as_zero_and_no_attempts_means_no_retry_policy() {
    let b = bootstrap(&outbound(plain_traffic()));
    let route = &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"][0]["routes"][0]["route"];
    assert_eq!(route["timeout"], "0.000s");
    assert!(route.get("retry_policy").is_none());
    let cluster = &b["static_resources"]["clusters"][0];
    assert_eq!(
        cluster["circuit_breakers"]["thresholds"][0]["max_requests"],
        u32::MAX
    );
    assert!(cluster.get("outlier_detection").is_none());
}

#[test]
fn route_cluster_and_tls_carry_the_policy() {
    let traffic = TrafficPolicy {
        timeout_ms: 3000,
        retries: RetryPolicy {
            attempts: 2,
            per_try_timeout_ms: 1000,
            retry_on: vec![
                "5xx".into(),
                "reset".into(),
                "retriable-status-codes".into(),
            ],
            retriable_status_codes: vec![409, 503],
        },
        outlier_detection: Some(OutlierDetection {
            consecutive_5xx: 5,
            interval_ms: 1000,
            base_ejection_time_ms: 30_000,
            max_ejection_percent: 100,
        }),
        connection_pool: Some(ConnectionPool {
            max_connections: 4,
            max_pending_requests: 2,
            max_requests: 8,
            max_requests_per_connection: 1,
            max_retries: u32::MAX,
            retry_budget: None,
        }),
    };
    let b = bootstrap(&outbound(traffic));
    let route = &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"][0]["routes"][0]["route"];
    assert_eq!(route["timeout"], "3.000s");
    assert_eq!(route["retry_policy"]["num_retries"], 2);
    assert_eq!(route["retry_policy"]["per_try_timeout"], "1.000s");
    assert_eq!(
        route["retry_policy"]["retry_on"],
        "5xx,reset,retriable-status-codes"
    );
    assert_eq!(
        route["retry_policy"]["retriable_status_codes"],
        serde_json::json!([409, 503])
    );
    let c = &b["static_resources"]["clusters"][0];
    assert_eq!(
        c["name"],
        "outbound|8080||payment-service.shop.svc.cluster.local"
    );
    assert_eq!(c["outlier_detection"]["consecutive_5xx"], 5);
    assert_eq!(c["outlier_detection"]["base_ejection_time"], "30.000s");
    assert_eq!(c["common_lb_config"]["healthy_panic_threshold"]["value"], 0);
    let t = &c["circuit_breakers"]["thresholds"][0];
    assert_eq!(
        (
            t["max_connections"].as_u64(),
            t["max_pending_requests"].as_u64(),
            t["max_requests"].as_u64()
        ),
        (Some(4), Some(2), Some(8))
    );
    let opts = &c["typed_extension_protocol_options"]
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
    assert_eq!(
        opts["common_http_protocol_options"]["max_requests_per_connection"],
        1
    );
    let ctx = &c["transport_socket"]["typed_config"]["common_tls_context"];
    assert_eq!(ctx["alpn_protocols"][0], "http/1.1");
    assert_eq!(
        ctx["validation_context"]["match_typed_subject_alt_names"][0]["san_type"],
        "URI"
    );
    assert_eq!(
        ctx["validation_context"]["match_typed_subject_alt_names"][0]["matcher"]["exact"],
        "spiffe://cluster.local/ns/shop/sa/payment-service"
    );
    assert_eq!(
        c["load_assignment"]["endpoints"][0]["lb_endpoints"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn every_address_is_loopback() {
    let b = bootstrap(&outbound(plain_traffic()));
    let text = b.to_string();
    let addresses: Vec<&str> = text
        .match_indices("\"address\":\"")
        .map(|(i, _)| &text[i + 11..i + 20])
        .collect();
    assert!(!addresses.is_empty());
    assert!(addresses.iter().all(|a| *a == "127.0.0.1"), "{addresses:?}");
}
