//! The caller's side of a sidecar: one HTTP listener per Service port (`0.0.0.0_<port>`, stat
//! prefix `outbound_0.0.0.0_<port>`, route configuration `<port>`), routing by Host to one
//! cluster per callee (virtual host `<fqdn>:<port>`, route `default`).
//!
//! A destination the sidecar has no configuration for (its Sidecar's egress hosts do not import
//! it) is what Istio's `ALLOW_ANY` outbound policy does with it: the virtual host `allow_any`
//! sends it on in plaintext through `PassthroughCluster` to the address the app dialled. The lab
//! has no iptables to keep that address, so the route writes it into the header an
//! `ORIGINAL_DST` cluster reads (`x-envoy-original-dst-host`).
//!
//! Route fields follow the VirtualService: `timeout` (0 = off, as Istio writes it, because
//! Envoy's own default is 15 s), `retry_policy` with `previous_hosts` so a retry goes to another
//! instance. Cluster fields follow the DestinationRule: `circuit_breakers` (Istio replaces
//! Envoy's 1024 defaults with 2^32-1 when unset; `max_retries` is `http.maxRetries`, plus the retry
//! budget), round robin, `outlier_detection` with the panic threshold
//! Istio forces to 0, and an `UpstreamTlsContext` that only accepts the callee's SPIFFE ID.

use super::{access_log, duration, outbound_stat_prefix, path, router, sni, socket};
use super::{OutboundListener, OutboundRoute, PassthroughRoute, TlsFiles, PASSTHROUGH_CLUSTER};
use crate::access_log::LogFiles;
use crate::spec::{ConnectionPool, Protocol, RetryPolicy};
use serde_json::{json, Map, Value};

/// Istio's "unset" value for circuit-breaker thresholds.
const UNLIMITED: u32 = u32::MAX;

/// The header an `ORIGINAL_DST` cluster with `use_http_header` takes the destination from.
const ORIGINAL_DST_HEADER: &str = "x-envoy-original-dst-host";

pub(super) fn listener(plan: &OutboundListener, logs: &LogFiles) -> Value {
    let mut hosts: Vec<Value> = plan.routes.iter().map(virtual_host).collect();
    if !plan.passthrough.is_empty() {
        hosts.push(allow_any(&plan.passthrough));
    }
    json!({
        "name": format!("0.0.0.0_{}", plan.service_port),
        "address": socket(plan.port),
        "filter_chains": [{ "filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": outbound_stat_prefix(plan.service_port),
                "codec_type": "AUTO",
                "access_log": access_log(logs),
                "http_filters": [router()],
                "route_config": {
                    "name": plan.service_port.to_string(),
                    "virtual_hosts": hosts
                }
            }
        }]}]
    })
}

/// Istio's catch-all virtual host: one route per destination the app dials, each pointing
/// `PassthroughCluster` at that destination.
fn allow_any(destinations: &[PassthroughRoute]) -> Value {
    let routes: Vec<Value> = destinations
        .iter()
        .map(|d| {
            let names: Vec<String> = super::domains(&d.fqdn, &d.aliases, d.port)
                .iter()
                .map(|n| regex_quote(n))
                .collect();
            json!({
                "name": "allow_any",
                "match": {
                    "prefix": "/",
                    "headers": [{
                        "name": ":authority",
                        "string_match": { "safe_regex": { "regex": format!("^({})$", names.join("|")) } }
                    }]
                },
                "request_headers_to_add": [{
                    "header": { "key": ORIGINAL_DST_HEADER, "value": format!("127.0.0.1:{}", d.endpoint) },
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"
                }],
                "route": { "cluster": PASSTHROUGH_CLUSTER, "timeout": "0s" }
            })
        })
        .collect();
    json!({ "name": "allow_any", "domains": ["*"], "routes": routes })
}

