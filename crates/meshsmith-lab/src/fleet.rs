//! Bringing a lab up and down: certificates, apps, sidecars, all on 127.0.0.1.
//!
//! In: a validated `LabSpec` and an Envoy binary. Out: a `Fleet` holding every process and task
//! it started plus the run folder. Each sidecar stands for one pod (named as a Deployment's
//! pods are) and writes its access log in Istio's text and JSON formats under `logs/`; the
//! fleet copies them out on request. Dropping the fleet kills and reaps each Envoy, stops each
//! app and removes the folder; fields are ordered so processes go before the files they use.

mod plan;

pub use plan::fqdn;

use crate::access_log::{self, pod_name, LogFiles, LogFormat};
use crate::app::{self, AppHandle};
use crate::bootstrap::{self, TlsFiles};
use crate::certs::{CertError, LabCa, WorkloadCert};
use crate::client::loopback;
use crate::envoy::{EnvoyError, EnvoyProcess};
use crate::istiod::{self, IstiodError, IstiodOptions, IstiodRun, PodPlan};
use crate::spec::{LabSpec, ServiceSpec};
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the lab could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The run folder could not be created or written.
    #[error("run folder: {0}")]
    RunDir(std::io::Error),
    /// Certificates could not be made.
    #[error(transparent)]
    Certs(#[from] CertError),
    /// A test app could not bind a port.
    #[error("starting test app for {service}: {source}")]
    StartApp {
        service: String,
        source: std::io::Error,
    },
    /// No free port on 127.0.0.1.
    #[error("picking a free port on 127.0.0.1: {0}")]
    PickPort(std::io::Error),
    /// An Envoy failed to start.
    #[error(transparent)]
    Envoy(#[from] EnvoyError),
    /// istiod failed to start or to configure a sidecar.
    #[error(transparent)]
    Istiod(#[from] IstiodError),
}

/// One Envoy and the ports it listens on.
pub struct Sidecar {
    pub service: String,
    pub instance: u32,
    /// The pod this sidecar stands for; its log files are named after it.
    pub pod: String,
    /// Where its inbound listener listens.
    pub inbound: Option<SocketAddrV4>,
    /// (Service port, listener address) of each outbound listener.
    pub outbound: Vec<(u16, SocketAddrV4)>,
    pub logs: LogFiles,
    pub process: EnvoyProcess,
    /// With istiod: the bootstrap meshsmith's own translation writes for this pod, for the
    /// translation diff.
    pub own_translation: Option<serde_json::Value>,
}

impl Sidecar {
    /// The address of the outbound listener for a Service port.
    pub fn outbound_addr(&self, service_port: u16) -> Option<SocketAddrV4> {
        self.outbound
            .iter()
            .find(|(p, _)| *p == service_port)
            .map(|(_, local)| *local)
    }
}
/// Everything one lab run started.
pub struct Fleet {
    pub sidecars: Vec<Sidecar>,
    /// istiod and the servers it needs, when it configures the sidecars.
    pub istiod: Option<IstiodRun>,
    /// How istiod was asked to run, for a scenario that brings up a fleet of its own.
    pub istiod_options: Option<IstiodOptions>,
    pub apps: Vec<AppHandle>,
    pub spec: LabSpec,
    pub ca: LabCa,
    /// A workload identity no AuthorizationPolicy names.
    pub intruder: WorkloadCert,
    /// The Envoy binary every sidecar runs, for a scenario that brings up a fleet of its own.
    pub envoy: PathBuf,
    dir: tempfile::TempDir,
}

impl Fleet {
    /// Start everything. Ports are picked by binding port 0 and releasing it, so another
    /// program may take one before Envoy binds it; such a clash gets one fresh attempt.
    /// With `istiod`, the sidecars take their configuration from istiod instead of the lab's
    /// own bootstraps.
    pub async fn start(
        spec: &LabSpec,
        envoy: &Path,
        istiod: Option<&IstiodOptions>,
    ) -> Result<Fleet, FleetError> {
        match Self::start_once(spec, envoy, istiod).await {
            Err(FleetError::Envoy(EnvoyError::NotReady { log_tail, .. }))
                if log_tail.contains("Address already in use") =>
            {
                Self::start_once(spec, envoy, istiod).await
            }
            other => other,
        }
    }

    async fn start_once(
        spec: &LabSpec,
        envoy: &Path,
        istiod: Option<&IstiodOptions>,
    ) -> Result<Fleet, FleetError> {
        let dir = tempfile::Builder::new()
            .prefix("meshsmith-lab-")
            .tempdir()
            .map_err(FleetError::RunDir)?;
        let certs_dir = dir.path().join("certs");
        let logs_dir = dir.path().join("logs");
        for d in [&certs_dir, &logs_dir] {
            std::fs::create_dir(d).map_err(FleetError::RunDir)?;
        }
        let ca = LabCa::create(&certs_dir)?;
        let mut certs = Vec::new();
        for s in &spec.services {
            certs.push(ca.issue(&certs_dir, &s.name, &spec.spiffe_id(s))?);
        }
        let intruder_id = format!("spiffe://{}/ns/lab/sa/lab-intruder", spec.trust_domain);
        let intruder = ca.issue(&certs_dir, "lab-intruder", &intruder_id)?;
        let apps = start_apps(spec).await?;
        let slots = plan::slots(spec)?;
        let istiod_options = istiod.cloned();
        let parts = Parts {
            spec,
            envoy,
            slots: &slots,
            certs: &certs,
            ca: &ca,
            apps: &apps,
            dir: dir.path(),
            logs_dir: &logs_dir,
        };
        let (sidecars, istiod) = match istiod {
            None => (own_sidecars(&parts)?, None),
            Some(options) => {
                let (sidecars, run) = istiod_sidecars(&parts, options).await?;
                (sidecars, Some(run))
            }
        };
        let mut fleet = Fleet {
            sidecars,
            istiod,
            istiod_options,
            apps,
            spec: spec.clone(),
            ca,
            intruder,
            envoy: envoy.to_path_buf(),
            dir,
        };
        for s in &mut fleet.sidecars {
            s.process.wait_ready(Duration::from_secs(20)).await?;
        }
        if fleet.istiod.is_some() {
            for s in &fleet.sidecars {
                wait_listening(s).await?;
            }
        }
        for app in &fleet.apps {
            app.control
                .set_outbound(app_routes(spec, &fleet.sidecars, &app.control.service));
        }
        Ok(fleet)
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Every process of the run: the Envoys, then istiod.
    pub fn pids(&self) -> Vec<u32> {
        self.sidecars
            .iter()
            .map(|s| s.process.pid())
            .chain(self.istiod.as_ref().map(|i| i.process.pid()))
            .collect()
    }

    pub fn sidecar(&self, service: &str, instance: u32) -> Option<&Sidecar> {
        self.sidecars
            .iter()
            .find(|s| s.service == service && s.instance == instance)
    }

    pub fn apps_of(&self, service: &str) -> Vec<&AppHandle> {
        self.apps
            .iter()
            .filter(|a| a.control.service == service)
            .collect()
    }

    /// The outbound cluster a caller uses for `callee`.
    pub fn cluster_of(&self, callee: &ServiceSpec) -> String {
        bootstrap::outbound_cluster(callee.port, &fqdn(callee))
    }

    /// Copy every sidecar's access log in `format` to `<dir>/<pod>.log`, once Envoy has
    /// flushed what it buffered.
    pub async fn export_logs(
        &self,
        dir: &Path,
        format: LogFormat,
    ) -> std::io::Result<Vec<PathBuf>> {
        tokio::time::sleep(crate::envoy::LOG_FLUSH * 5).await;
        let logs: Vec<(String, LogFiles)> = self
            .sidecars
            .iter()
            .map(|s| (s.pod.clone(), s.logs.clone()))
            .collect();
        access_log::export(&logs, dir, format)
    }
}

/// The lab's own translation: one static bootstrap per sidecar.
#[allow(clippy::too_many_arguments)]
/// What starting the sidecars takes, whichever translation configures them.
struct Parts<'a> {
    spec: &'a LabSpec,
    envoy: &'a Path,
    slots: &'a [plan::Slot<'a>],
    certs: &'a [WorkloadCert],
    ca: &'a LabCa,
    apps: &'a [AppHandle],
    dir: &'a Path,
    logs_dir: &'a Path,
}

impl Parts<'_> {
    /// The certificate issued for `service`'s identity.
    fn cert_of(&self, service: &ServiceSpec) -> Option<&WorkloadCert> {
        let id = self.spec.spiffe_id(service);
        self.certs.iter().find(|c| c.spiffe_id == id)
    }
}

