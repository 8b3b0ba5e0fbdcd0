//! A corpus (its manifests and `expected-graph.json`) -> the scene the traffic fixtures show:
//! workloads with real-looking pods, the ground-truth calls with the Service ports callers
//! dial and the container ports behind them, and the noise a real cluster adds (callers from
//! outside the mesh into front ends, kubelet probes and Prometheus scrapes, 5xx responses,
//! a pod renamed by a second ReplicaSet, a decoy edge with no traffic in the window).

use super::rng::Rng;
use anyhow::Context as _;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::model::{Inventory, PortRef, Service, ServiceType, WorkloadKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Http,
    Grpc,
    Tcp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Http => "http",
            Proto::Grpc => "grpc",
            Proto::Tcp => "tcp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pod {
    pub name: String,
    pub ip: String,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    pub app: String,
    pub version: String,
    pub service_account: String,
    pub pods: Vec<Pod>,
}

impl Workload {
    pub fn principal(&self) -> String {
        format!(
            "cluster.local/ns/{}/sa/{}",
            self.namespace, self.service_account
        )
    }
}

/// A Service as callers dial it.
#[derive(Debug, Clone)]
pub struct Dialed {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: String,
    /// The workloads behind it (indices into [`Scene::workloads`]).
    pub backends: Vec<usize>,
}

impl Dialed {
    pub fn host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.name, self.namespace)
    }
}

/// One caller workload's calls to one Service port.
#[derive(Debug, Clone)]
pub struct Call {
    pub caller: usize,
    pub service: usize,
    pub port: u16,
    pub target_port: u16,
    pub protocol: Proto,
    /// Requests (or connections) in the window, and how many failed with a 5xx.
    pub requests: u64,
    pub errors: u64,
}

/// Traffic from outside the mesh or from the kubelet and Prometheus, into one workload.
#[derive(Debug, Clone)]
pub struct Outside {
    pub workload: usize,
    /// The Service it came through (front ends), or none (probes, scrapes to the pod).
    pub service: Option<usize>,
    pub port: u16,
    pub target_port: u16,
    pub path: &'static str,
    pub user_agent: &'static str,
    pub remote_ip: String,
    pub requests: u64,
}

#[derive(Debug, Clone)]
pub struct Scene {
    pub corpus: String,
    pub workloads: Vec<Workload>,
    pub services: Vec<Dialed>,
    pub calls: Vec<Call>,
    pub outside: Vec<Outside>,
    /// A caller and a Service it could call but did not in the window.
    pub decoy: Option<(usize, usize, u16)>,
    /// Lines for the fixture's README: what was left out and why, what noise was written.
    pub notes: Vec<String>,
}

/// Reads the corpus and lays out the scene, the same for the same seed.
pub fn build(corpus: &Path, seed: u64) -> anyhow::Result<Scene> {
    let expected_path = corpus.join("expected-graph.json");
    let text = std::fs::read_to_string(&expected_path)
        .with_context(|| format!("reading {}", expected_path.display()))?;
    let expected: Value = serde_json::from_str(&text)?;
    let loaded = load(&[Input::Path(corpus.to_path_buf())], &Limits::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let inv = inventory(&loaded.objects, "default");
    let name = expected["corpus"].as_str().unwrap_or("corpus").to_string();
    let mut rng = Rng::new(
        seed ^ name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131) ^ u64::from(b)),
    );
    let mut scene = Scene {
        corpus: name,
        workloads: Vec::new(),
        services: Vec::new(),
        calls: Vec::new(),
        outside: Vec::new(),
        decoy: None,
        notes: Vec::new(),
    };
    let empty = serde_json::Map::new();
    let services = expected["services"].as_object().unwrap_or(&empty);
    for (caller, entry) in services {
        add_calls(&mut scene, &inv, services, caller, entry, &mut rng);
    }
    super::noise::add(&mut scene, &inv, services, &mut rng);
    Ok(scene)
}

