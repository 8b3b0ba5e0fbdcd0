//! The lab on Istio's own control plane: istiod translates the generated configuration and
//! the sidecars run exactly what it sends them.
//!
//! ```text
//!  generated resources ─┐                      ┌─ EmptyCluster (kube.rs): an empty Kubernetes
//!  ServiceEntry, Workload-├─ folder.rs ─▶ dir ─┤   API istiod insists on
//!  Entry, Sidecar, Tele-  │  + mesh.yaml       ▼
//!  metry per pod ─────────┘            pilot-discovery discovery --configDir (process.rs)
//!                                              │ xDS (ADS, plaintext gRPC on 127.0.0.1)
//!  lab CA files ─▶ SdsServer (sds.rs) ──SDS──▶ Envoy per pod (bootstrap.rs: node metadata)
//!                                              │ /config_dump
//!                                              ▼
//!                                  diff.rs: istiod's translation vs meshsmith's
//! ```
//!
//! Pods have no network namespace of their own here, and istiod's sidecars without iptables
//! (interception mode `NONE`) bind real addresses on their Service ports. So each pod gets two
//! loopback addresses of its own in one randomly chosen `127.x.y.0/24`: one for its inbound
//! listener (its "pod IP", in its WorkloadEntry and node id) and one for its outbound listeners
//! (what its app connects to), so an inbound and an outbound listener on the same port never
//! meet.

pub mod bootstrap;
pub mod diff;
pub mod folder;
pub mod kube;
mod pb;
pub mod process;
pub mod sds;

pub use process::{locate, IstiodError};

use crate::access_log::LogFiles;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a call the caller's Sidecar does not import is not run on istiod.
pub const PASSTHROUGH_NOT_COVERED: &str = "not covered on istiod: without iptables (interception \
     mode NONE) istiod gives the caller no listener for a destination its Sidecar does not \
     import, and PassthroughCluster needs the original destination iptables keeps in a pod";

/// Why a sidecar's call to a PERMISSIVE HTTP port fails on istiod.
pub const PERMISSIVE_NOT_COVERED: &str = "not covered on istiod: a PERMISSIVE HTTP port takes \
     mutual TLS only with Istio's ALPN (`istio-http/1.1`, `istio-h2`), which istio/proxy's \
     `istio.alpn` filter sets and plain Envoy lacks (istiod runs with \
     PILOT_ENABLE_ALPN_FILTER=false), so such calls fail here although a mesh serves them";

/// What the lab on istiod does not cover, scenario by scenario; empty when it covers all.
pub fn not_covered(spec: &crate::spec::LabSpec) -> Vec<String> {
    let mut out = Vec::new();
    for callee in spec
        .services
        .iter()
        .filter(|s| s.mtls == crate::spec::MtlsMode::Permissive)
    {
        let callers: Vec<&str> = spec
            .edges
            .iter()
            .filter(|e| e.to == callee.name)
            .map(|e| e.from.as_str())
            .chain(
                spec.calls
                    .iter()
                    .filter(|c| c.to == callee.name && c.imported)
                    .map(|c| c.from.as_str()),
            )
            .collect();
        if !callers.is_empty() {
            out.push(format!(
                "calls from {} to {} (PERMISSIVE): {PERMISSIVE_NOT_COVERED}",
                callers.join(", "),
                callee.name
            ));
        }
    }
    for c in spec.calls.iter().filter(|c| !c.imported) {
        out.push(format!(
            "hidden-call {} -> {}: {PASSTHROUGH_NOT_COVERED}",
            c.from, c.to
        ));
    }
    out
}

/// The label the lab gives each pod so one Sidecar and one Telemetry select it alone.
pub const LAB_POD_LABEL: &str = "meshsmith.dev/lab-pod";

/// The Istio version a sidecar reports (istiod gates features on it): the pinned release line.
pub const PROXY_ISTIO_VERSION: &str = "1.31.0";

/// One generated resource and the lab service it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedResource {
    pub service: String,
    /// The object as `generate` writes it.
    pub object: Value,
}

/// What istiod is given besides the spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    pub resources: Vec<GeneratedResource>,
    /// Labels that select each lab service's pods (the generated policies' selectors).
    pub pod_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// How to run the lab on istiod.
#[derive(Debug, Clone)]
pub struct IstiodOptions {
    pub binary: PathBuf,
    pub generated: Generated,
}

/// Where one pod lives.
#[derive(Debug, Clone)]
pub struct PodPlan {
    pub service: String,
    pub instance: u32,
    pub pod: String,
    pub admin: u16,
    pub app_port: Option<u16>,
    /// The target port its inbound listener serves, if it is called.
    pub inbound_port: Option<u16>,
    /// The Service ports its app sends to.
    pub outbound_ports: Vec<u16>,
    pub inbound_ip: Ipv4Addr,
    pub outbound_ip: Ipv4Addr,
    pub logs: LogFiles,
    /// Filled in when the pod's addresses are picked.
    pub inbound: Option<SocketAddrV4>,
}

impl PodPlan {
    pub fn outbound(&self) -> Vec<(u16, SocketAddrV4)> {
        self.outbound_ports
            .iter()
            .map(|p| (*p, SocketAddrV4::new(self.outbound_ip, *p)))
            .collect()
    }
}

