//! The inferred service graph: who calls whom, over which protocol, on what evidence,
//! in which role, with which timeouts today.

use super::{Note, Origin, QualifiedName, ServiceType, WorkloadKind};
use serde::Serialize;

/// What a port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Http2,
    Grpc,
    Tcp,
    Tls,
    Udp,
    Unknown,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Http2 => "http2",
            Self::Grpc => "grpc",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Udp => "udp",
            Self::Unknown => "unknown",
        }
    }

    /// Istio applies HTTP routing (timeouts, retries) to these.
    pub fn is_http_family(self) -> bool {
        matches!(self, Self::Http | Self::Http2 | Self::Grpc)
    }
}

/// The part a service plays, which decides its timeouts, retries and rollout phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Gateway,
    WebhookReceiver,
    Aggregator,
    ExternalIntegration,
    SyncApi,
    Worker,
    Datastore,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Gateway,
        Role::WebhookReceiver,
        Role::Aggregator,
        Role::ExternalIntegration,
        Role::SyncApi,
        Role::Worker,
        Role::Datastore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::WebhookReceiver => "webhook-receiver",
            Self::Aggregator => "aggregator",
            Self::ExternalIntegration => "external-integration",
            Self::SyncApi => "sync-api",
            Self::Worker => "worker",
            Self::Datastore => "datastore",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A synchronous timeout at or above this many seconds is too long: a slow callee holds its
/// callers that long. `map`'s audit and `check` use the same bound.
pub const TOO_LONG_TIMEOUT_SECONDS: f64 = 30.0;

/// How the timeouts hard-coded today look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutAudit {
    None,
    TooLong,
    Reasonable,
}

impl TimeoutAudit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::TooLong => "too_long",
            Self::Reasonable => "reasonable",
        }
    }
}

/// How sure meshsmith is that a call happens. Ordered: the strongest evidence wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Read from config that is not tied to the caller alone (a shared ConfigMap, a
    /// ConfigMap looked up by name).
    Low,
    /// Read from the caller's own configuration, or declared in the policy file.
    High,
    /// Seen in the running system's traffic.
    Observed,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::High => "high",
            Self::Observed => "observed",
        }
    }
}

/// The kind of hint an edge was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintKind {
    /// An environment variable written in the pod spec.
    Env,
    /// A `*_HOST` variable paired with its `*_PORT`.
    EnvHostPort,
    /// A variable loaded from a ConfigMap by `envFrom`.
    EnvFromConfigMap,
    /// A variable taken from one ConfigMap key by `valueFrom`.
    ConfigMapKeyRef,
    /// A config file in a ConfigMap mounted as a volume.
    MountedConfigFile,
    /// Container `args` or `command`.
    Args,
    /// An init container waiting for the callee.
    InitWait,
    /// The `meshsmith.dev/calls` annotation.
    Annotation,
    /// Istio configuration already present.
    IstioConfig,
    /// Observed in traffic (`--traffic`): metrics, access logs, Kiali's graph.
    Traffic,
    /// Declared in the policy file (`services.<name>.callers`).
    PolicyFile,
}

impl HintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::EnvHostPort => "env-host-port",
            Self::EnvFromConfigMap => "env-from-config-map",
            Self::ConfigMapKeyRef => "config-map-key-ref",
            Self::MountedConfigFile => "mounted-config-file",
            Self::Args => "args",
            Self::InitWait => "init-wait",
            Self::Annotation => "annotation",
            Self::IstioConfig => "istio-config",
            Self::Traffic => "traffic",
            Self::PolicyFile => "policy-file",
        }
    }
}

/// One piece of evidence: where, what kind, and the text that said so.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Evidence {
    pub origin: Origin,
    pub kind: HintKind,
    /// E.g. `env PAYMENT_URL=http://payment-service.shop:8080`.
    pub detail: String,
}

/// One port of a service, with what Istio will do and what the evidence says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub port: u16,
    pub name: Option<String>,
    pub target_port: Option<u16>,
    /// From `appProtocol` or the port-name prefix; `Unknown` means Istio will sniff.
    pub declared: Protocol,
    /// What the evidence says the port speaks.
    pub believed: Protocol,
    /// Why `believed` is what it is.
    pub reason: String,
    /// Why Istio will do what `declared` says (`port name \`tcp-api\``, `unnamed port; Istio
    /// will sniff it`).
    pub declared_reason: String,
    /// The server talks first (MySQL, SMTP, NATS): Istio's sniffing stalls its connections.
    pub server_first: bool,
    /// The catalogue names this port its server's main one (the one callers use when
    /// nothing else shows which).
    pub main: bool,
    /// The `appProtocol` the manifest writes, if any.
    pub app_protocol: Option<String>,
}

