//! The folder istiod reads (`--configDir`) and the mesh configuration it starts with.
//!
//! In: the lab spec, the generated resources of its services, and where each pod of the fleet
//! lives. Out: one file per Istio object, each a JSON document (which YAML readers take as it
//! is), and `mesh.yaml`. What goes in:
//! - every generated VirtualService, DestinationRule, PeerAuthentication and AuthorizationPolicy
//!   of the lab's services, unchanged;
//! - a ServiceEntry per called service (its Service port, protocol and target port, selecting
//!   its pods' labels) and a WorkloadEntry per pod (its own loopback address, its service
//!   account, and the `security.istio.io/tlsMode: istio` label an injected pod carries), so
//!   istiod knows the service and its endpoints as it would know a Kubernetes Service;
//! - a Sidecar per pod. The lab has no iptables, so sidecars run in Istio's `NONE` interception
//!   mode, where istiod only makes listeners a Sidecar asks for: an ingress listener on the
//!   pod's address and target port forwarding to the app, and an egress listener bound to the
//!   pod's outbound address. The egress hosts are those of the service's generated Sidecar
//!   (which the per-pod Sidecar replaces: two Sidecars on one workload are ambiguous), or every
//!   host (`*/*`, what a workload without a Sidecar sees);
//! - a Telemetry per pod sending its access log to the pod's two files in the lab's formats.
//!
//! Left out, and said so in the report: generated ServiceEntries for external hosts (the lab
//! has no internet, and their DNS clusters would resolve real names).

use super::{Generated, PodPlan, LAB_POD_LABEL};
use crate::access_log;
use crate::spec::{LabSpec, Protocol, ServiceSpec};
use serde_json::{json, Value};
use std::path::Path;

/// What the folder holds beyond the generated resources, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// `Kind namespace/name` of each generated resource given to istiod.
    pub generated: Vec<String>,
    /// Generated resources kept out, each with why.
    pub left_out: Vec<String>,
}

/// The objects of the folder, in a stable order: generated first, then the lab's.
pub fn objects(spec: &LabSpec, generated: &Generated, pods: &[PodPlan]) -> (Vec<Value>, Written) {
    let mut out = Vec::new();
    let mut written = Written::default();
    for g in &generated.resources {
        let r = &g.object;
        let kind = r["kind"].as_str().unwrap_or_default();
        let id = format!(
            "{kind} {}/{}",
            r["metadata"]["namespace"].as_str().unwrap_or_default(),
            r["metadata"]["name"].as_str().unwrap_or_default()
        );
        match kind {
            "VirtualService" | "DestinationRule" | "PeerAuthentication" | "AuthorizationPolicy" => {
                written.generated.push(id);
                out.push(r.clone());
            }
            "Sidecar" => written.generated.push(format!(
                "{id} (its egress hosts, on one Sidecar per pod that binds the pod's addresses)"
            )),
            "ServiceEntry" => written
                .left_out
                .push(format!("{id}: an external host; the lab has no internet")),
            _ => {}
        }
    }
    for s in spec.callees() {
        out.push(service_entry(s, generated));
    }
    for pod in pods {
        let Some(s) = spec.service(&pod.service) else {
            continue;
        };
        if pod.inbound.is_some() {
            out.push(workload_entry(s, pod, generated));
        }
        out.push(sidecar(s, pod, generated));
        out.push(telemetry(s, pod));
    }
    (out, written)
}

/// Write each object to `<dir>/<nn>-<kind>-<namespace>-<name>.yaml`.
pub fn write(dir: &Path, objects: &[Value]) -> std::io::Result<()> {
    for (i, o) in objects.iter().enumerate() {
        let name = format!(
            "{i:03}-{}-{}-{}.yaml",
            o["kind"].as_str().unwrap_or("object").to_lowercase(),
            o["metadata"]["namespace"].as_str().unwrap_or_default(),
            o["metadata"]["name"].as_str().unwrap_or_default()
        );
        let text = serde_json::to_string_pretty(o).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(name), text + "\n")?;
    }
    Ok(())
}

