//! The callee's side of a sidecar: the inbound listener and the cluster to the local app.
//!
//! As Istio's `virtualInbound`: a `tls_inspector` listener filter and filter chains chosen by
//! transport protocol. STRICT has only the `tls` chain (mutual TLS, client certificate
//! required), so plaintext matches no chain and is closed; PERMISSIVE adds a `raw_buffer` chain.
//! Both chains carry the AuthorizationPolicy as an RBAC ALLOW filter keyed on the peer
//! certificate's URI SAN, and set `x-forwarded-client-cert` so the app sees who called.

use super::{access_log, path, router, socket, InboundPlan, TlsFiles};
use crate::spec::{MtlsMode, Protocol};
use serde_json::{json, Map, Value};

pub(super) fn app_cluster_name() -> String {
    format!("inbound|{}||", super::SERVICE_PORT)
}

pub(super) fn listener(plan: &InboundPlan, tls: &TlsFiles, log: &std::path::Path) -> Value {
    let mut chains = vec![json!({
        "name": "mtls",
        "filter_chain_match": { "transport_protocol": "tls" },
        "transport_socket": {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": true,
                "common_tls_context": {
                    "alpn_protocols": ["h2", "http/1.1"],
                    "tls_certificates": [{
                        "certificate_chain": { "filename": path(&tls.cert) },
                        "private_key": { "filename": path(&tls.key) }
                    }],
                    "validation_context": { "trusted_ca": { "filename": path(&tls.ca) } }
                }
            }
        },
        "filters": [http_manager(plan, "inbound_mtls", log)]
    })];
    if plan.mtls == MtlsMode::Permissive {
        chains.push(json!({
            "name": "plaintext",
            "filter_chain_match": { "transport_protocol": "raw_buffer" },
            "filters": [http_manager(plan, "inbound_plaintext", log)]
        }));
    }
    json!({
        "name": format!("inbound_{}", plan.port),
        "address": socket(plan.port),
        "listener_filters": [{
            "name": "envoy.filters.listener.tls_inspector",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" }
        }],
        "filter_chains": chains
    })
}

fn http_manager(plan: &InboundPlan, stat_prefix: &str, log: &std::path::Path) -> Value {
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            "codec_type": "AUTO",
            "access_log": access_log(log),
            "http_filters": [rbac(plan), router()],
            "forward_client_cert_details": "SANITIZE_SET",
            "set_current_client_cert_details": { "uri": true },
            "route_config": {
                "name": "inbound",
                "virtual_hosts": [{
                    "name": "inbound",
                    "domains": ["*"],
                    "routes": [{
                        "match": { "prefix": "/" },
                        "route": { "cluster": app_cluster_name(), "timeout": "0s" }
                    }]
                }]
            }
        }
    })
}

/// ALLOW with no policies denies everything: that is Istio's allow-nothing policy.
pub(super) fn rbac(plan: &InboundPlan) -> Value {
    let mut policies = Map::new();
    let name = |i: usize| format!("ns[{}]-policy[{}]-rule[{i}]", plan.namespace, plan.service);
    if !plan.allowed_ids.is_empty() {
        let principals: Vec<Value> = plan
            .allowed_ids
            .iter()
            .map(|id| json!({ "authenticated": { "principal_name": { "exact": id } } }))
            .collect();
        policies.insert(
            name(0),
            json!({ "permissions": [{ "any": true }], "principals": principals }),
        );
    }
    if plan.allow_unauthenticated {
        // Matches requests whose connection carries no verified peer certificate.
        policies.insert(
            name(1),
            json!({
                "permissions": [{ "any": true }],
                "principals": [{ "not_id": { "authenticated": {} } }]
            }),
        );
    }
    json!({
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": { "action": "ALLOW", "policies": policies }
        }
    })
}

pub(super) fn app_cluster(plan: &InboundPlan) -> Value {
    let name = app_cluster_name();
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "10s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": [
            { "endpoint": { "address": socket(plan.app_port) } }
        ]}]},
        "circuit_breakers": { "thresholds": [{
            "priority": "DEFAULT",
            "max_connections": u32::MAX,
            "max_pending_requests": u32::MAX,
            "max_requests": u32::MAX,
            "max_retries": u32::MAX
        }]}
    });
    if plan.protocol == Protocol::Grpc {
        cluster["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} }
            }
        });
    }
    cluster
}
