//! Generated mesh configuration: typed Istio resources (fields named as in the CRDs) and,
//! for every value meshsmith chose, the reason it chose it.
//!
//! ```text
//!  Topology + Policy ──generate──▶ MeshConfig { resources: [Resource { kind, spec, reasons }] }
//! ```
//!
//! Only the fields meshsmith writes are modelled; empty ones are left out of the output.

use super::{Origin, QualifiedName, ServicePatchSpec, StringMap, WorkloadPatchSpec};
use serde::Serialize;

/// Istio's annotation that logs what an AuthorizationPolicy would deny instead of denying it.
pub const DRY_RUN_ANNOTATION: &str = "istio.io/dry-run";
/// Why meshsmith left a policy in dry-run: its callers are not known.
pub const DRY_RUN_REASON_ANNOTATION: &str = "meshsmith.dev/dry-run-reason";

/// At most this many requests may one request become anywhere along a call chain through
/// retries (the product of 1 + attempts over the chain). `generate` keeps to it and `check`
/// reports chains above it.
pub const RETRY_AMPLIFICATION_LIMIT: u32 = 10;

/// Annotation on a PeerAuthentication that says why it is not STRICT: the generator writes
/// it, `check` lists every exception with it and flags an exception without one.
pub const MTLS_REASON_ANNOTATION: &str = "meshsmith.dev/mtls-reason";

/// Annotation on a generated ServiceAccount naming the workload it is for
/// (`Deployment/orders`): once the workload's patch is applied its pods run as that account,
/// and `check` reads the workload's identity from it.
pub const ACCOUNT_FOR_ANNOTATION: &str = "meshsmith.dev/workload";

/// The Istio kinds meshsmith writes, the ServiceAccounts that give workloads identities of
/// their own, and the merge patches of objects the team owns (a Namespace's injection label,
/// a pod template's account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    VirtualService,
    DestinationRule,
    PeerAuthentication,
    AuthorizationPolicy,
    Sidecar,
    ServiceEntry,
    /// A merge patch adding injection labels to an existing Namespace.
    NamespacePatch,
    /// A ServiceAccount of one workload's own, where it shared one with workloads that do
    /// not call what it calls.
    ServiceAccount,
    /// A merge patch of a workload's pod template: the account its pods run as.
    WorkloadPatch,
    /// A patch of a Service's ports: the `appProtocol` that declares what each speaks.
    ServicePatch,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::VirtualService,
        Kind::DestinationRule,
        Kind::PeerAuthentication,
        Kind::AuthorizationPolicy,
        Kind::Sidecar,
        Kind::ServiceEntry,
        Kind::NamespacePatch,
        Kind::ServiceAccount,
        Kind::WorkloadPatch,
        Kind::ServicePatch,
    ];

    /// A merge patch of an object the team owns, not an object to apply: it is written
    /// next to the configuration, listed in no kustomization and applied with
    /// `kubectl patch`.
    pub fn is_patch(self) -> bool {
        matches!(
            self,
            Self::NamespacePatch | Self::WorkloadPatch | Self::ServicePatch
        )
    }

    /// An Istio resource (validated against Istio's CRDs), not a Kubernetes core object.
    pub fn is_istio(self) -> bool {
        !matches!(
            self,
            Self::NamespacePatch | Self::ServiceAccount | Self::WorkloadPatch | Self::ServicePatch
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VirtualService => "VirtualService",
            Self::DestinationRule => "DestinationRule",
            Self::PeerAuthentication => "PeerAuthentication",
            Self::AuthorizationPolicy => "AuthorizationPolicy",
            Self::Sidecar => "Sidecar",
            Self::ServiceEntry => "ServiceEntry",
            Self::NamespacePatch => "Namespace",
            Self::ServiceAccount => "ServiceAccount",
            Self::WorkloadPatch => "Workload",
            Self::ServicePatch => "Service",
        }
    }

    /// The file the resource is written to (a workload patch: one file per workload, named
    /// after it, see [`WorkloadPatchSpec::file_name`]).
    pub fn file_name(self) -> &'static str {
        match self {
            Self::VirtualService => "virtual-service.yaml",
            Self::DestinationRule => "destination-rule.yaml",
            Self::PeerAuthentication => "peer-authentication.yaml",
            Self::AuthorizationPolicy => "authorization-policy.yaml",
            Self::Sidecar => "sidecar.yaml",
            Self::ServiceEntry => "service-entry.yaml",
            Self::NamespacePatch => "namespace-patch.yaml",
            Self::ServiceAccount => "service-account.yaml",
            Self::WorkloadPatch => "workload-patch.yaml",
            Self::ServicePatch => "service-patch.yaml",
        }
    }

    /// The API group; the version comes from [`ApiVersion`].
    pub fn group(self) -> &'static str {
        match self {
            Self::PeerAuthentication | Self::AuthorizationPolicy => "security.istio.io",
            Self::NamespacePatch
            | Self::ServiceAccount
            | Self::WorkloadPatch
            | Self::ServicePatch => "",
            _ => "networking.istio.io",
        }
    }
}

/// `v1` (the default) or `v1beta1` for the Istio groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    #[default]
    V1,
    V1beta1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1beta1 => "v1beta1",
        }
    }

    pub fn parse(text: &str) -> Option<ApiVersion> {
        match text {
            "v1" => Some(Self::V1),
            "v1beta1" => Some(Self::V1beta1),
            _ => None,
        }
    }
}

/// Why one field has its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reason {
    /// Path in the resource, e.g. `spec.http[0].timeout`.
    pub field: String,
    pub value: String,
    pub why: String,
}