/// The mesh configuration: the trust domain, no tracing (its collector cluster would not
/// exist), the access-log providers of every pod, and the default ALLOW_ANY outbound policy.
pub fn mesh_config(spec: &LabSpec, pods: &[PodPlan]) -> Value {
    let mut providers = Vec::new();
    for pod in pods {
        providers.push(json!({
            "name": provider(pod, "json"),
            "envoyFileAccessLog": {
                "path": pod.logs.json.to_string_lossy(),
                "logFormat": { "labels": access_log::json_fields() }
            }
        }));
        providers.push(json!({
            "name": provider(pod, "text"),
            "envoyFileAccessLog": {
                "path": pod.logs.text.to_string_lossy(),
                "logFormat": { "text": access_log::TEXT_FORMAT }
            }
        }));
    }
    json!({
        "trustDomain": spec.trust_domain,
        "rootNamespace": "istio-system",
        "enableTracing": false,
        "enableAutoMtls": true,
        "outboundTrafficPolicy": { "mode": "ALLOW_ANY" },
        "extensionProviders": providers,
    })
}

fn provider(pod: &PodPlan, format: &str) -> String {
    format!("lab-{}-{format}", pod.pod)
}

fn port_protocol(s: &ServiceSpec) -> (&'static str, &'static str) {
    match s.protocol {
        Protocol::Http => ("HTTP", "http"),
        Protocol::Grpc => ("GRPC", "grpc"),
    }
}

/// The labels that select a service's pods: the generated policies' selector.
fn selector(s: &ServiceSpec, generated: &Generated) -> Value {
    match generated.pod_labels.get(&s.name) {
        Some(labels) if !labels.is_empty() => json!(labels),
        _ => json!({ "app": s.workload() }),
    }
}

fn service_entry(s: &ServiceSpec, generated: &Generated) -> Value {
    let (protocol, prefix) = port_protocol(s);
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": { "name": format!("lab-{}", s.name), "namespace": s.namespace },
        "spec": {
            "hosts": [crate::fleet::fqdn(s)],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": [{
                "number": s.port,
                "name": format!("{prefix}-{}", s.port),
                "protocol": protocol,
                "targetPort": s.target_port()
            }],
            "workloadSelector": { "labels": selector(s, generated) }
        }
    })
}

/// The labels a pod of `s` carries: its selector, the injected-pod TLS label, and the lab's
/// own pod label that its Sidecar and Telemetry select.
pub fn pod_labels(s: &ServiceSpec, pod: &PodPlan, generated: &Generated) -> Value {
    let mut labels = selector(s, generated);
    labels["security.istio.io/tlsMode"] = json!("istio");
    labels[LAB_POD_LABEL] = json!(pod.pod);
    labels
}

fn workload_entry(s: &ServiceSpec, pod: &PodPlan, generated: &Generated) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "WorkloadEntry",
        "metadata": { "name": pod.pod, "namespace": s.namespace },
        "spec": {
            "address": pod.inbound_ip.to_string(),
            "labels": pod_labels(s, pod, generated),
            "serviceAccount": s.service_account
        }
    })
}

fn egress_hosts(s: &ServiceSpec, generated: &Generated) -> Value {
    generated
        .resources
        .iter()
        .find(|g| g.service == s.name && g.object["kind"] == "Sidecar")
        .and_then(|g| g.object["spec"]["egress"][0]["hosts"].as_array().cloned())
        .map_or_else(|| json!(["*/*"]), Value::Array)
}

fn sidecar(s: &ServiceSpec, pod: &PodPlan, generated: &Generated) -> Value {
    let mut spec = json!({
        "workloadSelector": { "labels": { LAB_POD_LABEL: pod.pod } },
        "egress": [{
            "bind": pod.outbound_ip.to_string(),
            "captureMode": "NONE",
            "hosts": egress_hosts(s, generated)
        }]
    });
    if let (Some(_), Some(app)) = (pod.inbound, pod.app_port) {
        let (protocol, prefix) = port_protocol(s);
        spec["ingress"] = json!([{
            "port": {
                "number": s.target_port(),
                "protocol": protocol,
                "name": format!("{prefix}-{}", s.target_port())
            },
            "bind": pod.inbound_ip.to_string(),
            "captureMode": "NONE",
            "defaultEndpoint": format!("127.0.0.1:{app}")
        }]);
    }
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": { "name": format!("lab-{}", pod.pod), "namespace": s.namespace },
        "spec": spec
    })
}

fn telemetry(s: &ServiceSpec, pod: &PodPlan) -> Value {
    json!({
        "apiVersion": "telemetry.istio.io/v1",
        "kind": "Telemetry",
        "metadata": { "name": format!("lab-{}", pod.pod), "namespace": s.namespace },
        "spec": {
            "selector": { "matchLabels": { LAB_POD_LABEL: pod.pod } },
            "accessLogging": [{ "providers": [
                { "name": provider(pod, "json") },
                { "name": provider(pod, "text") }
            ]}]
        }
    })
}