/// A workload that belongs to a service node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadRef {
    pub name: String,
    pub kind: WorkloadKind,
    pub service_account: String,
    /// The pod template's `sidecar.istio.io/inject` annotation, if written.
    pub sidecar_annotation: Option<bool>,
    /// Its pods use their node's network (`hostNetwork: true`): Istio never injects them.
    pub host_network: bool,
    pub pod_labels: super::StringMap,
    /// Labels that select this workload's pods and only them, for policy selectors: the
    /// workload's own `matchLabels` where it has them (stable across releases), else its pod
    /// labels without the ones that change per release.
    pub selector: super::StringMap,
    pub origin: Origin,
}

/// How traffic from outside the cluster reaches a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Routed by an Istio Gateway (a VirtualService bound to a gateway names it).
    pub ingress_gateway: Vec<Origin>,
    /// A Kubernetes Ingress names it.
    pub ingress: Vec<Origin>,
    /// Its own LoadBalancer or NodePort Service.
    pub direct: Option<(ServiceType, Origin)>,
}

impl Exposure {
    pub fn is_exposed(&self) -> bool {
        !self.ingress_gateway.is_empty() || !self.ingress.is_empty() || self.direct.is_some()
    }
}

/// A timeout or retry count found in a workload's configuration today.
#[derive(Debug, Clone, PartialEq)]
pub struct ResilienceSetting {
    pub key: String,
    pub raw: String,
    /// Seconds for a timeout, attempts for a retry setting.
    pub value: f64,
    pub is_timeout: bool,
    pub origin: Origin,
}

/// How completely the evidence shows who calls a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Completeness {
    /// Nothing suggests a caller the graph does not show.
    Known,
    /// Some callers are shown, but something suggests there are more.
    Partial,
    /// Nothing shows who calls it.
    Unknown,
}

impl Completeness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Known => "known",
            Self::Partial => "partial",
            Self::Unknown => "unknown",
        }
    }
}

/// One reason a service's callers are not known, with the check code that reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletenessReason {
    /// `MS208`...
    pub code: &'static str,
    pub message: String,
    /// Where the signal was read, when it was read from one place.
    pub origin: Option<Origin>,
}

/// How completely a service's callers are known, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerKnowledge {
    pub level: Completeness,
    /// Empty when `Known`.
    pub reasons: Vec<CompletenessReason>,
    /// Why it is known: "every caller has high-confidence evidence", "confirmed in the policy
    /// file", "only reached from outside", "callers observed in traffic".
    pub basis: String,
}

impl CallerKnowledge {
    pub fn known(basis: &str) -> Self {
        CallerKnowledge {
            level: Completeness::Known,
            reasons: Vec::new(),
            basis: basis.to_string(),
        }
    }

    pub fn is_known(&self) -> bool {
        self.level == Completeness::Known
    }

    /// The reasons in one line, for summaries and policy annotations.
    pub fn summary(&self) -> String {
        if self.reasons.is_empty() {
            return self.basis.clone();
        }
        self.reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Callers the policy file confirms for a service (`services.<key>.callers`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredCallers {
    /// The policy key: `name` (any namespace) or `name.namespace`.
    pub service: String,
    /// Callers as written: `name` (the service's own namespace first) or `name.namespace`.
    pub callers: Vec<String>,
    pub reason: String,
    pub origin: Origin,
}

/// Why a workload may call services the graph does not show.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HiddenCalls {
    /// The workload whose outbound calls are not all visible.
    pub workload: String,
    /// `registry client`, `configuration inside the image`, `proxy with no visible upstream`.
    pub why: String,
    /// The setting, image or exposure that says so.
    pub signal: String,
    pub origin: Origin,
}

/// A node of the graph: a Service and the workloads it selects, or a workload no
/// Service selects (a pure caller).
#[derive(Debug, Clone)]
pub struct MeshService {
    pub id: QualifiedName,
    /// The Kubernetes Service behind this node, if any.
    pub service: Option<String>,
    /// Other Services selecting the same workloads (a second name, a headless twin): each is
    /// a host of its own that callers may use.
    pub aliases: Vec<ServiceAlias>,
    pub external_name: Option<String>,
    pub workloads: Vec<WorkloadRef>,
    pub ports: Vec<PortInfo>,
    /// What the service speaks: its main port's believed protocol (the port its callers use),
    /// or for a workload with no Service, what it speaks to its callees.
    pub protocol: Protocol,
    /// Why `protocol`: which port, and the evidence.
    pub protocol_reason: String,
    /// What Istio will do with the same port.
    pub declared_protocol: Protocol,
    pub declared_reason: String,
    pub role: Role,
    /// Why the role: the evidence or the override that decided it.
    pub role_reason: String,
    pub exposure: Exposure,
    pub settings: Vec<ResilienceSetting>,
    pub timeout_audit: TimeoutAudit,
    pub origin: Origin,
    /// How completely its callers are known.
    pub callers: CallerKnowledge,
    /// Why its own outbound calls may not all be visible, if they may not.
    pub hidden_calls: Vec<HiddenCalls>,
}

impl MeshService {
    /// Longest timeout configured today, in seconds.
    pub fn longest_timeout(&self) -> Option<f64> {
        self.settings
            .iter()
            .filter(|s| s.is_timeout)
            .map(|s| s.value)
            .fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
    }

    /// The port callers use when they name none: the first port.
    pub fn primary_port(&self) -> Option<&PortInfo> {
        self.ports.first()
    }

    pub fn port(&self, number: u16) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.port == number)
    }
}