fn add_calls(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    caller: &str,
    entry: &Value,
    rng: &mut Rng,
) {
    let Some(calls) = entry["calls"].as_array() else {
        return;
    };
    for call in calls {
        let target = call["target"].as_str().unwrap_or("");
        let protocol = call["protocol"].as_str().unwrap_or("http");
        let port = call["port"].as_u64().unwrap_or(0) as u16;
        if call["target_in_corpus"] == Value::Bool(false) {
            continue;
        }
        let proto = match protocol {
            "http" => Proto::Http,
            "grpc" => Proto::Grpc,
            "tcp" => Proto::Tcp,
            other => {
                scene.notes.push(format!(
                    "left out: {caller} -> {target}:{port} ({other}): Istio's proxies do not observe {other}"
                ));
                continue;
            }
        };
        let callers = caller_workloads(scene, inv, services, caller, call);
        let Some(service) = dialed(scene, inv, services, target) else {
            scene.notes.push(format!(
                "left out: {caller} -> {target}: no Service `{target}` in the manifests"
            ));
            continue;
        };
        if callers.is_empty() {
            scene.notes.push(format!(
                "left out: {caller} -> {target}: no workload `{caller}` in the manifests"
            ));
            continue;
        }
        let target_port = target_port(inv, &scene.services[service], port);
        for caller in callers {
            let requests = 20 + rng.below(180) as u64;
            let errors = if proto != Proto::Tcp && rng.chance(25) {
                1 + rng.below(4) as u64
            } else {
                0
            };
            scene.calls.push(Call {
                caller,
                service,
                port,
                target_port,
                protocol: proto,
                requests,
                errors,
            });
        }
    }
}

/// The workloads behind a ground-truth entry: its Service's, or the workload it names.
fn caller_workloads(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    name: &str,
    call: &Value,
) -> Vec<usize> {
    let mut all = match dialed(scene, inv, services, name) {
        Some(s) => scene.services[s].backends.clone(),
        None => workload_named(scene, inv, services, name)
            .into_iter()
            .collect(),
    };
    if let Some(versions) = call["from_versions"].as_array() {
        let versions: Vec<&str> = versions.iter().filter_map(Value::as_str).collect();
        all.retain(|&w| versions.contains(&scene.workloads[w].version.as_str()));
    }
    all
}

/// The index of the workload named by an entry (`workload`, or its own name).
fn workload_named(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    name: &str,
) -> Option<usize> {
    let wanted = services
        .get(name)
        .and_then(|e| e["workload"].as_str())
        .unwrap_or(name);
    let w = inv.workloads.iter().find(|w| w.name == wanted)?;
    Some(workload_index(scene, w))
}

/// The index of the Service named `name`, adding it (and its workloads) on first use.
pub fn dialed(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    name: &str,
) -> Option<usize> {
    if let Some(i) = scene.services.iter().position(|s| s.name == name) {
        return Some(i);
    }
    let service = inv.services.iter().find(|s| s.name == name)?;
    let mut backends: Vec<usize> = Vec::new();
    for w in &inv.workloads {
        let selected = w.namespace == service.namespace
            && !service.selector.is_empty()
            && service
                .selector
                .iter()
                .all(|(k, v)| w.pod_labels.get(k) == Some(v));
        if selected && !w.kind.is_batch() {
            backends.push(workload_index(scene, w));
        }
    }
    if backends.is_empty() {
        backends.extend(workload_named(scene, inv, services, name));
    }
    let i = scene.services.len();
    scene.services.push(Dialed {
        namespace: service.namespace.clone(),
        name: service.name.clone(),
        cluster_ip: format!("10.96.{}.{}", 1 + i / 200, 10 + i % 200),
        backends,
    });
    Some(i)
}

