//! The callee's side of a sidecar: the inbound listener and the cluster to the local app.
//!
//! As Istio's `virtualInbound`: a `tls_inspector` listener filter and filter chains chosen by
//! transport protocol, both named `0.0.0.0_<target port>` and counting under the HTTP stat
//! prefix `inbound_0.0.0.0_<target port>`. STRICT has only the `tls` chain (mutual TLS, client
//! certificate required), so plaintext matches no chain and is closed; PERMISSIVE adds a
//! `raw_buffer` chain. Both chains carry the AuthorizationPolicy as an RBAC filter keyed on the
//! peer certificate's URI SAN (see `rbac`), and set `x-forwarded-client-cert` so the app sees
//! who called. Requests go to `inbound|<target port>||` through the route `default`.

use super::{access_log, inbound_cluster, inbound_stat_prefix, path, rbac, router, socket};
use super::{InboundPlan, TlsFiles};
use crate::access_log::LogFiles;
use crate::spec::{MtlsMode, Protocol};
use serde_json::{json, Value};

pub(super) fn listener(plan: &InboundPlan, tls: &TlsFiles, logs: &LogFiles) -> Value {
    let chain_name = format!("0.0.0.0_{}", plan.target_port);
    let mut chains = vec![json!({
        "name": chain_name,
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
        "filters": [http_manager(plan, logs)]
    })];
    if plan.mtls == MtlsMode::Permissive {
        chains.push(json!({
            "name": chain_name,
            "filter_chain_match": { "transport_protocol": "raw_buffer" },
            "filters": [http_manager(plan, logs)]
        }));
    }
    json!({
        "name": "virtualInbound",
        // As Istio's: a connection no chain takes (plaintext to STRICT) still leaves a line, NR.
        "access_log": no_chain_log(logs),
        "address": socket(plan.port),
        "listener_filters": [{
            "name": "envoy.filters.listener.tls_inspector",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" }
        }],
        "filter_chains": chains
    })
}

fn no_chain_log(logs: &LogFiles) -> Value {
    let mut loggers = access_log(logs);
    if let Some(list) = loggers.as_array_mut() {
        for logger in list {
            logger["filter"] = json!({ "response_flag_filter": { "flags": ["NR"] } });
        }
    }
    loggers
}

fn http_manager(plan: &InboundPlan, logs: &LogFiles) -> Value {
    let cluster = inbound_cluster(plan.target_port);
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": inbound_stat_prefix(plan.target_port),
            "codec_type": "AUTO",
            "access_log": access_log(logs),
            "http_filters": [rbac::filter(plan), router()],
            "forward_client_cert_details": "SANITIZE_SET",
            "set_current_client_cert_details": { "uri": true },
            "route_config": {
                "name": cluster,
                "virtual_hosts": [{
                    "name": format!("inbound|http|{}", plan.target_port),
                    "domains": ["*"],
                    "routes": [{
                        "name": "default",
                        "match": { "prefix": "/" },
                        "route": { "cluster": cluster, "timeout": "0s" }
                    }]
                }]
            }
        }
    })
}

pub(super) fn app_cluster(plan: &InboundPlan) -> Value {
    let name = inbound_cluster(plan.target_port);
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