fn own_sidecars(parts: &Parts) -> Result<Vec<Sidecar>, FleetError> {
    let mut sidecars = Vec::new();
    for slot in parts.slots {
        let s = slot.service;
        let Some(cert) = parts.cert_of(s) else {
            continue;
        };
        let tls = tls_files(cert, parts.ca);
        let plan = plan::sidecar_plan(
            parts.spec,
            slot,
            parts.slots,
            tls,
            app_port(parts.apps, slot),
            parts.logs_dir,
        );
        let config = parts.dir.join(format!("{}.json", plan.pod));
        let text = serde_json::to_vec_pretty(&bootstrap::bootstrap(&plan))
            .map_err(|e| FleetError::RunDir(std::io::Error::other(e)))?;
        std::fs::write(&config, text).map_err(FleetError::RunDir)?;
        let log = parts.dir.join(format!("{}.envoy.log", plan.pod));
        let process = EnvoyProcess::spawn(parts.envoy, &plan.pod, &config, plan.admin_port, &log)?;
        sidecars.push(Sidecar {
            service: s.name.clone(),
            instance: slot.instance,
            pod: plan.pod.clone(),
            inbound: plan.inbound.as_ref().map(|p| loopback(p.port)),
            outbound: slot
                .outbound
                .iter()
                .map(|(s, p)| (*s, loopback(*p)))
                .collect(),
            logs: plan.logs.clone(),
            process,
            own_translation: None,
        });
    }
    Ok(sidecars)
}