/// Another Service selecting a node's workloads: callers that use its name reach the same
/// pods through a host of its own, which needs its own route and circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAlias {
    pub name: String,
    /// `clusterIP: None`: a caller reaches the pod it resolved, not a load-balanced one.
    pub headless: bool,
    /// Its own ports, which need not be the node's.
    pub ports: Vec<PortInfo>,
    pub origin: Origin,
}

impl ServiceAlias {
    pub fn port(&self, number: u16) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.port == number)
    }
}

/// A call from one node to another.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: QualifiedName,
    pub to: QualifiedName,
    /// The callee Service port (its own Service's; a call through an alias is mapped to the
    /// node's port with the same target, else to the target port itself).
    pub port: Option<u16>,
    /// The callee's Service names the caller addressed it by (its own and any alias), sorted;
    /// empty when the evidence names the node rather than a host (traffic, Istio config,
    /// the policy file).
    pub via: Vec<String>,
    pub protocol: Protocol,
    pub confidence: Confidence,
    pub evidence: Vec<Evidence>,
    /// What traffic showed of this call, when `--traffic` showed it.
    pub observed: Option<super::CallCounts>,
}

/// A name that looks like an in-cluster host but matches no Service.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub from: QualifiedName,
    pub host: String,
    pub port: Option<u16>,
    pub evidence: Vec<Evidence>,
}

/// A host outside the cluster that a node calls.
#[derive(Debug, Clone)]
pub struct ExternalCall {
    pub from: QualifiedName,
    pub host: String,
    pub port: Option<u16>,
    /// `https`, `http`, `tcp`... as far as the evidence tells.
    pub protocol: Protocol,
    pub tls: bool,
    /// Set when the host is a cloud metadata endpoint or a link-local address: the mesh
    /// opens no way to it unless the policy file allows it with a reason.
    pub restricted: Option<RestrictedHost>,
    pub evidence: Vec<Evidence>,
}

/// Why an external host is not an ordinary dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "what")]
pub enum RestrictedHost {
    /// A cloud's instance metadata or platform endpoint, which hands out the node's (or the
    /// workload's) cloud credentials; the text names which.
    CloudMetadata(&'static str),
    /// A link-local address (169.254.0.0/16, fe80::/10): the node's own network segment.
    LinkLocal,
}

impl RestrictedHost {
    /// `Google Cloud's metadata server`, `a link-local address`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CloudMetadata(what) => what,
            Self::LinkLocal => "a link-local address",
        }
    }
}

/// The graph and everything `map` reports about it. All lists are sorted.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub services: Vec<MeshService>,
    pub edges: Vec<Edge>,
    pub unresolved: Vec<Unresolved>,
    pub external: Vec<ExternalCall>,
    pub notes: Vec<Note>,
    /// What `--traffic` showed beyond the edges; `None` when no traffic was given.
    pub traffic: Option<TrafficReport>,
    /// Services the manifests' own VirtualServices already route inside the mesh.
    pub mesh_routes: Vec<MeshRoute>,
    /// The manifests' own Istio objects, with the workloads and hosts each governs, so that
    /// generated configuration never replaces one or conflicts with it.
    pub own_config: Vec<OwnObject>,
}

/// An Istio object of the manifests: what it is, and what it governs that a generated object
/// of the same kind would too. Istio does not merge two PeerAuthentications (or Sidecars)
/// selecting one workload, nor two DestinationRules for one host: one of them silently
/// loses, so the team's object stays the truth for what it governs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnObject {
    /// Its kind as written, e.g. `PeerAuthentication`.
    pub kind: String,
    /// The object, as `namespace/name`.
    pub object: QualifiedName,
    /// The workloads its `selector` / `workloadSelector` picks (namespace, workload name);
    /// empty for a kind without one or an object without a selector.
    pub workloads: Vec<QualifiedName>,
    /// The in-cluster hosts (FQDN) a DestinationRule is for.
    pub hosts: Vec<String>,
    /// A PeerAuthentication's mode, as written (`UNSET` when it names none).
    pub mtls_mode: Option<String>,
    pub origin: Origin,
}