fn regex_quote(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escape = !(c.is_ascii_alphanumeric() || c == '-' || c == ':');
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Plaintext to wherever the request says, as Istio's `PassthroughCluster` (ORIGINAL_DST).
pub(super) fn passthrough_cluster() -> Value {
    json!({
        "name": PASSTHROUGH_CLUSTER,
        "type": "ORIGINAL_DST",
        "lb_policy": "CLUSTER_PROVIDED",
        "original_dst_lb_config": { "use_http_header": true },
        "connect_timeout": "10s",
        "circuit_breakers": circuit_breakers(None)
    })
}

fn virtual_host(r: &OutboundRoute) -> Value {
    let mut route = Map::new();
    route.insert("cluster".into(), json!(r.cluster_name()));
    route.insert("timeout".into(), json!(duration(r.traffic.timeout_ms)));
    // As Istio writes it: a gRPC request's `grpc-timeout` header is honoured up to the route
    // timeout, and without one the route timeout applies.
    route.insert(
        "max_grpc_timeout".into(),
        json!(duration(r.traffic.timeout_ms)),
    );
    if let Some(retry) = retry_policy(&r.traffic.retries) {
        route.insert("retry_policy".into(), retry);
    }
    json!({
        "name": format!("{}:{}", r.fqdn, r.port),
        "domains": r.domains(),
        "include_request_attempt_count": true,
        "routes": [{ "name": "default", "match": { "prefix": "/" }, "route": route }]
    })
}

/// `attempts: 0` means no retry policy at all, as in Istio.
fn retry_policy(r: &RetryPolicy) -> Option<Value> {
    if r.attempts == 0 {
        return None;
    }
    let mut policy = json!({
        "retry_on": r.retry_on.join(","),
        "num_retries": r.attempts,
        "retry_host_predicate": [{
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" }
        }],
        "host_selection_retry_max_attempts": 5
    });
    if !r.retriable_status_codes.is_empty() {
        policy["retriable_status_codes"] = json!(r.retriable_status_codes);
    }
    if r.per_try_timeout_ms > 0 {
        policy["per_try_timeout"] = json!(duration(r.per_try_timeout_ms));
    }
    Some(policy)
}

pub(super) fn cluster(r: &OutboundRoute, tls: &TlsFiles) -> Value {
    let name = r.cluster_name();
    let endpoints: Vec<Value> = r
        .endpoints
        .iter()
        .map(|p| json!({ "endpoint": { "address": socket(*p) } }))
        .collect();
    let alpn = match r.protocol {
        Protocol::Grpc => "h2",
        Protocol::Http => "http/1.1",
    };
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "10s",
        // Not Istio's default (LEAST_REQUEST, see `istiod::diff::LOAD_BALANCER`): round robin
        // keeps the lab's pool, ejection and connect-failure counts exact.
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": endpoints }] },
        "circuit_breakers": circuit_breakers(r.traffic.connection_pool.as_ref()),
        "typed_extension_protocol_options": protocol_options(r),
        "transport_socket": {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": sni(r.port, &r.fqdn),
                "common_tls_context": {
                    // ALPN must agree with the cluster's HTTP version, or the callee picks h2 for
                    // an HTTP/1.1 upstream and the connection fails.
                    "alpn_protocols": [alpn],
                    "tls_certificates": [{
                        "certificate_chain": { "filename": path(&tls.cert) },
                        "private_key": { "filename": path(&tls.key) }
                    }],
                    "validation_context": {
                        "trusted_ca": { "filename": path(&tls.ca) },
                        "match_typed_subject_alt_names": [{
                            "san_type": "URI",
                            "matcher": { "exact": r.callee_id }
                        }]
                    }
                }
            }
        }
    });
    if let Some(o) = &r.traffic.outlier_detection {
        cluster["outlier_detection"] = json!({
            "consecutive_5xx": o.consecutive_5xx,
            "enforcing_consecutive_5xx": 100,
            "enforcing_success_rate": 0,
            "interval": duration(o.interval_ms),
            "base_ejection_time": duration(o.base_ejection_time_ms),
            "max_ejection_percent": o.max_ejection_percent
        });
        // Istio writes minHealthPercent (default 0) here whenever outlier detection is set, which
        // turns Envoy's panic mode off. The merge window is 1 s by default; 0 makes an ejection
        // take effect on the next request, so the lab's counts are exact.
        cluster["common_lb_config"] = json!({
            "healthy_panic_threshold": { "value": 0 },
            "update_merge_window": "0s"
        });
    }
    cluster
}

fn circuit_breakers(pool: Option<&ConnectionPool>) -> Value {
    let (cx, pending, requests, retries) = match pool {
        Some(p) => (
            p.max_connections,
            p.max_pending_requests,
            p.max_requests,
            p.max_retries,
        ),
        None => (UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED),
    };
    let mut thresholds = json!({
        "priority": "DEFAULT",
        "max_connections": cx,
        "max_pending_requests": pending,
        "max_requests": requests,
        "max_retries": retries
    });
    if let Some(b) = pool.and_then(|p| p.retry_budget.as_ref()) {
        thresholds["retry_budget"] = json!({
            "budget_percent": { "value": f64::from(b.permille) / 10.0 },
            "min_retry_concurrency": b.min_retry_concurrency
        });
    }
    json!({ "thresholds": [thresholds] })
}

fn protocol_options(r: &OutboundRoute) -> Value {
    let mut options = json!({
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": match r.protocol {
            Protocol::Grpc => json!({ "http2_protocol_options": {} }),
            Protocol::Http => json!({ "http_protocol_options": {} }),
        }
    });
    let per_connection = r
        .traffic
        .connection_pool
        .as_ref()
        .map_or(0, |p| p.max_requests_per_connection);
    if per_connection > 0 {
        options["common_http_protocol_options"] =
            json!({ "max_requests_per_connection": per_connection });
    }
    json!({ "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": options })
}
