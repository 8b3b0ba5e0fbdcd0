//! The typed view of the objects that matter for a mesh: workloads, Services, accounts,
//! namespaces, config and the Istio resources already present.

use super::{Node, Origin, SourceId, StringMap, Text};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Pod,
    Job,
    CronJob,
}

impl WorkloadKind {
    pub fn from_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "Deployment" => Self::Deployment,
            "StatefulSet" => Self::StatefulSet,
            "DaemonSet" => Self::DaemonSet,
            "ReplicaSet" => Self::ReplicaSet,
            "Pod" => Self::Pod,
            "Job" => Self::Job,
            "CronJob" => Self::CronJob,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::Pod => "Pod",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }

    /// Runs to completion rather than serving.
    pub fn is_batch(self) -> bool {
        matches!(self, Self::Job | Self::CronJob)
    }
}

/// A text value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Located {
    pub text: String,
    pub origin: Origin,
}

/// Where an environment variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    /// `value:` written in the pod spec.
    Literal(String),
    /// `valueFrom.configMapKeyRef`.
    ConfigMapKey { config_map: String, key: String },
    /// `valueFrom.secretKeyRef`: the value is never read.
    SecretKey { secret: String, key: String },
    /// `valueFrom.fieldRef` / `resourceFieldRef`: filled in by the kubelet.
    Field(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub source: EnvSource,
    pub origin: Origin,
}

/// `envFrom` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFrom {
    pub config_map: Option<String>,
    pub secret: Option<String>,
    pub prefix: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
}

/// A health probe, kept for protocol evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Grpc { port: u16 },
    Http { port: PortRef },
    Tcp { port: PortRef },
    Exec,
}

/// A port given by number or by container port name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    pub volume: String,
    pub mount_path: String,
}

#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub init: bool,
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFrom>,
    pub command: Vec<Located>,
    pub args: Vec<Located>,
    pub ports: Vec<ContainerPort>,
    pub probes: Vec<Probe>,
    pub mounts: Vec<VolumeMount>,
    pub origin: Origin,
}

/// A pod volume backed by a ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMapVolume {
    pub volume: String,
    pub config_map: String,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub name: String,
    pub namespace: String,
    pub labels: StringMap,
    pub annotations: StringMap,
    /// Labels of the pods it runs (the pod template's, or the Pod's own).
    pub pod_labels: StringMap,
    /// `spec.selector.matchLabels`: the labels that pick exactly this workload's pods, which
    /// Kubernetes keeps immutable; empty for Pods, Jobs and CronJobs.
    pub selector: StringMap,
    pub pod_annotations: StringMap,
    pub service_account: String,
    /// True when `serviceAccountName` was written; otherwise the account is `default`.
    pub service_account_explicit: bool,
    /// `hostNetwork: true`: its pods use their node's network, and Istio injects no sidecar
    /// into them whatever they or their namespace ask.
    pub host_network: bool,
    pub containers: Vec<Container>,
    pub config_map_volumes: Vec<ConfigMapVolume>,
    pub replicas: Option<i64>,
    pub origin: Origin,
}

impl Workload {
    pub fn id(&self) -> QualifiedName {
        QualifiedName {
            namespace: self.namespace.clone().into(),
            name: self.name.clone().into(),
        }
    }
}

/// Namespace-qualified name of a workload, Service or account.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct QualifiedName {
    /// Kept inline up to 24 bytes, as nearly every namespace and name is: a large
    /// organisation's plan holds hundreds of thousands of them.
    pub namespace: super::Text,
    pub name: super::Text,
}