/// A VirtualService of the manifests that routes a Service's host for sidecars (the `mesh`
/// gateway): a second one for the same host would conflict with it (Istio's IST0109), and
/// one of the same name would replace it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MeshRoute {
    /// The Service whose host it routes.
    pub service: QualifiedName,
    /// The VirtualService, as `namespace/name`.
    pub virtual_service: QualifiedName,
    /// It routes this one host to its Service and does nothing else (no match, weight,
    /// subset, timeout or retry): a VirtualService of meshsmith's in its place loses nothing.
    pub pass_through: bool,
    /// The VirtualService as the manifests hold it (YAML), kept where it passes traffic
    /// through: meshsmith's replaces it, and a rollback applies it again.
    pub original: Option<String>,
    pub origin: Origin,
}

/// A name in the traffic that matches nothing in the manifests: reported, never a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnmatchedName {
    /// `source` or `destination`.
    pub side: &'static str,
    pub name: String,
    /// Why it matched nothing: "no workload of that name", "shared by 3 workloads"...
    pub why: String,
    pub requests: u64,
    pub origin: Origin,
}

/// Requests into a service from outside the mesh (no identity, `unknown` source).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutsideCallers {
    pub service: QualifiedName,
    pub requests: u64,
    pub origin: Origin,
}

/// A call the manifests suggest that the traffic never showed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnseenCall {
    pub from: QualifiedName,
    pub to: QualifiedName,
    pub confidence: Confidence,
    /// Left out of the graph (and so of enforced policies): low-confidence and unseen.
    pub dropped: bool,
    pub evidence: Option<Evidence>,
}

/// Requests a dry-run AuthorizationPolicy would have denied, per service and caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShadowDenial {
    pub service: QualifiedName,
    /// The caller as the traffic names it (a workload, a principal), if it does.
    pub caller: Option<String>,
    pub requests: u64,
    pub origin: Origin,
}

/// What the traffic showed beyond edges: names that match nothing, callers from outside,
/// suggested calls it never showed, dry-run denials, and which nodes it covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficReport {
    /// Files read, formats, lines and calls.
    pub sources: Vec<super::TrafficSource>,
    pub unmatched: Vec<UnmatchedName>,
    pub outside: Vec<OutsideCallers>,
    pub unseen: Vec<UnseenCall>,
    pub shadow_denied: Vec<ShadowDenial>,
    /// Nodes the traffic showed being called, and nodes it showed calling out.
    pub called: Vec<QualifiedName>,
    pub calling: Vec<QualifiedName>,
}

/// Edges by callee and by caller, built once so that walking a large graph service by
/// service does not scan every edge for each.
pub struct EdgeIndex<'a> {
    callers: std::collections::HashMap<&'a QualifiedName, Vec<&'a Edge>>,
    callees: std::collections::HashMap<&'a QualifiedName, Vec<&'a Edge>>,
}

impl<'a> EdgeIndex<'a> {
    /// Edges into `id`, in the graph's order.
    pub fn callers(&self, id: &QualifiedName) -> &[&'a Edge] {
        self.callers.get(id).map_or(&[], Vec::as_slice)
    }

    /// Edges out of `id`, in the graph's order.
    pub fn callees(&self, id: &QualifiedName) -> &[&'a Edge] {
        self.callees.get(id).map_or(&[], Vec::as_slice)
    }
}

impl Topology {
    pub fn edge_index(&self) -> EdgeIndex<'_> {
        let mut index = EdgeIndex {
            callers: Default::default(),
            callees: Default::default(),
        };
        for e in &self.edges {
            index.callers.entry(&e.to).or_default().push(e);
            index.callees.entry(&e.from).or_default().push(e);
        }
        index
    }

    pub fn service(&self, id: &QualifiedName) -> Option<&MeshService> {
        self.services
            .binary_search_by(|s| s.id.cmp(id))
            .ok()
            .map(|i| &self.services[i])
    }

    /// Finds a node by bare name, or `name.namespace`.
    pub fn find(&self, name: &str) -> Option<&MeshService> {
        match name.split_once('.') {
            Some((n, ns)) => self.service(&QualifiedName::new(ns, n)),
            None => self.services.iter().find(|s| s.id.name == name),
        }
    }

    pub fn callers<'a>(&'a self, id: &'a QualifiedName) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |e| &e.to == id)
    }

    pub fn callees<'a>(&'a self, id: &'a QualifiedName) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |e| &e.from == id)
    }
}
