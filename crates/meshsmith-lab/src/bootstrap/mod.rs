//! Envoy v3 static bootstraps, one per sidecar, as JSON, named the way Istio's sidecars are.
//!
//! In: a `SidecarPlan` (ports already picked, certificate files already written, the policy of
//! every callee taken from the `LabSpec`). Out: a `serde_json::Value` Envoy loads with
//! `--config-path x.json`. The translation follows what Istio's control plane writes (see the
//! field notes in `outbound`, `inbound` and `rbac`), minus the istio/proxy-only filters that
//! plain Envoy lacks: ALPN is set statically and identities come straight from the
//! certificates. Names are Istio's, so logs and stats read like a mesh's: clusters
//! `outbound|PORT||HOST` and `inbound|PORT||`, the listener `virtualInbound` and the outbound
//! listeners `0.0.0.0_PORT`, HTTP stat prefixes `inbound_0.0.0.0_PORT` and
//! `outbound_0.0.0.0_PORT`, route configurations named after the port, the SNI
//! `outbound_.PORT_._.HOST`, `PassthroughCluster` for a destination the sidecar does not know.
//! What the lab cannot copy is the addresses: every listener binds its own port on 127.0.0.1.

mod inbound;
mod outbound;
mod rbac;

use crate::access_log::{self, LogFiles};
use crate::spec::{MtlsMode, Protocol, TrafficPolicy};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The stat prefix Istio gives dry-run ALLOW shadow rules (`istio_dry_run_deny_` for DENY).
pub const DRY_RUN_ALLOW_PREFIX: &str = "istio_dry_run_allow_";

/// Istio's cluster for destinations the sidecar has no configuration for (`ALLOW_ANY`).
pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";

/// `inbound_0.0.0.0_<target port>`: the HTTP stat prefix of the inbound chains of a port.
pub fn inbound_stat_prefix(target_port: u16) -> String {
    format!("inbound_0.0.0.0_{target_port}")
}

/// `outbound_0.0.0.0_<service port>`: the HTTP stat prefix of an outbound listener.
pub fn outbound_stat_prefix(port: u16) -> String {
    format!("outbound_0.0.0.0_{port}")
}

/// `outbound|<port>||<fqdn>`.
pub fn outbound_cluster(port: u16, fqdn: &str) -> String {
    format!("outbound|{port}||{fqdn}")
}

/// `inbound|<target port>||`.
pub fn inbound_cluster(target_port: u16) -> String {
    format!("inbound|{target_port}||")
}

/// The SNI an Istio client sends to a mesh destination: `outbound_.<port>_._.<fqdn>`.
pub fn sni(port: u16, fqdn: &str) -> String {
    format!("outbound_.{port}_._.{fqdn}")
}

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
    /// The pod this sidecar stands for (`<workload>-<hash>-<suffix>`).
    pub pod: String,
    pub namespace: String,
    pub workload: String,
    pub admin_port: u16,
    pub tls: TlsFiles,
    pub logs: LogFiles,
    pub inbound: Option<InboundPlan>,
    /// One listener per Service port the app sends to.
    pub outbound: Vec<OutboundListener>,
}

/// The callee side: mTLS termination, authorization, and the hop to the local app.
#[derive(Debug, Clone)]
pub struct InboundPlan {
    /// The lab port the listener binds.
    pub port: u16,
    pub app_port: u16,
    /// The container port the chains are named after.
    pub target_port: u16,
    pub protocol: Protocol,
    pub mtls: MtlsMode,
    /// Used in RBAC policy names, as Istio does (`ns[<ns>]-policy[<name>]-rule[<i>]`).
    pub namespace: String,
    /// The AuthorizationPolicy's name.
    pub policy: String,
    /// SPIFFE IDs allowed by the AuthorizationPolicy.
    pub allowed_ids: Vec<String>,
    pub allow_unauthenticated: bool,
    /// The policy is dry-run: shadow rules only.
    pub dry_run: bool,
}

/// The caller side for one Service port: the listener the local app sends to.
#[derive(Debug, Clone)]
pub struct OutboundListener {
    pub service_port: u16,
    /// The lab port the listener binds.
    pub port: u16,
    /// Destinations the sidecar has configuration for.
    pub routes: Vec<OutboundRoute>,
    /// Destinations it does not: sent on in plaintext through `PassthroughCluster`.
    pub passthrough: Vec<PassthroughRoute>,
}

/// One callee as seen from a caller.
#[derive(Debug, Clone)]
pub struct OutboundRoute {
    /// Fully qualified host, e.g. `payment-service.shop.svc.cluster.local`.
    pub fqdn: String,
    /// Other names that reach it (`payment-service.shop`, and the short name from its own
    /// namespace).
    pub aliases: Vec<String>,
    /// The Service port.
    pub port: u16,
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
        outbound_cluster(self.port, &self.fqdn)
    }

    /// Every name the route answers to, bare and with the port, as Istio lists them.
    fn domains(&self) -> Vec<String> {
        domains(&self.fqdn, &self.aliases, self.port)
    }
}

/// A destination the caller's sidecar has no configuration for.
#[derive(Debug, Clone)]
pub struct PassthroughRoute {
    pub fqdn: String,
    pub aliases: Vec<String>,
    pub port: u16,
    /// Where the connection would have gone anyway (one instance's inbound port): what the
    /// original destination address is in a pod.
    pub endpoint: u16,
}

fn domains(fqdn: &str, aliases: &[String], port: u16) -> Vec<String> {
    std::iter::once(fqdn)
        .chain(aliases.iter().map(String::as_str))
        .flat_map(|d| [d.to_string(), format!("{d}:{port}")])
        .collect()
}

/// The whole bootstrap for one sidecar.
pub fn bootstrap(plan: &SidecarPlan) -> Value {
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    if let Some(inbound) = &plan.inbound {
        listeners.push(inbound::listener(inbound, &plan.tls, &plan.logs));
        clusters.push(inbound::app_cluster(inbound));
    }
    for listener in &plan.outbound {
        listeners.push(outbound::listener(listener, &plan.logs));
        clusters.extend(
            listener
                .routes
                .iter()
                .map(|r| outbound::cluster(r, &plan.tls)),
        );
    }
    if plan.outbound.iter().any(|l| !l.passthrough.is_empty()) {
        clusters.push(outbound::passthrough_cluster());
    }
    json!({
        "node": {
            "id": format!(
                "sidecar~127.0.0.1~{}.{}~{}.svc.cluster.local",
                plan.pod, plan.namespace, plan.namespace
            ),
            "cluster": format!("{}.{}", plan.workload, plan.namespace)
        },
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

pub(crate) fn access_log(files: &LogFiles) -> Value {
    access_log::loggers(files)
}

pub(crate) fn router() -> Value {
    json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    })
}

#[cfg(test)]
mod tests;
