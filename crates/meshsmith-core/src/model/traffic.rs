//! Calls seen in the running system: what `--traffic` files (Prometheus answers over Istio's
//! standard metrics, Istio's Envoy access logs, Kiali's graph, dry-run results) say, reduced
//! to one [`Observation`] per distinct (source, destination, port, protocol, reporter).
//!
//! ```text
//!  traffic files ──load::traffic──▶ Traffic (observations with counts and file:line)
//!                                        └──infer──▶ edges with `observed` evidence
//! ```
//!
//! Names here are as the traffic wrote them: a pod name, a workload name, a principal, a
//! service host. `infer` matches them against the inventory; what matches nothing is reported,
//! never invented as a node.

use super::{Origin, Protocol};

/// Who made a call, as the traffic names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObservedPeer {
    /// A workload by name (Prometheus `source_workload`, Kiali's workload node).
    Workload { namespace: String, name: String },
    /// A pod by name (the pod whose access log this is; `kubectl logs --prefix`).
    /// The namespace is `None` when the log did not say.
    Pod {
        namespace: Option<String>,
        name: String,
    },
    /// A mesh identity, `<trust-domain>/ns/<ns>/sa/<sa>` (with or without `spiffe://`).
    Principal(String),
    /// A mesh sidecar whose identity the traffic does not carry (an inbound access log
    /// line that came over mTLS, with the caller's SNI, but no peer principal).
    MeshUnidentified,
    /// Outside the mesh (`unknown` in Istio's metrics, plain text with no identity).
    Unknown,
}

/// Where a call went, as the traffic names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObservedTarget {
    /// A Service host as Istio writes it: `reviews.default.svc.cluster.local`, or a name and
    /// namespace given apart (`destination_service_name`, `destination_service_namespace`).
    Service {
        namespace: Option<String>,
        name: String,
    },
    /// A workload (`destination_workload`), when no service is named.
    Workload { namespace: String, name: String },
    /// A pod (the pod whose inbound access log this is).
    Pod {
        namespace: Option<String>,
        name: String,
    },
    /// A host that is not a cluster Service name (an external host, `PassthroughCluster`).
    Host(String),
}

/// Which side's proxy reported the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Reporter {
    /// The caller's sidecar (outbound).
    Source,
    /// The callee's sidecar (inbound).
    Destination,
    #[default]
    Unknown,
}

/// How the format the observations were read from is called, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrafficFormat {
    /// The Prometheus HTTP API's JSON answer (`/api/v1/query`, `/api/v1/query_range`).
    PrometheusJson,
    /// The Prometheus text exposition format.
    PrometheusText,
    /// Istio's default Envoy access log text format.
    AccessLogText,
    /// Istio's Envoy access log, JSON encoding.
    AccessLogJson,
    /// Kiali's graph API answer.
    KialiGraph,
}

impl TrafficFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrometheusJson => "prometheus-json",
            Self::PrometheusText => "prometheus-text",
            Self::AccessLogText => "access-log-text",
            Self::AccessLogJson => "access-log-json",
            Self::KialiGraph => "kiali-graph",
        }
    }
}

/// Counts over every line or sample that made up one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallCounts {
    /// Requests (HTTP, gRPC) or connections opened (TCP).
    pub requests: u64,
    /// Responses by class: 2xx and 3xx, 4xx, 5xx (HTTP status; gRPC calls by their HTTP status).
    pub ok: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// Requests an enforced AuthorizationPolicy denied (403 with `rbac_access_denied`).
    pub denied: u64,
    /// Requests a dry-run AuthorizationPolicy would have denied (Envoy's RBAC shadow result).
    pub shadow_denied: u64,
    /// Requests that came over mutual TLS, and in plain text, where the traffic says.
    pub mtls: u64,
    pub plaintext: u64,
}

impl CallCounts {
    pub fn add(&mut self, other: &CallCounts) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.denied += other.denied;
        self.shadow_denied += other.shadow_denied;
        self.mtls += other.mtls;
        self.plaintext += other.plaintext;
    }
}

/// One distinct call seen in the traffic, with its counts and where it was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub source: ObservedPeer,
    pub destination: ObservedTarget,
    /// The Service port (or container port) when the traffic says.
    pub port: Option<u16>,
    /// HTTP, gRPC or TCP as the proxy saw it, when the traffic says.
    pub protocol: Option<Protocol>,
    pub reporter: Reporter,
    pub counts: CallCounts,
    /// The first line (or sample) that showed it.
    pub origin: Origin,
    pub format: TrafficFormat,
    /// What that line said, short and without credentials, e.g.
    /// `istio_requests_total{source_workload="productpage-v1",destination_service="reviews..."}`.
    pub detail: String,
}

/// One traffic file (or standard input) that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSource {
    pub name: String,
    pub format: TrafficFormat,
    /// Lines (or samples) read, and how many of them were about calls.
    pub lines: u64,
    pub calls: u64,
    pub bytes: u64,
}

/// Everything `--traffic` read, observations sorted and merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traffic {
    pub observations: Vec<Observation>,
    pub sources: Vec<TrafficSource>,
}

impl Traffic {
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty()
    }
}
