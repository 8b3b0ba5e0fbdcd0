//! What a lab run hands back: one row per scenario check with the measured figure next to the
//! expected one, and the progress events a front end may show while it runs. Plain data with
//! serde, so the binary renders text or JSON without the lab printing anything.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// The kinds of check the lab runs, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// Every edge of the graph answers 200 with the caller's identity.
    AllowedEdge,
    /// An identity no AuthorizationPolicy names gets 403.
    UnauthorizedIdentity,
    /// Plaintext to a STRICT inbound port is closed.
    StrictRejectsPlaintext,
    /// Plaintext to a webhook receiver's PERMISSIVE port is served.
    PermissiveAcceptsPlaintext,
    /// A slow callee is cut at the route timeout after the configured attempts.
    Timeout,
    /// Transient failures are retried to success (or, where retryOn excludes them, not retried).
    Retry,
    /// Requests beyond the connection pool get a fast 503.
    PoolOverflow,
    /// An instance that keeps failing is ejected after N consecutive 5xx.
    OutlierEjection,
    /// A dry-run AuthorizationPolicy enforces nothing and records what it would have denied.
    DryRun,
    /// A call the graph does not show (`--call`), made through the caller's sidecar.
    HiddenCall,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 10] = [
        ScenarioKind::AllowedEdge,
        ScenarioKind::UnauthorizedIdentity,
        ScenarioKind::StrictRejectsPlaintext,
        ScenarioKind::PermissiveAcceptsPlaintext,
        ScenarioKind::Timeout,
        ScenarioKind::Retry,
        ScenarioKind::PoolOverflow,
        ScenarioKind::OutlierEjection,
        ScenarioKind::DryRun,
        ScenarioKind::HiddenCall,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::AllowedEdge => "allowed-edge",
            ScenarioKind::UnauthorizedIdentity => "unauthorized-identity",
            ScenarioKind::StrictRejectsPlaintext => "strict-rejects-plaintext",
            ScenarioKind::PermissiveAcceptsPlaintext => "permissive-accepts-plaintext",
            ScenarioKind::Timeout => "timeout",
            ScenarioKind::Retry => "retry",
            ScenarioKind::PoolOverflow => "pool-overflow",
            ScenarioKind::OutlierEjection => "outlier-ejection",
            ScenarioKind::DryRun => "dry-run",
            ScenarioKind::HiddenCall => "hidden-call",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check on one subject (an edge or a service).
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: ScenarioKind,
    /// `caller -> callee` or a service name.
    pub subject: String,
    pub passed: bool,
    /// Nothing on the lab's services for this scenario to act on; `measured` says why.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_run: bool,
    pub expected: String,
    pub measured: String,
    /// When failed: what in the policy broke, in words.
    pub failure: Option<String>,
}

/// A whole scenario run.
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    pub envoy_version: String,
    pub sidecars: usize,
    pub startup_ms: u64,
    pub wall_ms: u64,
    pub results: Vec<ScenarioResult>,
    /// Process ids of the Envoys this run started (all stopped by the time the report exists).
    pub envoy_pids: Vec<u32>,
    /// The run folder (removed by the time the report exists).
    pub run_dir: PathBuf,
    /// Where each sidecar's access log was copied (`--logs`), one file per pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_logs: Vec<PathBuf>,
}

impl LabReport {
    pub fn passed(&self) -> bool {
        self.results.iter().any(|r| !r.not_run) && self.results.iter().all(|r| r.passed)
    }
}

/// What a front end may show while the lab runs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Sidecars and apps are being started.
    Starting { sidecars: usize },
    /// Everything answered ready; the processes and folder that will be cleaned up.
    Ready {
        startup_ms: u64,
        envoy_pids: Vec<u32>,
        run_dir: PathBuf,
    },
    /// A scenario is about to run on a subject.
    Running {
        scenario: ScenarioKind,
        subject: String,
    },
    /// A scenario finished.
    Finished(ScenarioResult),
    /// A step of the incident replay.
    Incident(String),
}