impl QualifiedName {
    pub fn new(namespace: &str, name: &str) -> Self {
        QualifiedName {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceType {
    ClusterIp,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIp => "ClusterIP",
            Self::NodePort => "NodePort",
            Self::LoadBalancer => "LoadBalancer",
            Self::ExternalName => "ExternalName",
        }
    }

    /// Reachable from outside the cluster without an ingress gateway.
    pub fn is_exposed(self) -> bool {
        matches!(self, Self::NodePort | Self::LoadBalancer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub target_port: Option<PortRef>,
    pub app_protocol: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub transport: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub service_type: ServiceType,
    pub headless: bool,
    pub selector: StringMap,
    pub ports: Vec<ServicePort>,
    pub external_name: Option<String>,
    pub labels: StringMap,
    pub annotations: StringMap,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub name: String,
    pub namespace: String,
    /// Read for [`ACCOUNT_FOR_ANNOTATION`](super::ACCOUNT_FOR_ANNOTATION): a generated
    /// account names the workload that will run as it.
    pub annotations: StringMap,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub labels: StringMap,
    pub origin: Origin,
}

/// A ConfigMap entry: its value and the line where the value starts.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
    /// For a multi-line value, the line of its first line of text.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ConfigMap {
    pub name: String,
    pub namespace: String,
    pub data: Vec<ConfigEntry>,
    pub origin: Origin,
}

impl ConfigMap {
    pub fn entry(&self, key: &str) -> Option<&ConfigEntry> {
        self.data.iter().find(|e| e.key == key)
    }
}

/// Secrets are kept by name and keys only; values are never read.
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub namespace: String,
    pub keys: Vec<String>,
    pub origin: Origin,
}

/// One backend of an Ingress rule.
#[derive(Debug, Clone)]
pub struct IngressBackend {
    pub service: String,
    pub port: Option<PortRef>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Ingress {
    pub name: String,
    pub namespace: String,
    pub class: Option<String>,
    pub backends: Vec<IngressBackend>,
    pub origin: Origin,
}

/// An Istio resource: what identifies it, its labels and annotations, and its `spec` as read
/// (every value with its line). The rest of the document (`status`, other metadata) is not
/// kept: nothing Istio does depends on it.
#[derive(Debug, Clone)]
pub struct IstioResource {
    pub kind: Text,
    pub api_version: Text,
    pub name: Text,
    pub namespace: Text,
    pub labels: StringMap,
    pub annotations: StringMap,
    /// A null node when the object has no `spec`.
    pub spec: Node,
    /// What the cluster wrote back (e.g. the addresses Istio allocated a ServiceEntry); none
    /// when the object has no `status`, as manifests usually do not (see [`Self::status`]).
    pub status: Option<Box<Node>>,
    /// Where it was written: the file, its source id and the line of the object's first key.
    pub file: Arc<str>,
    pub source: SourceId,
    pub line: u32,
}

impl IstioResource {
    /// The API group, e.g. `networking.istio.io`.
    pub fn group(&self) -> &str {
        super::object::api_group(&self.api_version)
    }

    /// The object's `spec` (a null node when it has none).
    pub fn spec(&self) -> &Node {
        &self.spec
    }

    /// The object's `status` (a null node when it has none).
    pub fn status(&self) -> &Node {
        self.status.as_deref().unwrap_or(Node::null())
    }

    pub fn origin(&self) -> Origin {
        Origin::new(&self.file, self.line)
    }

    /// Where `node` (a value inside the resource) was written.
    pub fn origin_at(&self, node: &Node) -> Origin {
        Origin::of_value(&self.file, self.line, node)
    }

    /// The object as schema validation sees it: apiVersion, kind, the metadata meshsmith
    /// keeps (name, namespace, labels, annotations) and spec, as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), self.name.as_str().into());
        metadata.insert("namespace".into(), self.namespace.as_str().into());
        for (key, map) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            if !map.is_empty() {
                metadata.insert(key.into(), serde_json::json!(map));
            }
        }
        let mut object = serde_json::Map::new();
        object.insert("apiVersion".into(), self.api_version.as_str().into());
        object.insert("kind".into(), self.kind.as_str().into());
        object.insert("metadata".into(), metadata.into());
        if !self.spec.is_null() || self.spec.line > 0 {
            object.insert("spec".into(), self.spec.to_json());
        }
        object.into()
    }
}

/// How the note on anything left out of the input begins.
pub const SKIPPED: &str = "skipped: ";

/// Something the inventory noticed that is not an error: skipped kinds, duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub origin: Origin,
    pub message: String,
    pub level: NoteLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteLevel {
    Info,
    Warning,
}

