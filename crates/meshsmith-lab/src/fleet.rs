//! Bringing a lab up and down: certificates, apps, sidecars, all on 127.0.0.1.
//!
//! In: a validated `LabSpec` and an Envoy binary. Out: a `Fleet` holding every process and task
//! it started plus the run folder. Dropping the fleet kills and reaps each Envoy, stops each app
//! and removes the folder; fields are ordered so processes go before the files they use.

use crate::app::{self, AppHandle};
use crate::bootstrap::{self, InboundPlan, OutboundPlan, OutboundRoute, SidecarPlan, TlsFiles};
use crate::certs::{CertError, LabCa, WorkloadCert};
use crate::envoy::{EnvoyError, EnvoyProcess};
use crate::spec::{LabSpec, ServiceSpec};
use std::net::TcpListener;
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
    pub inbound_port: Option<u16>,
    pub outbound_port: Option<u16>,
    pub process: EnvoyProcess,
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
        std::fs::create_dir(&certs_dir).map_err(FleetError::RunDir)?;
        let ca = LabCa::create(&certs_dir)?;
        let mut certs = Vec::new();
        for s in &spec.services {
            certs.push(ca.issue(&certs_dir, &s.name, &spec.spiffe_id(s))?);
        }
        let intruder_id = format!("spiffe://{}/ns/lab/sa/lab-intruder", spec.trust_domain);
        let intruder = ca.issue(&certs_dir, "lab-intruder", &intruder_id)?;

        let callees = spec.callees();
        let mut apps = Vec::new();
        for s in &callees {
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

        // Hold every picked port until all are picked so no two sidecars get the same one.
        let mut held = Vec::new();
        let mut pick = || -> Result<u16, FleetError> {
            let l = TcpListener::bind(("127.0.0.1", 0)).map_err(FleetError::PickPort)?;
            let port = l.local_addr().map_err(FleetError::PickPort)?.port();
            held.push(l);
            Ok(port)
        };
        let mut layout = Vec::new();
        for s in &spec.services {
            let is_callee = callees.iter().any(|c| c.name == s.name);
            let calls = !spec.callees_of(&s.name).is_empty();
            let instances = if is_callee { s.instances } else { 1 };
            for i in 0..instances {
                let inbound = if is_callee { Some(pick()?) } else { None };
                let outbound = if calls && i == 0 { Some(pick()?) } else { None };
                if inbound.is_some() || outbound.is_some() {
                    layout.push((s, i, pick()?, inbound, outbound));
                }
            }
        }
        drop(held);

        let mut plans = Vec::new();
        for (s, i, admin, inbound, outbound) in &layout {
            let cert = certs.iter().find(|c| c.spiffe_id == spec.spiffe_id(s));
            let Some(cert) = cert else { continue };
            let name = format!("{}-{i}", s.name);
            let tls = TlsFiles {
                cert: cert.cert_file.clone(),
                key: cert.key_file.clone(),
                ca: ca.ca_file.clone(),
            };
            let inbound = inbound.and_then(|port| {
                let app = apps
                    .iter()
                    .find(|a| a.control.service == s.name && a.control.instance == *i)?;
                Some(inbound_plan(s, port, app.port))
            });
            let outbound = outbound.map(|port| OutboundPlan {
                port,
                routes: routes(spec, s, &layout),
            });
            let plan = SidecarPlan {
                name: name.clone(),
                admin_port: *admin,
                tls,
                access_log: dir.path().join(format!("{name}.access.log")),
                inbound,
                outbound,
            };
            plans.push((s.name.clone(), *i, plan));
        }

        let mut sidecars = Vec::new();
        for (service, instance, plan) in plans {
            let config = dir.path().join(format!("{}.json", plan.name));
            let text = serde_json::to_vec_pretty(&bootstrap::bootstrap(&plan))
                .map_err(|e| FleetError::RunDir(std::io::Error::other(e)))?;
            std::fs::write(&config, text).map_err(FleetError::RunDir)?;
            let log = dir.path().join(format!("{}.log", plan.name));
            let process = EnvoyProcess::spawn(envoy, &plan.name, &config, plan.admin_port, &log)?;
            sidecars.push(Sidecar {
                service,
                instance,
                inbound_port: plan.inbound.as_ref().map(|p| p.port),
                outbound_port: plan.outbound.as_ref().map(|p| p.port),
                process,
            });
        }
        for s in &mut sidecars {
            s.process.wait_ready(Duration::from_secs(20)).await?;
        }
        for app in &apps {
            let outbound = sidecars
                .iter()
                .find(|s| s.service == app.control.service)
                .and_then(|s| s.outbound_port);
            if let Some(port) = outbound {
                app.control.set_outbound(port);
            }
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
        format!("outbound|{}||{}", bootstrap::SERVICE_PORT, fqdn(callee))
    }
}

pub fn fqdn(s: &ServiceSpec) -> String {
    format!("{}.{}.svc.cluster.local", s.name, s.namespace)
}

fn inbound_plan(s: &ServiceSpec, port: u16, app_port: u16) -> InboundPlan {
    InboundPlan {
        port,
        app_port,
        protocol: s.protocol,
        mtls: s.mtls,
        namespace: s.namespace.clone(),
        service: s.name.clone(),
        allowed_ids: s
            .allowed_principals
            .iter()
            .map(|p| format!("spiffe://{p}"))
            .collect(),
        allow_unauthenticated: s.allow_unauthenticated,
    }
}

type Layout<'a> = (&'a ServiceSpec, u32, u16, Option<u16>, Option<u16>);

fn routes(spec: &LabSpec, caller: &ServiceSpec, layout: &[Layout<'_>]) -> Vec<OutboundRoute> {
    spec.callees_of(&caller.name)
        .into_iter()
        .map(|callee| OutboundRoute {
            fqdn: fqdn(callee),
            aliases: vec![
                callee.name.clone(),
                format!("{}.{}", callee.name, callee.namespace),
            ],
            protocol: callee.protocol,
            callee_id: spec.spiffe_id(callee),
            endpoints: layout
                .iter()
                .filter(|(s, ..)| s.name == callee.name)
                .filter_map(|(.., inbound, _)| *inbound)
                .collect(),
            traffic: callee.traffic.clone(),
        })
        .collect()
}
