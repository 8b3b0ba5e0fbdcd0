//! The lab's input model: the services on one path through the graph, the mesh policy each one
//! carries (what the generated VirtualService, DestinationRule, PeerAuthentication and
//! AuthorizationPolicy say), the edges between them, and the calls the graph does not show (a
//! call made in code, which the lab makes anyway). Everything downstream (bootstraps,
//! certificates, scenarios) reads only this; `LabSpec::validate` refuses a spec the lab could not
//! run honestly, before any process starts.

use serde::{Deserialize, Serialize};

/// The services and edges the lab brings up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// SPIFFE trust domain, `cluster.local` in a default Istio install.
    pub trust_domain: String,
    pub services: Vec<ServiceSpec>,
    pub edges: Vec<EdgeSpec>,
    /// Calls the apps make although the graph has no such edge (`--call FROM:TO`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallSpec>,
}

/// One service and the policy that applies to traffic towards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    pub namespace: String,
    pub service_account: String,
    /// The workload (Deployment) behind the service: its pods, and so its sidecars' log files,
    /// are named after it, and so is its AuthorizationPolicy. The service name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The Service port the lab's callers use (it shows in cluster, listener and SNI names).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The container port behind `port`; `port` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    pub protocol: Protocol,
    /// PeerAuthentication mode of the service's inbound port.
    pub mtls: MtlsMode,
    /// Takes plain traffic from outside the mesh (a webhook receiver): the lab expects plaintext to
    /// be accepted here and rejected everywhere else.
    #[serde(default)]
    pub external_plaintext: bool,
    /// AuthorizationPolicy ALLOW principals in Istio form (`<trust-domain>/ns/<ns>/sa/<sa>`).
    /// Empty means allow nothing.
    pub allowed_principals: Vec<String>,
    /// An ALLOW rule for requests that carry no peer identity (plaintext under PERMISSIVE).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// The AuthorizationPolicy is annotated `istio.io/dry-run: "true"`: its rules are evaluated
    /// and recorded (RBAC shadow rules) but nothing is enforced.
    #[serde(default)]
    pub dry_run: bool,
    /// Replicas the lab starts; outlier detection needs at least two to show an ejection.
    #[serde(default = "one")]
    pub instances: u32,
    pub traffic: TrafficPolicy,
}

fn one() -> u32 {
    1
}

/// The port every service of a hand-written spec is declared on unless it says otherwise.
pub const DEFAULT_PORT: u16 = 8080;

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Grpc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MtlsMode {
    Strict,
    Permissive,
}

/// VirtualService route settings and DestinationRule traffic policy for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficPolicy {
    /// Route timeout; 0 means none (Istio writes `timeout: 0s`).
    pub timeout_ms: u64,
    pub retries: RetryPolicy,
    pub outlier_detection: Option<OutlierDetection>,
    pub connection_pool: Option<ConnectionPool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Istio `retries.attempts`: retries after the first try (0 = no retry policy).
    pub attempts: u32,
    /// 0 means the route timeout bounds each try.
    pub per_try_timeout_ms: u64,
    /// Istio `retryOn` conditions, e.g. `5xx`, `connect-failure`, `unavailable`.
    pub retry_on: Vec<String>,
    /// HTTP statuses `retriable-status-codes` retries (Istio's bare numbers in `retryOn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retriable_status_codes: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
    pub interval_ms: u64,
    pub base_ejection_time_ms: u64,
    pub max_ejection_percent: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPool {
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
    /// 0 means unlimited.
    pub max_requests_per_connection: u32,
    /// Retries outstanding at once to the host (`http.maxRetries`); Istio's unset value,
    /// 2^32-1, when absent.
    #[serde(default = "unlimited")]
    pub max_retries: u32,
    /// The DestinationRule's `retryBudget`: retries allowed as a share of active requests
    /// (Envoy then ignores `max_retries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_budget: Option<RetryBudget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudget {
    /// `percent` in tenths of a percent (20.0 % is 200), so the spec compares exactly.
    pub permille: u32,
    pub min_retry_concurrency: u32,
}

fn unlimited() -> u32 {
    u32::MAX
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
}

/// A call the graph does not show: `from`'s app calls `to` through its sidecar anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub from: String,
    pub to: String,
    /// Whether `from`'s sidecar has `to`'s service in its configuration: true without a Sidecar
    /// resource (every proxy sees the whole mesh) or when the Sidecar's egress hosts import it.
    /// When false the call leaves through `PassthroughCluster`, in plaintext, as Istio's default
    /// `outboundTrafficPolicy: ALLOW_ANY` sends unknown destinations.
    #[serde(default = "yes")]
    pub imported: bool,
}

impl LabSpec {
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// SPIFFE ID of a service's workload certificate.
    pub fn spiffe_id(&self, service: &ServiceSpec) -> String {
        format!("spiffe://{}", self.principal(service))
    }

    /// The Istio principal form of a service's identity.
    pub fn principal(&self, service: &ServiceSpec) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, service.namespace, service.service_account
        )
    }

    /// Services that receive traffic in the lab (over an edge, a call, or from outside the
    /// mesh), in spec order.
    pub fn callees(&self) -> Vec<&ServiceSpec> {
        self.services
            .iter()
            .filter(|s| {
                s.external_plaintext
                    || self.edges.iter().any(|e| e.to == s.name)
                    || self.calls.iter().any(|c| c.to == s.name)
            })
            .collect()
    }

    /// Services a given service calls, in edge order.
    pub fn callees_of(&self, caller: &str) -> Vec<&ServiceSpec> {
        self.edges
            .iter()
            .filter(|e| e.from == caller)
            .filter_map(|e| self.service(&e.to))
            .collect()
    }

    /// Everything a service sends to, edges first, then calls not already an edge: each with
    /// whether its sidecar has the callee in its configuration.
    pub fn targets_of(&self, caller: &str) -> Vec<(&ServiceSpec, bool)> {
        let mut out: Vec<(&ServiceSpec, bool)> = self
            .callees_of(caller)
            .into_iter()
            .map(|s| (s, true))
            .collect();
        for c in self.calls.iter().filter(|c| c.from == caller) {
            if let Some(s) = self.service(&c.to) {
                if !out.iter().any(|(t, _)| t.name == s.name) {
                    out.push((s, c.imported));
                }
            }
        }
        out
    }
}

impl ServiceSpec {
    /// The workload name: pods, sidecar log files and the AuthorizationPolicy are named after it.
    pub fn workload(&self) -> &str {
        self.workload.as_deref().unwrap_or(&self.name)
    }

    /// The container port the sidecar's inbound side serves.
    pub fn target_port(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }
}

mod validate;

pub use validate::SpecError;

#[cfg(test)]
mod tests;