impl Reason {
    pub fn new(field: impl Into<String>, value: impl ToString, why: impl Into<String>) -> Self {
        Reason {
            field: field.into(),
            value: value.to_string(),
            why: why.into(),
        }
    }
}

/// One generated object.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub kind: Kind,
    /// Full `apiVersion`, e.g. `networking.istio.io/v1`.
    pub api_version: String,
    pub name: String,
    pub namespace: String,
    /// The service (graph node) whose folder it goes to.
    pub owner: QualifiedName,
    pub labels: StringMap,
    pub annotations: StringMap,
    pub spec: Spec,
    pub reasons: Vec<Reason>,
}

/// The body of a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Spec {
    VirtualService(VirtualServiceSpec),
    DestinationRule(DestinationRuleSpec),
    PeerAuthentication(PeerAuthenticationSpec),
    AuthorizationPolicy(AuthorizationPolicySpec),
    Sidecar(SidecarSpec),
    ServiceEntry(ServiceEntrySpec),
    /// Labels to merge into a Namespace's `metadata.labels`.
    NamespacePatch(StringMap),
    /// A ServiceAccount has no spec.
    ServiceAccount,
    /// The account a workload's pod template is patched to run as.
    WorkloadPatch(WorkloadPatchSpec),
    /// What a Service's ports are patched to declare.
    ServicePatch(ServicePatchSpec),
}

/// What `generate` returns: resources sorted by (owner, kind, name) and notes about what
/// it skipped and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshConfig {
    /// Each resource on its own, so a large configuration can be let go one file at a time
    /// as it is written, and sorting moves pointers rather than whole resources.
    #[allow(clippy::vec_box)]
    pub resources: Vec<Box<Resource>>,
    pub notes: Vec<String>,
    /// Objects of the manifests left in place of one meshsmith would have generated, sorted.
    pub kept: Vec<KeptObject>,
    /// Objects of the manifests a generated one replaces under their name, sorted: a
    /// rollback of the step that applies the replacement applies these again.
    pub replaced: Vec<ReplacedObject>,
}

/// An object of the manifests that governs what a generated object would have: meshsmith
/// writes none in its place (Istio would not merge the two), and says what it would have set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeptObject {
    /// The service the generated object was for.
    pub service: QualifiedName,
    /// The kind of both objects.
    pub kind: Kind,
    /// The manifests' object, as `namespace/name`.
    pub object: QualifiedName,
    pub origin: Origin,
    /// The object meshsmith would have generated, as `namespace/name`.
    pub instead_of: QualifiedName,
    /// What that object would have set, e.g. `mtls.mode STRICT`.
    pub would_set: String,
    /// Why the two cannot both apply.
    pub why: String,
}

/// An object of the manifests that a generated one of the same kind, namespace and name
/// replaces on purpose (a VirtualService that only passes traffic through).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReplacedObject {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// The object as the manifests hold it, as JSON text.
    pub original: String,
    pub origin: Origin,
}

impl MeshConfig {
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .map(|r| &**r)
            .filter(move |r| r.kind == kind)
    }

    pub fn find(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.kind == kind && r.namespace == namespace && r.name == name)
            .map(|r| &**r)
    }
}

/// `selector` of the security kinds (`matchLabels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkloadSelector {
    #[serde(rename = "matchLabels")]
    pub match_labels: StringMap,
}

// ---- networking.istio.io: VirtualService ----

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export_to: Vec<String>,
    pub http: Vec<HttpRoute>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpMatch>,
    pub route: Vec<RouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpMatch {
    pub port: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteDestination {
    pub destination: Destination,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Destination {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PortSelector {
    pub number: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRetry {
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
}

// ---- networking.istio.io: DestinationRule ----

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    pub host: String,
    pub traffic_policy: TrafficPolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    pub connection_pool: ConnectionPoolSettings,
    pub outlier_detection: OutlierDetectionSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_budget: Option<RetryBudgetSettings>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionPoolSettings {
    pub tcp: TcpSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSettings>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpSettings {
    pub max_connections: u32,
    pub connect_timeout: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpSettings {
    pub http1_max_pending_requests: u32,
    pub http2_max_requests: u32,
    pub max_retries: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetectionSettings {
    #[serde(rename = "consecutive5xxErrors")]
    pub consecutive_5xx_errors: u32,
    pub interval: String,
    pub base_ejection_time: String,
    pub max_ejection_percent: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryBudgetSettings {
    pub percent: f64,
    pub min_retry_concurrency: u32,
}

// ---- security.istio.io: PeerAuthentication, AuthorizationPolicy ----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerAuthenticationSpec {
    pub selector: WorkloadSelector,
    pub mtls: MutualTls,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MutualTls {
    pub mode: String,
}

/// `rules` empty = allow nothing for the selected workload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthorizationPolicySpec {
    pub selector: WorkloadSelector,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<AuthorizationRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthorizationRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<RuleFrom>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<RuleTo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleFrom {
    pub source: Source,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_principals: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleTo {
    pub operation: Operation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Operation {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
}

// ---- networking.istio.io: Sidecar, ServiceEntry ----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    pub workload_selector: SidecarSelector,
    pub egress: Vec<EgressListener>,
}

/// Sidecar's `workloadSelector`, which names its map `labels`, unlike the security kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SidecarSelector {
    pub labels: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EgressListener {
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntrySpec {
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export_to: Vec<String>,
    pub location: String,
    pub resolution: String,
    pub ports: Vec<ServiceEntryPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceEntryPort {
    pub number: u16,
    pub protocol: String,
    pub name: String,
}