fn workload_index(scene: &mut Scene, w: &meshsmith_core::model::Workload) -> usize {
    if let Some(i) = scene
        .workloads
        .iter()
        .position(|x| x.name == w.name && x.namespace == w.namespace)
    {
        return i;
    }
    let i = scene.workloads.len();
    let mut rng = Rng::new(
        w.name
            .bytes()
            .fold(i as u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
    );
    let replicas = w.replicas.unwrap_or(1).clamp(1, 2) as usize;
    let pods = (0..replicas)
        .map(|r| Pod {
            name: pod_name(w.kind, &w.name, r, &mut rng),
            ip: format!("10.244.{}.{}", 1 + i / 200, 10 + (i * 2 + r) % 240),
        })
        .collect();
    let label = |k: &str| w.pod_labels.get(k).unwrap_or("").to_string();
    let app = [
        label("app"),
        label("app.kubernetes.io/name"),
        w.name.clone(),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or_default();
    let version = [
        label("version"),
        label("app.kubernetes.io/version"),
        "latest".into(),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or_default();
    scene.workloads.push(Workload {
        namespace: w.namespace.clone(),
        name: w.name.clone(),
        app,
        version,
        service_account: w.service_account.clone(),
        pods,
    });
    i
}

/// Pod names as their controllers make them: `<deployment>-<replicaset hash>-<suffix>`,
/// `<statefulset>-<ordinal>`, `<daemonset>-<suffix>`.
pub fn pod_name(kind: WorkloadKind, name: &str, replica: usize, rng: &mut Rng) -> String {
    match kind {
        WorkloadKind::Deployment => {
            let hash = rng.alnum(10);
            format!("{name}-{hash}-{}", rng.alnum(5))
        }
        WorkloadKind::StatefulSet => format!("{name}-{replica}"),
        WorkloadKind::Pod => name.to_string(),
        _ => format!("{name}-{}", rng.alnum(5)),
    }
}

/// The container port behind a Service port: its `targetPort`, resolved by name through the
/// workloads' container ports.
fn target_port(inv: &Inventory, service: &Dialed, port: u16) -> u16 {
    let Some(s) = inv.service(&service.namespace, &service.name) else {
        return port;
    };
    let Some(p) = s.ports.iter().find(|p| p.port == port) else {
        return port;
    };
    match &p.target_port {
        Some(PortRef::Number(n)) => *n,
        Some(PortRef::Name(name)) => inv
            .workloads
            .iter()
            .filter(|w| w.namespace == service.namespace)
            .flat_map(|w| w.containers.iter().flat_map(|c| c.ports.iter()))
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .map_or(port, |cp| cp.port),
        None => port,
    }
}

/// Services reached from outside the cluster: LoadBalancer and NodePort Services and
/// Ingress backends, else the ground truth's services that nothing in it calls.
pub fn front_ends(inv: &Inventory, services: &serde_json::Map<String, Value>) -> Vec<String> {
    // An exposed Service the ground truth does not list (`frontend-external`) stands for
    // the listed one that selects the same pods.
    let listed = |s: &Service| -> Option<String> {
        if services.contains_key(&s.name) {
            return Some(s.name.clone());
        }
        inv.services
            .iter()
            .find(|o| {
                o.namespace == s.namespace
                    && o.selector == s.selector
                    && services.contains_key(&o.name)
            })
            .map(|o| o.name.clone())
    };
    let ingress_backends = inv
        .ingresses
        .iter()
        .flat_map(|i| {
            i.backends
                .iter()
                .map(move |b| (i.namespace.clone(), b.service.clone()))
        })
        .filter_map(|(ns, name)| inv.service(&ns, &name))
        .filter_map(listed);
    let exposed: BTreeSet<String> = inv
        .services
        .iter()
        .filter(|s: &&Service| {
            matches!(
                s.service_type,
                ServiceType::LoadBalancer | ServiceType::NodePort
            )
        })
        .filter_map(listed)
        .chain(ingress_backends)
        .collect();
    if !exposed.is_empty() {
        return exposed.into_iter().collect();
    }
    let called: BTreeSet<&str> = services
        .values()
        .flat_map(|s| s["calls"].as_array().into_iter().flatten())
        .filter_map(|c| c["target"].as_str())
        .collect();
    services
        .iter()
        .filter(|(name, s)| {
            !called.contains(name.as_str()) && s["client_only"] != Value::Bool(true)
        })
        .map(|(name, _)| name.clone())
        .collect()
}
