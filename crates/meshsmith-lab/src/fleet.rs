//! Bringing a lab up and down: certificates, apps, sidecars, all on 127.0.0.1.
//!
//! In: a validated `LabSpec` and an Envoy binary. Out: a `Fleet` holding every process and task
//! it started plus the run folder. Each sidecar stands for one pod (named as a Deployment's
//! pods are) and writes its access log in Istio's text and JSON formats under `logs/`; the
//! fleet copies them out on request. Dropping the fleet kills and reaps each Envoy, stops each
//! app and removes the folder; fields are ordered so processes go before the files they use.

mod plan;

pub use plan::fqdn;

use crate::access_log::{self, LogFiles, LogFormat};
use crate::app::{self, AppHandle};
use crate::bootstrap::{self, TlsFiles};
use crate::certs::{CertError, LabCa, WorkloadCert};
use crate::envoy::{EnvoyError, EnvoyProcess};
use crate::spec::{LabSpec, ServiceSpec};
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
}

/// One Envoy and the ports it listens on.
pub struct Sidecar {
    pub service: String,
    pub instance: u32,
    /// The pod this sidecar stands for; its log files are named after it.
    pub pod: String,
    pub inbound_port: Option<u16>,
    /// (Service port, lab port) of each outbound listener.
    pub outbound: Vec<(u16, u16)>,
    pub logs: LogFiles,
    pub process: EnvoyProcess,
}

impl Sidecar {
    /// The lab port of the outbound listener for a Service port.
    pub fn outbound_port(&self, service_port: u16) -> Option<u16> {
        self.outbound
            .iter()
            .find(|(p, _)| *p == service_port)
            .map(|(_, local)| *local)
    }
}
/// Everything one lab run started.
pub struct Fleet {
    pub sidecars: Vec<Sidecar>,
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
    pub async fn start(spec: &LabSpec, envoy: &Path) -> Result<Fleet, FleetError> {
        match Self::start_once(spec, envoy).await {
            Err(FleetError::Envoy(EnvoyError::NotReady { log_tail, .. }))
                if log_tail.contains("Address already in use") =>
            {
                Self::start_once(spec, envoy).await
            }
            other => other,
        }
    }

    async fn start_once(spec: &LabSpec, envoy: &Path) -> Result<Fleet, FleetError> {
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
        let mut sidecars = Vec::new();
        for slot in &slots {
            let s = slot.service;
            let Some(cert) = certs.iter().find(|c| c.spiffe_id == spec.spiffe_id(s)) else {
                continue;
            };
            let tls = TlsFiles {
                cert: cert.cert_file.clone(),
                key: cert.key_file.clone(),
                ca: ca.ca_file.clone(),
            };
            let app_port = apps
                .iter()
                .find(|a| a.control.service == s.name && a.control.instance == slot.instance)
                .map(|a| a.port);
            let plan = plan::sidecar_plan(spec, slot, &slots, tls, app_port, &logs_dir);
            let config = dir.path().join(format!("{}.json", plan.pod));
            let text = serde_json::to_vec_pretty(&bootstrap::bootstrap(&plan))
                .map_err(|e| FleetError::RunDir(std::io::Error::other(e)))?;
            std::fs::write(&config, text).map_err(FleetError::RunDir)?;
            let log = dir.path().join(format!("{}.envoy.log", plan.pod));
            let process = EnvoyProcess::spawn(envoy, &plan.pod, &config, plan.admin_port, &log)?;
            sidecars.push(Sidecar {
                service: s.name.clone(),
                instance: slot.instance,
                pod: plan.pod.clone(),
                inbound_port: plan.inbound.as_ref().map(|p| p.port),
                outbound: slot.outbound.clone(),
                logs: plan.logs.clone(),
                process,
            });
        }
        for s in &mut sidecars {
            s.process.wait_ready(Duration::from_secs(20)).await?;
        }
        for app in &apps {
            app.control
                .set_outbound(app_routes(spec, &sidecars, &app.control.service));
        }
        Ok(Fleet {
            sidecars,
            apps,
            spec: spec.clone(),
            ca,
            intruder,
            envoy: envoy.to_path_buf(),
            dir,
        })
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.sidecars.iter().map(|s| s.process.pid()).collect()
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
fn app_routes(spec: &LabSpec, sidecars: &[Sidecar], service: &str) -> Vec<(String, u16)> {
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
        if let Some(port) = sidecar.outbound_port(callee.port) {
            out.push((fqdn(callee), port));
            for alias in plan::aliases(caller, callee) {
                out.push((alias, port));
            }
        }
    }
    out
}
