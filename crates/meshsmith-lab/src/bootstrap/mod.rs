//! Envoy v3 static bootstraps, one per sidecar, as JSON.
//!
//! In: a `SidecarPlan` (ports already picked, certificate files already written, the policy of
//! every callee taken from the `LabSpec`). Out: a `serde_json::Value` Envoy loads with
//! `--config-path x.json`. The translation follows what Istio's control plane writes (see the
//! field notes in `outbound` and `inbound`), minus the istio/proxy-only filters that plain Envoy
//! lacks: ALPN is set statically and identities come straight from the certificates.

mod inbound;
mod outbound;

use crate::spec::{MtlsMode, Protocol, TrafficPolicy};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The Service port every lab service is declared on; it only shows up in cluster names.
pub const SERVICE_PORT: u16 = 8080;

/// Certificate files one sidecar presents and trusts.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Everything needed to write one sidecar's bootstrap.
#[derive(Debug, Clone)]
pub struct SidecarPlan {
    /// `<service>-<instance>`, used as node id and in file names.
    pub name: String,
    pub admin_port: u16,
    pub tls: TlsFiles,
    pub access_log: PathBuf,
    pub inbound: Option<InboundPlan>,
    pub outbound: Option<OutboundPlan>,
}

/// The callee side: mTLS termination, authorization, and the hop to the local app.
#[derive(Debug, Clone)]
pub struct InboundPlan {
    pub port: u16,
    pub app_port: u16,
    pub protocol: Protocol,
    pub mtls: MtlsMode,
    /// Used in RBAC policy names, as Istio does (`ns[<ns>]-policy[<name>]-rule[<i>]`).
    pub namespace: String,
    pub service: String,
    /// SPIFFE IDs allowed by the AuthorizationPolicy.
    pub allowed_ids: Vec<String>,
    pub allow_unauthenticated: bool,
}

/// The caller side: one listener the local app sends to, one cluster per callee.
#[derive(Debug, Clone)]
pub struct OutboundPlan {
    pub port: u16,
    pub routes: Vec<OutboundRoute>,
}

/// One callee as seen from a caller.
#[derive(Debug, Clone)]
pub struct OutboundRoute {
    /// Fully qualified host, e.g. `payment-service.shop.svc.cluster.local`.
    pub fqdn: String,
    /// Short names that also reach it (`payment-service`, `payment-service.shop`).
    pub aliases: Vec<String>,
    pub protocol: Protocol,
    /// The SPIFFE ID the callee's certificate must carry.
    pub callee_id: String,
    /// Inbound ports of the callee's instances.
    pub endpoints: Vec<u16>,
    pub traffic: TrafficPolicy,
}

impl OutboundRoute {
    /// Istio's cluster name for this host: `outbound|<port>||<fqdn>`.
    pub fn cluster_name(&self) -> String {
        format!("outbound|{SERVICE_PORT}||{}", self.fqdn)
    }
}

/// The whole bootstrap for one sidecar.
pub fn bootstrap(plan: &SidecarPlan) -> Value {
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    if let Some(inbound) = &plan.inbound {
        listeners.push(inbound::listener(inbound, &plan.tls, &plan.access_log));
        clusters.push(inbound::app_cluster(inbound));
    }
    if let Some(outbound) = &plan.outbound {
        listeners.push(outbound::listener(outbound, &plan.access_log));
        clusters.extend(
            outbound
                .routes
                .iter()
                .map(|r| outbound::cluster(r, &plan.tls)),
        );
    }
    json!({
        "node": { "id": plan.name, "cluster": plan.name },
        "admin": { "address": socket(plan.admin_port) },
        "static_resources": { "listeners": listeners, "clusters": clusters },
    })
}

pub(crate) fn socket(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

pub(crate) fn duration(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

pub(crate) fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub(crate) fn access_log(file: &Path) -> Value {
    json!([{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path(file),
            "log_format": { "text_format_source": { "inline_string":
                "%START_TIME% %DOWNSTREAM_LOCAL_ADDRESS% %REQ(:AUTHORITY)% %RESPONSE_CODE% \
                 flags=%RESPONSE_FLAGS% attempts=%UPSTREAM_REQUEST_ATTEMPT_COUNT% \
                 cluster=%UPSTREAM_CLUSTER% up=%UPSTREAM_HOST% dur=%DURATION%ms \
                 peer=%DOWNSTREAM_PEER_URI_SAN% tls_fail=%UPSTREAM_TRANSPORT_FAILURE_REASON%\n" } }
        }
    }])
}

pub(crate) fn router() -> Value {
    json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    })
}

#[cfg(test)]
mod tests;
