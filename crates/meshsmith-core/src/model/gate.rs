//! The verdict on a phase's monitoring window: the thresholds it is judged by (policy file,
//! `rollout.gate:`), the figures measured per service and per caller, and the verdict.
//!
//! ```text
//!  Plan phase + MetricSet (baseline) + MetricSet (window) + GateThresholds
//!      ──gate::gate──▶ GateReport (rows: service or caller -> service, figures, verdict)
//! ```

use super::QualifiedName;
use serde::Serialize;

/// When a window is judged too thin or too bad. Every field has a default with its reason
/// ([`GateThresholds::reasons`]); `rollout.gate:` in the policy file sets any of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateThresholds {
    /// Fewer requests than this to a service in the window (or the baseline): hold.
    pub min_requests: u64,
    /// The error rate rolls back when it rises by more than this many percentage points...
    pub error_rate_points: f64,
    /// ...and to more than this many times the baseline's.
    pub error_rate_factor: f64,
    /// p99 latency rolls back when it grows to more than this many times the baseline's...
    pub p99_factor: f64,
    /// ...and by more than this many milliseconds.
    pub p99_added_ms: f64,
    /// 403s (what an enforced AuthorizationPolicy's `rbac_access_denied` looks like in
    /// Istio's metrics) allowed on an edge of the graph in the window beyond the baseline's
    /// share of 403s.
    pub denials: u64,
    /// Requests a dry-run policy would have denied, allowed in the window.
    pub dry_run_denials: u64,
    /// Plaintext connections refused (by STRICT) allowed in the window.
    pub plaintext_refusals: u64,
    /// Outlier ejections allowed in the window beyond the baseline's count.
    pub outlier_ejections: u64,
}

// The policy parser admits finite numbers only, so equality is total.
impl Eq for GateThresholds {}

impl Default for GateThresholds {
    fn default() -> Self {
        GateThresholds {
            min_requests: 100,
            error_rate_points: 1.0,
            error_rate_factor: 2.0,
            p99_factor: 1.5,
            p99_added_ms: 50.0,
            denials: 0,
            dry_run_denials: 0,
            plaintext_refusals: 0,
            outlier_ejections: 0,
        }
    }
}

impl GateThresholds {
    /// Each key of `rollout.gate:` with the reason for its default, as `init` writes them.
    pub fn reasons() -> [(&'static str, &'static str); 9] {
        [
            ("minRequests", "below about 100 requests one failure moves the error rate by a whole point: a rate cannot be told from noise"),
            ("errorRatePoints", "an added point of errors is what users notice; smaller moves are noise"),
            ("errorRateFactor", "and twice the baseline: a service that always fails a little is judged by its own level"),
            ("p99Factor", "half again the slowest requests' time is a change in behaviour, not jitter"),
            ("p99AddedMs", "and 50 ms more: fast services double their p99 with a garbage collection"),
            ("denials", "any request an enforced policy refuses on an edge of the graph is a caller cut off"),
            ("dryRunDenials", "a dry-run denial is a caller the enforced policy would refuse"),
            ("plaintextRefusals", "a refused plaintext connection is a caller STRICT cut off"),
            ("outlierEjections", "an ejection the baseline did not have is an instance the new circuit breaker took out"),
        ]
    }
}

/// What the gate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Proceed,
    /// Too little traffic to judge.
    Hold,
    RollBack,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proceed => "proceed",
            Self::Hold => "hold",
            Self::RollBack => "roll back",
        }
    }
}

/// What one side (baseline or window) measured for a service or an edge.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub requests: f64,
    /// Requests per second over the period.
    pub request_rate: f64,
    /// 5xx, and gRPC calls whose status is not OK.
    pub errors: f64,
    /// Percent of requests; `None` without requests.
    pub error_rate: Option<f64>,
    /// From the duration histogram's buckets, as `histogram_quantile` computes them.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub tcp_connections: f64,
    /// TCP connections closed with a response flag (refused, reset, timed out upstream).
    pub tcp_failures: f64,
    pub outlier_ejections: f64,
    pub dry_run_denials: f64,
    /// 403s on edges of the graph: Istio's metrics do not tell a policy's
    /// `rbac_access_denied` from an application's own 403.
    pub denials: f64,
    /// Connections the service's inbound listener refused for want of TLS.
    pub plaintext_refusals: f64,
}

/// One threshold crossed (or the reason for a hold): which figure, its window and baseline
/// values, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateReason {
    /// `error-rate`, `p99`, `tcp-failures`, `denials`, `dry-run-denials`,
    /// `plaintext-refusals`, `outlier-ejections`, `traffic`.
    pub figure: &'static str,
    pub window: String,
    pub baseline: String,
    pub rule: String,
}

/// A service of the phase (all its callers together), or one caller's calls to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRow {
    pub service: QualifiedName,
    /// `None`: every caller together; else the caller (`name.namespace`, or `unknown`).
    pub caller: Option<String>,
    /// How the phase touched the service: `onboarded`, `locked down`, or both.
    pub change: String,
    pub baseline: Figures,
    pub window: Figures,
    pub verdict: Verdict,
    pub reasons: Vec<GateReason>,
}

/// The gate's answer for one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateReport {
    pub phase: u32,
    pub title: String,
    /// The monitoring window the rates are computed over, e.g. `4h`.
    pub window: String,
    pub verdict: Verdict,
    pub rows: Vec<GateRow>,
    /// The phase's rollback commands in the order to run them (last step first); empty
    /// unless the verdict is roll back.
    pub rollback: Vec<String>,
    /// Metric families absent from the files (counted as none), and other remarks.
    pub notes: Vec<String>,
    pub thresholds: GateThresholds,
}