/// The certificate files a sidecar presents and trusts.
fn tls_files(cert: &WorkloadCert, ca: &LabCa) -> TlsFiles {
    TlsFiles {
        cert: cert.cert_file.clone(),
        key: cert.key_file.clone(),
        ca: ca.ca_file.clone(),
    }
}

fn app_port(apps: &[AppHandle], slot: &plan::Slot<'_>) -> Option<u16> {
    apps.iter()
        .find(|a| a.control.service == slot.service.name && a.control.instance == slot.instance)
        .map(|a| a.port)
}

/// istiod's translation: the folder, istiod, and one xDS-configured Envoy per pod.
async fn istiod_sidecars(
    parts: &Parts<'_>,
    options: &IstiodOptions,
) -> Result<(Vec<Sidecar>, IstiodRun), FleetError> {
    let mut pods = pod_plans(parts.slots, parts.apps, parts.logs_dir);
    istiod::assign_addresses(&mut pods).map_err(FleetError::PickPort)?;
    let run = IstiodRun::start(
        options,
        parts.spec,
        &pods,
        parts.dir,
        &parts.dir.join("certs"),
    )
    .await?;
    let mut sidecars = Vec::new();
    for (pod, slot) in pods.iter().zip(parts.slots) {
        let Some(s) = parts.spec.service(&pod.service) else {
            continue;
        };
        let Some(cert) = parts.cert_of(s) else {
            continue;
        };
        let tls = tls_files(cert, parts.ca);
        let own = plan::sidecar_plan(
            parts.spec,
            slot,
            parts.slots,
            tls,
            pod.app_port,
            parts.logs_dir,
        );
        let node = istiod::bootstrap::Node {
            pod,
            namespace: &s.namespace,
            workload: s.workload(),
            service_account: &s.service_account,
            labels: istiod::folder::pod_labels(s, pod, &options.generated),
            trust_domain: &parts.spec.trust_domain,
            istio_version: istiod::PROXY_ISTIO_VERSION,
            cert: bootstrap::path(&cert.cert_file),
            key: bootstrap::path(&cert.key_file),
            ca: bootstrap::path(&parts.ca.ca_file),
        };
        let config = parts.dir.join(format!("{}.json", pod.pod));
        let text = serde_json::to_vec_pretty(&istiod::bootstrap::bootstrap(
            &node,
            run.process.ports.grpc,
            run.sds.port,
        ))
        .map_err(|e| FleetError::RunDir(std::io::Error::other(e)))?;
        std::fs::write(&config, text).map_err(FleetError::RunDir)?;
        let log = parts.dir.join(format!("{}.envoy.log", pod.pod));
        let mut process = EnvoyProcess::spawn(parts.envoy, &pod.pod, &config, pod.admin, &log)?;
        alias_istiod_stats(&mut process, parts.spec, s, pod);
        sidecars.push(Sidecar {
            service: s.name.clone(),
            instance: pod.instance,
            pod: pod.pod.clone(),
            inbound: pod.inbound,
            outbound: pod.outbound(),
            logs: pod.logs.clone(),
            process,
            own_translation: Some(bootstrap::bootstrap(&own)),
        });
    }
    Ok((sidecars, run))
}

