//! The bootstrap of a sidecar configured by istiod: who it is, and where its configuration
//! and its certificates come from. Everything else (listeners, routes, clusters, RBAC) arrives
//! over xDS.
//!
//! The node is described as Istio's agent describes an injected pod's proxy: the id
//! `sidecar~<pod IP>~<pod>.<namespace>~<namespace>.svc.cluster.local`, the cluster
//! `<workload>.<namespace>`, and the metadata istiod reads: `NAMESPACE`, `NAME`, `LABELS`,
//! `SERVICE_ACCOUNT`, `WORKLOAD_NAME`, `INSTANCE_IPS`, `INTERCEPTION_MODE` (`NONE`: the lab
//! has no iptables), `ISTIO_VERSION`, `CLUSTER_ID`, `MESH_ID`, and the paths of the
//! file-mounted certificates (`TLS_SERVER_*`, `TLS_CLIENT_*`) that make istiod name its
//! secrets after those files. Two static clusters: `xds-grpc` (istiod's plaintext gRPC port;
//! one aggregated stream for listeners, clusters, routes and endpoints) and `sds-grpc` (the
//! lab's SDS server), both HTTP/2 on 127.0.0.1.

use super::PodPlan;
use crate::bootstrap::socket;
use serde_json::{json, Value};

/// Who the sidecar is.
pub struct Node<'a> {
    pub pod: &'a PodPlan,
    pub namespace: &'a str,
    pub workload: &'a str,
    pub service_account: &'a str,
    pub labels: Value,
    pub trust_domain: &'a str,
    pub istio_version: &'a str,
    pub cert: String,
    pub key: String,
    pub ca: String,
}

pub fn bootstrap(node: &Node<'_>, xds_port: u16, sds_port: u16) -> Value {
    let pod = node.pod;
    let ip = pod.inbound_ip.to_string();
    let metadata = json!({
        "ISTIO_VERSION": node.istio_version,
        "NAMESPACE": node.namespace,
        "NAME": pod.pod,
        "LABELS": node.labels,
        "SERVICE_ACCOUNT": node.service_account,
        "WORKLOAD_NAME": node.workload,
        "INSTANCE_IPS": ip,
        "INTERCEPTION_MODE": "NONE",
        "CLUSTER_ID": "Kubernetes",
        "MESH_ID": node.trust_domain,
        "TLS_SERVER_CERT_CHAIN": node.cert,
        "TLS_SERVER_KEY": node.key,
        "TLS_SERVER_ROOT_CERT": node.ca,
        "TLS_CLIENT_CERT_CHAIN": node.cert,
        "TLS_CLIENT_KEY": node.key,
        "TLS_CLIENT_ROOT_CERT": node.ca,
    });
    json!({
        "node": {
            "id": format!("sidecar~{ip}~{}.{}~{}.svc.cluster.local", pod.pod, node.namespace, node.namespace),
            "cluster": format!("{}.{}", node.workload, node.namespace),
            "metadata": metadata
        },
        "admin": { "address": socket(pod.admin) },
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "set_node_on_first_message_only": true,
                "grpc_services": [{ "envoy_grpc": { "cluster_name": "xds-grpc" } }]
            },
            "cds_config": { "ads": {}, "resource_api_version": "V3" },
            "lds_config": { "ads": {}, "resource_api_version": "V3" }
        },
        "static_resources": { "clusters": [grpc_cluster("xds-grpc", xds_port), grpc_cluster("sds-grpc", sds_port)] }
    })
}

fn grpc_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": [
            { "endpoint": { "address": socket(port) } }
        ]}]},
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} }
            }
        }
    })
}
