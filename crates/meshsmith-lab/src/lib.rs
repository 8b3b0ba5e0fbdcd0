//! meshsmith-lab: mesh policy proven on real Envoy sidecars on 127.0.0.1.
//!
//! ```text
//!   Topology + MeshConfig ──from_mesh::spec_from_mesh──▶ LabSpec (the generated resources)
//!   LabSpec ──validate──▶ Fleet::start ──▶ scenario::run ──▶ LabReport
//!   (spec)                 certs (CA + SPIFFE)   allowed edge, 403,       (report)
//!                          apps (HTTP, gRPC)     STRICT / PERMISSIVE,
//!                          bootstrap ─▶ Envoy    timeout, retry, pool,
//!                          (named as Istio's)    ejection, dry run,
//!                                                hidden call
//!                          access logs (Istio's text and JSON, one per pod) ──▶ --logs DIR
//!   LabSpec ──▶ incident::replay ──▶ IncidentReport (old settings vs generated policy)
//!   LabSpec ──▶ istio_metrics::record ──▶ Prometheus answers of a window (for `gate`)
//! ```
//!
//! The only async crate of the workspace. It never prints: front ends pass a progress callback.
//! Every process it starts is owned by a `Fleet` and stopped when that is dropped, which covers
//! success, errors, panics and Ctrl-C (the blocking entry points race the run against Ctrl-C
//! and drop it).
#![forbid(unsafe_code)]

pub mod access_log;
pub mod app;
pub mod bootstrap;
pub mod certs;
pub mod client;
pub mod envoy;
pub mod fleet;
pub mod from_mesh;
pub mod incident;
pub mod istio_metrics;
pub mod istiod;
pub mod report;
pub mod scenario;
pub mod spec;

pub use access_log::LogFormat;
pub use envoy::{for_test as envoy_for_test, locate as locate_envoy, INSTALL_HINT};
pub use incident::IncidentReport;
pub use report::{assert_scenario, LabReport, Progress, ScenarioKind, ScenarioResult};
pub use spec::LabSpec;

use std::path::PathBuf;
use std::time::Instant;

/// Why a lab run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The spec is inconsistent.
    #[error("lab spec: {0}")]
    Spec(#[from] spec::SpecError),
    /// Envoy is missing or unusable.
    #[error(transparent)]
    Envoy(#[from] envoy::EnvoyError),
    /// Bringing up certificates, apps or sidecars failed.
    #[error(transparent)]
    Fleet(#[from] fleet::FleetError),
    /// The async runtime could not be built.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// `--incident` named a service the spec does not have, or one nobody calls.
    #[error("incident: {0}")]
    Incident(String),
    /// The sidecars' access logs could not be copied to the folder asked for.
    #[error("copying the access logs to {dir}: {source}")]
    Logs {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// Ctrl-C (or SIGTERM) arrived; everything started was stopped.
    #[error("interrupted; every Envoy and app was stopped")]
    Interrupted,
}

/// How to run the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub envoy: PathBuf,
    /// Which scenarios to run; all when empty.
    pub scenarios: Vec<ScenarioKind>,
    /// Copy every sidecar's access log here when the scenarios are done.
    pub logs: Option<(PathBuf, LogFormat)>,
    /// Configure the sidecars from istiod instead of the lab's own translation.
    pub istiod: Option<istiod::IstiodOptions>,
}

/// Run the scenarios against a fresh fleet.
pub async fn run(
    spec: &LabSpec,
    options: &LabOptions,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<LabReport, LabError> {
    spec.validate()?;
    let envoy_version = envoy::version(&options.envoy)?;
    let started = Instant::now();
    progress(&Progress::Starting {
        sidecars: sidecar_count(spec),
    });
    let fleet = fleet::Fleet::start(spec, &options.envoy, options.istiod.as_ref()).await?;
    let startup_ms = started.elapsed().as_millis() as u64;
    progress(&Progress::Ready {
        startup_ms,
        envoy_pids: fleet.pids(),
        run_dir: fleet.run_dir(),
    });
    let kinds = if options.scenarios.is_empty() {
        ScenarioKind::ALL.to_vec()
    } else {
        options.scenarios.clone()
    };
    let istiod_report = istiod_report(&fleet, spec).await;
    let results = scenario::run(&fleet, &kinds, progress).await;
    let access_logs = match &options.logs {
        Some((dir, format)) => {
            fleet
                .export_logs(dir, *format)
                .await
                .map_err(|source| LabError::Logs {
                    dir: dir.clone(),
                    source,
                })?
        }
        None => Vec::new(),
    };
    let envoy_pids = fleet.pids();
    let run_dir = fleet.run_dir();
    let sidecars = fleet.sidecars.len();
    drop(fleet);
    Ok(LabReport {
        envoy_version,
        sidecars,
        startup_ms,
        wall_ms: started.elapsed().as_millis() as u64,
        results,
        envoy_pids,
        run_dir,
        access_logs,
        control_plane: if istiod_report.is_some() {
            "istiod"
        } else {
            "meshsmith"
        }
        .into(),
        istiod: istiod_report,
    })
}

/// istiod's part of the report, with the translation diff made before any scenario runs.
async fn istiod_report(fleet: &fleet::Fleet, spec: &LabSpec) -> Option<report::IstiodReport> {
    let run = fleet.istiod.as_ref()?;
    let (differences, fields_compared, diff_error) = match istiod::translation_diff(fleet).await {
        Ok(fields) => {
            let n = fields.len();
            (
                fields.into_iter().filter(|f| f.differs()).collect(),
                n,
                None,
            )
        }
        Err(e) => (Vec::new(), 0, Some(e)),
    };
    Some(report::IstiodReport {
        version: run.version.clone(),
        startup_ms: run.startup_ms,
        given: run.written.generated.clone(),
        left_out: run.written.left_out.clone(),
        not_covered: istiod::not_covered(spec),
        fields_compared,
        differences,
        diff_error,
    })
}

fn sidecar_count(spec: &LabSpec) -> usize {
    let callees = spec.callees();
    spec.services
        .iter()
        .map(|s| {
            if callees.iter().any(|c| c.name == s.name) {
                s.instances as usize
            } else {
                usize::from(!spec.targets_of(&s.name).is_empty())
            }
        })
        .sum()
}

/// `run` on its own runtime, stopped cleanly by Ctrl-C.
pub fn run_blocking(
    spec: &LabSpec,
    options: &LabOptions,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<LabReport, LabError> {
    block_on_interruptible(run(spec, options, progress))
}

/// `incident::replay` on its own runtime, stopped cleanly by Ctrl-C.
pub fn incident_blocking(
    spec: &LabSpec,
    service: &str,
    old: &[from_mesh::OldHop],
    envoy: &std::path::Path,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<IncidentReport, LabError> {
    block_on_interruptible(incident::replay(spec, service, old, envoy, progress))
}

fn block_on_interruptible<T>(
    work: impl std::future::Future<Output = Result<T, LabError>>,
) -> Result<T, LabError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(LabError::Runtime)?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(LabError::Runtime)?;
        tokio::select! {
            result = work => result,
            // Dropping `work` drops its fleet, which kills and reaps every Envoy.
            _ = tokio::signal::ctrl_c() => Err(LabError::Interrupted),
            _ = terminate.recv() => Err(LabError::Interrupted),
        }
    })
}