/// Where each pod of an istiod-configured fleet lives; addresses are assigned afterwards.
fn pod_plans(slots: &[plan::Slot<'_>], apps: &[AppHandle], logs_dir: &Path) -> Vec<PodPlan> {
    slots
        .iter()
        .map(|slot| {
            let s = slot.service;
            let pod = pod_name(s.workload(), &s.namespace, slot.instance);
            PodPlan {
                service: s.name.clone(),
                instance: slot.instance,
                logs: LogFiles::in_dir(logs_dir, &pod),
                pod,
                admin: slot.admin,
                app_port: app_port(apps, slot),
                inbound_port: slot.inbound.map(|_| s.target_port()),
                outbound_ports: slot.outbound.iter().map(|(p, _)| *p).collect(),
                inbound_ip: std::net::Ipv4Addr::LOCALHOST,
                outbound_ip: std::net::Ipv4Addr::LOCALHOST,
                inbound: None,
            }
        })
        .collect()
}

/// istiod names the inbound stats after the listener's address and ends every stat prefix
/// with `;` (Istio's tag delimiter); scenarios read them under the names the lab's own
/// translation uses.
fn alias_istiod_stats(process: &mut EnvoyProcess, spec: &LabSpec, s: &ServiceSpec, pod: &PodPlan) {
    if let Some(inbound) = pod.inbound {
        process.alias_stats(
            &bootstrap::inbound_stat_prefix(inbound.port()),
            &format!("inbound_{}_{};", inbound.ip(), inbound.port()),
        );
        let cluster = bootstrap::inbound_cluster(inbound.port());
        process.alias_stats(&cluster, &format!("{cluster};"));
    }
    for (callee, _) in spec.targets_of(&s.name) {
        let cluster = bootstrap::outbound_cluster(callee.port, &fqdn(callee));
        process.alias_stats(&cluster, &format!("{cluster};"));
    }
    let passthrough = bootstrap::PASSTHROUGH_CLUSTER;
    process.alias_stats(passthrough, &format!("{passthrough};"));
}

/// Wait until every listener istiod was asked for accepts connections.
async fn wait_listening(s: &Sidecar) -> Result<(), FleetError> {
    let addrs: Vec<SocketAddrV4> = s
        .inbound
        .into_iter()
        .chain(s.outbound.iter().map(|(_, a)| *a))
        .collect();
    let start = std::time::Instant::now();
    for addr in addrs {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if start.elapsed() > Duration::from_secs(20) {
                return Err(FleetError::Istiod(IstiodError::NotConfigured {
                    pod: s.pod.clone(),
                    reason: format!("nothing listens on {addr} after 20 s"),
                }));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    Ok(())
}

/// One app per callee instance; replicas of a service share one probe book.
async fn start_apps(spec: &LabSpec) -> Result<Vec<AppHandle>, FleetError> {
    let mut apps = Vec::new();
    for s in spec.callees() {
        let probes = std::sync::Arc::new(app::ProbeBook::default());
        for i in 0..s.instances {
            let app = app::start(&s.name, i, probes.clone())
                .await
                .map_err(|source| FleetError::StartApp {
                    service: s.name.clone(),
                    source,
                })?;
            apps.push(app);
        }
    }
    Ok(apps)
}

/// Where a service's app sends a call for each host it may name: its sidecar's outbound
/// listener for that host's Service port.
fn app_routes(spec: &LabSpec, sidecars: &[Sidecar], service: &str) -> Vec<(String, SocketAddrV4)> {
    let (Some(caller), Some(sidecar)) = (
        spec.service(service),
        sidecars
            .iter()
            .find(|s| s.service == service && s.instance == 0),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (callee, _) in spec.targets_of(service) {
        if let Some(addr) = sidecar.outbound_addr(callee.port) {
            out.push((fqdn(callee), addr));
            for alias in plan::aliases(caller, callee) {
                out.push((alias, addr));
            }
        }
    }
    out
}