/// Everything read, typed and sorted by (namespace, name).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub workloads: Vec<Workload>,
    pub services: Vec<Service>,
    pub service_accounts: Vec<ServiceAccount>,
    pub namespaces: Vec<Namespace>,
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub ingresses: Vec<Ingress>,
    pub istio: Vec<Box<IstioResource>>,
    pub notes: Vec<Note>,
    /// Istio resources defined more than once with different content: the definition that
    /// lost, with the place of the one kept.
    pub duplicates: Vec<DuplicateObject>,
}

/// An Istio resource of the same kind, namespace and name as another of the input, not the
/// same object: applying both, the later silently replaces the earlier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DuplicateObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The definition that was replaced.
    pub origin: Origin,
    /// The definition kept (the later one read).
    pub kept: Origin,
    /// Either is labelled `app.kubernetes.io/managed-by: meshsmith`.
    pub generated: bool,
    /// The one of the two that is not generated only passes its one host's HTTP traffic
    /// through (one route, one destination): the VirtualService meshsmith replaces on purpose.
    pub pass_through: bool,
}

impl Inventory {
    pub fn config_map(&self, namespace: &str, name: &str) -> Option<&ConfigMap> {
        self.config_maps
            .binary_search_by(|c| (c.namespace.as_str(), c.name.as_str()).cmp(&(namespace, name)))
            .ok()
            .map(|i| &self.config_maps[i])
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .binary_search_by(|s| (s.namespace.as_str(), s.name.as_str()).cmp(&(namespace, name)))
            .ok()
            .map(|i| &self.services[i])
    }

    /// The Services of one namespace (the list is sorted by namespace, then name).
    pub fn services_in(&self, namespace: &str) -> &[Service] {
        let start = self
            .services
            .partition_point(|s| s.namespace.as_str() < namespace);
        let len = self.services[start..].partition_point(|s| s.namespace == namespace);
        &self.services[start..start + len]
    }

    /// Each namespace's labels, as generation reads them (injection labels).
    pub fn namespace_labels(&self) -> std::collections::BTreeMap<String, StringMap> {
        self.namespaces
            .iter()
            .map(|n| (n.name.clone(), n.labels.clone()))
            .collect()
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// Gives back the spare capacity lists were built with (a list that grew one push at a
    /// time holds room for up to twice its length), once the inventory is complete.
    pub fn shrink_to_fit(&mut self) {
        for w in &mut self.workloads {
            for c in &mut w.containers {
                c.env.shrink_to_fit();
                c.env_from.shrink_to_fit();
                c.command.shrink_to_fit();
                c.args.shrink_to_fit();
                c.ports.shrink_to_fit();
                c.probes.shrink_to_fit();
                c.mounts.shrink_to_fit();
            }
            w.containers.shrink_to_fit();
            w.config_map_volumes.shrink_to_fit();
        }
        for s in &mut self.services {
            s.ports.shrink_to_fit();
        }
        for c in &mut self.config_maps {
            c.data.shrink_to_fit();
        }
        for i in &mut self.ingresses {
            i.backends.shrink_to_fit();
        }
        self.workloads.shrink_to_fit();
        self.services.shrink_to_fit();
        self.service_accounts.shrink_to_fit();
        self.namespaces.shrink_to_fit();
        self.config_maps.shrink_to_fit();
        self.secrets.shrink_to_fit();
        self.ingresses.shrink_to_fit();
        self.istio.shrink_to_fit();
        self.notes.shrink_to_fit();
    }

    /// Lets go of what only inference reads (environment, command lines, volume mounts,
    /// ConfigMap values and Secret keys) once the topology has been inferred; checking and
    /// planning read workloads' labels, annotations, accounts and ports, and Services, which
    /// stay. Inferring again from the same inventory afterwards would find fewer calls.
    pub fn release_inference_inputs(&mut self) {
        for w in &mut self.workloads {
            w.config_map_volumes = Vec::new();
            for c in &mut w.containers {
                c.env = Vec::new();
                c.env_from = Vec::new();
                c.command = Vec::new();
                c.args = Vec::new();
                c.mounts = Vec::new();
            }
        }
        for c in &mut self.config_maps {
            c.data = Vec::new();
        }
        for s in &mut self.secrets {
            s.keys = Vec::new();
        }
    }

    pub fn has_service_account(&self, namespace: &str, name: &str) -> bool {
        self.service_accounts
            .iter()
            .any(|a| a.namespace == namespace && a.name == name)
    }
}
