//! What a lab run hands back: one row per scenario check with the measured figure next to the
//! expected one, and the progress events a front end may show while it runs. Plain data with
//! serde, so the binary renders text or JSON without the lab printing anything (and a saved JSON
//! report reads back). A result's `Display` is the whole result in words, which is what
//! `assert_scenario` shows when a test's check on it fails.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The kinds of check the lab runs, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: ScenarioKind,
    /// `caller -> callee` or a service name.
    pub subject: String,
    pub passed: bool,
    /// Nothing on the lab's services for this scenario to act on; `measured` says why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_run: bool,
    pub expected: String,
    pub measured: String,
    /// When failed: what in the policy broke, in words.
    pub failure: Option<String>,
}

/// A whole scenario run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabReport {
    pub envoy_version: String,
    pub sidecars: usize,
    pub startup_ms: u64,
    pub wall_ms: u64,
    pub results: Vec<ScenarioResult>,
    /// Process ids of the Envoys (and istiod) this run started, all stopped by the time the
    /// report exists.
    pub envoy_pids: Vec<u32>,
    /// The run folder (removed by the time the report exists).
    pub run_dir: PathBuf,
    /// Where each sidecar's access log was copied (`--logs`), one file per pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_logs: Vec<PathBuf>,
    /// Who translated the generated policy into the sidecars' configuration: `meshsmith` or
    /// `istiod`.
    #[serde(default = "meshsmith")]
    pub control_plane: String,
    /// istiod's run, when it configured the sidecars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod: Option<IstiodReport>,
}

fn meshsmith() -> String {
    "meshsmith".into()
}

/// istiod's part of a run: what it was given, how long it took to start, what the run could
/// not cover, and where its translation differs from meshsmith's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IstiodReport {
    /// `pilot-discovery version -s`.
    pub version: String,
    /// From starting istiod to its readiness.
    pub startup_ms: u64,
    /// The generated resources given to istiod.
    pub given: Vec<String>,
    /// Generated resources kept from istiod, each with why.
    pub left_out: Vec<String>,
    /// What the scenarios could not cover on istiod, each with why.
    pub not_covered: Vec<String>,
    /// Fields compared between istiod's translation and meshsmith's.
    pub fields_compared: usize,
    /// The compared fields where they differ.
    pub differences: Vec<crate::istiod::diff::Field>,
    /// Why the comparison could not be made, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_error: Option<String>,
}

impl ScenarioResult {
    /// `PASS`, `FAIL` or `SKIP` (nothing to act on).
    pub fn verdict(&self) -> &'static str {
        match (self.not_run, self.passed) {
            (true, _) => "SKIP",
            (false, true) => "PASS",
            (false, false) => "FAIL",
        }
    }
}

/// The whole result, one field a line: what a person needs to see why a check went as it did.
impl fmt::Display for ScenarioResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} on {}",
            self.verdict(),
            self.scenario,
            self.subject
        )?;
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  measured: {}", self.measured)?;
        if let Some(why) = &self.failure {
            write!(f, "\n  failure:  {why}")?;
        }
        Ok(())
    }
}

/// For test suites: panics unless `holds`, with `what` was checked, the scenario's name and
/// subject, and its whole result, so a failure reads without a rerun.
#[track_caller]
pub fn assert_scenario(result: &ScenarioResult, holds: bool, what: &str) {
    assert!(
        holds,
        "scenario {} on {}: {what}\n{result}",
        result.scenario, result.subject
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_retry() -> ScenarioResult {
        ScenarioResult {
            scenario: ScenarioKind::Retry,
            subject: "order-service -> user-service".into(),
            passed: false,
            not_run: false,
            expected: "success after 3 attempts; retry +2".into(),
            measured: "grpc-status 14 after 1 attempt(s) at callee; retry +0".into(),
            failure: Some("retryOn does not cover unavailable".into()),
        }
    }

    #[test]
    fn a_failed_check_names_the_scenario_and_prints_the_whole_result() {
        let r = failed_retry();
        let panic = std::panic::catch_unwind(|| assert_scenario(&r, r.passed, "passes"))
            .expect_err("the check fails");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.starts_with("scenario retry on order-service -> user-service: passes\n"),
            "{message}"
        );
        for part in [
            "FAIL retry on order-service -> user-service",
            "expected: success after 3 attempts; retry +2",
            "measured: grpc-status 14 after 1 attempt(s) at callee; retry +0",
            "failure:  retryOn does not cover unavailable",
        ] {
            assert!(message.contains(part), "{part}:\n{message}");
        }
        // A check that holds says nothing.
        assert_scenario(&r, !r.passed, "fails");
    }

    #[test]
    fn a_result_reads_back_from_its_json() {
        let r = failed_retry();
        let json = serde_json::to_string(&r).unwrap_or_default();
        let back: ScenarioResult = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back.to_string(), r.to_string());
        assert_eq!(back.verdict(), "FAIL");
    }
}