/// Give every pod its two addresses in a free `127.x.y.0/24`: every listener it will have
/// must bind there now, or another block is tried.
pub fn assign_addresses(pods: &mut [PodPlan]) -> std::io::Result<()> {
    let mut last = None;
    for attempt in 0..16u32 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            ^ std::process::id().rotate_left(attempt)
            ^ attempt.wrapping_mul(0x9e37_79b9);
        let (x, y) = (64 + (seed % 160) as u8, ((seed >> 8) % 250) as u8 + 2);
        for (i, pod) in pods.iter_mut().enumerate() {
            let n = 2 * i as u8 + 2;
            pod.inbound_ip = Ipv4Addr::new(127, x, y, n);
            pod.outbound_ip = Ipv4Addr::new(127, x, y, n + 1);
            pod.inbound = pod
                .inbound_port
                .map(|p| SocketAddrV4::new(pod.inbound_ip, p));
        }
        match all_free(pods) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free loopback block")))
}

fn all_free(pods: &[PodPlan]) -> std::io::Result<()> {
    let mut held = Vec::new();
    for pod in pods {
        if let Some(a) = pod.inbound {
            held.push(TcpListener::bind(a)?);
        }
        for (_, a) in pod.outbound() {
            held.push(TcpListener::bind(a)?);
        }
    }
    Ok(())
}

/// istiod and what it needs, for one lab run; stopped when dropped (istiod first).
pub struct IstiodRun {
    pub process: process::IstiodProcess,
    pub sds: sds::SdsServer,
    pub cluster: kube::EmptyCluster,
    pub version: String,
    /// From spawning istiod to its `/ready`.
    pub startup_ms: u64,
    pub written: folder::Written,
    pub config_dir: PathBuf,
}

impl IstiodRun {
    /// Write the folder under `dir`, start the empty cluster, the SDS server and istiod.
    pub async fn start(
        options: &IstiodOptions,
        spec: &crate::spec::LabSpec,
        pods: &[PodPlan],
        dir: &Path,
        certs_dir: &Path,
    ) -> Result<IstiodRun, IstiodError> {
        let version = process::version(&options.binary)?;
        let prepare = IstiodError::Prepare;
        let config_dir = dir.join("istiod-config");
        std::fs::create_dir(&config_dir).map_err(prepare)?;
        let (objects, written) = folder::objects(spec, &options.generated, pods);
        folder::write(&config_dir, &objects).map_err(prepare)?;
        let mesh = dir.join("mesh.yaml");
        let mesh_text = serde_json::to_string_pretty(&folder::mesh_config(spec, pods))
            .map_err(|e| prepare(std::io::Error::other(e)))?;
        std::fs::write(&mesh, mesh_text).map_err(prepare)?;
        let cluster = kube::EmptyCluster::start().await.map_err(prepare)?;
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, cluster.kubeconfig()).map_err(prepare)?;
        let sds = sds::SdsServer::start(certs_dir).await.map_err(prepare)?;
        let ports = free_ports().map_err(prepare)?;
        let started = Instant::now();
        let mut process = process::IstiodProcess::spawn(
            &options.binary,
            &process::Inputs {
                config_dir: &config_dir,
                mesh_config: &mesh,
                kubeconfig: &kubeconfig,
                log_file: &dir.join("istiod.log"),
            },
            ports,
        )?;
        process.wait_ready(Duration::from_secs(60)).await?;
        Ok(IstiodRun {
            process,
            sds,
            cluster,
            version,
            startup_ms: started.elapsed().as_millis() as u64,
            written,
            config_dir,
        })
    }
}

/// Compare each sidecar's configuration from istiod with meshsmith's own translation for the
/// same pod (see `diff`). `Err` names a sidecar whose configuration could not be read.
pub async fn translation_diff(fleet: &crate::fleet::Fleet) -> Result<Vec<diff::Field>, String> {
    let mut fields = Vec::new();
    for sidecar in &fleet.sidecars {
        let Some(own) = &sidecar.own_translation else {
            continue;
        };
        let reply = crate::client::admin_get(sidecar.process.admin_port, "/config_dump")
            .await
            .map_err(|e| format!("{}: /config_dump: {e}", sidecar.pod))?;
        let dump: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| format!("{}: /config_dump: {e}", sidecar.pod))?;
        let theirs = diff::Config::from_config_dump(&dump);
        let ours = diff::Config::from_bootstrap(own);
        let spec = &fleet.spec;
        if sidecar.instance == 0 {
            for (callee, imported) in spec.targets_of(&sidecar.service) {
                if !imported {
                    continue;
                }
                let host = crate::fleet::fqdn(callee);
                fields.extend(diff::compare(
                    &sidecar.pod,
                    &format!("route {host}:{}", callee.port),
                    diff::route_values(&ours, callee.port, &host),
                    diff::route_values(&theirs, callee.port, &host),
                ));
                let cluster = crate::bootstrap::outbound_cluster(callee.port, &host);
                fields.extend(diff::compare(
                    &sidecar.pod,
                    &format!("cluster {cluster}"),
                    diff::cluster_values(&ours, &cluster),
                    diff::cluster_values(&theirs, &cluster),
                ));
            }
        }
        if let Some(inbound) = sidecar.inbound {
            fields.extend(diff::compare(
                &sidecar.pod,
                &format!("inbound {}", inbound.port()),
                diff::inbound_values(&ours),
                diff::inbound_values(&theirs),
            ));
        }
    }
    Ok(fields)
}

fn free_ports() -> std::io::Result<process::Ports> {
    let held: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<Result<_, _>>()?;
    let port = |i: usize| held[i].local_addr().map(|a| a.port());
    Ok(process::Ports {
        http: port(0)?,
        grpc: port(1)?,
        monitoring: port(2)?,
        ctrlz: port(3)?,
    })
}

#[cfg(test)]
mod tests;
