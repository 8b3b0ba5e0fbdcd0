//! Text for `meshsmith lab`, for people, every line at most 100 columns: the services under
//! test and the policy each carries (a table, details under its row), the scenario results
//! grouped by scenario (a verdict and subject a row, the expected and measured figures under
//! it), the summary, the incident comparison with its verdict (`incident.rs`), and one progress
//! line per scenario for standard error. Colour only where the caller says the output is a
//! terminal and `NO_COLOR` is unset.

mod incident;
mod layout;
#[cfg(test)]
mod tests;

pub use incident::incident;

use layout::{hanging, Table};
use meshsmith_lab::spec::{MtlsMode, Protocol, ServiceSpec};
use meshsmith_lab::{LabReport, LabSpec, Progress, ScenarioKind, ScenarioResult};
use std::fmt::Write;
use std::sync::Mutex;

/// Whether to colour output going to a stream: a terminal, and no `NO_COLOR` (set and not empty).
pub fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn verdict(r: &ScenarioResult, colour: bool) -> String {
    let code = match r.verdict() {
        "PASS" => "32",
        "FAIL" => "31;1",
        _ => "33",
    };
    paint(r.verdict(), code, colour)
}

/// What a scenario proves, in a few plain words.
pub fn about(kind: ScenarioKind) -> &'static str {
    match kind {
        ScenarioKind::AllowedEdge => "every edge answers, with the caller's identity",
        ScenarioKind::UnauthorizedIdentity => "an identity no AuthorizationPolicy names gets 403",
        ScenarioKind::StrictRejectsPlaintext => "plain text to a STRICT port is refused",
        ScenarioKind::PermissiveAcceptsPlaintext => "plain text to a PERMISSIVE port is served",
        ScenarioKind::Timeout => "a slow callee is cut at the configured timeout",
        ScenarioKind::Retry => "failures are retried as configured, and only those",
        ScenarioKind::PoolOverflow => "requests beyond the connection pool get a fast 503",
        ScenarioKind::OutlierEjection => "an instance that keeps failing is ejected",
        ScenarioKind::DryRun => "a dry-run AuthorizationPolicy records denials, enforces nothing",
        ScenarioKind::HiddenCall => "a call the graph does not show, through the caller's sidecar",
    }
}

/// Progress for standard error: one line when the fleet starts, one when it is ready, one as
/// each scenario begins, one per step of the incident replay.
pub struct ProgressLines {
    /// How many scenarios the run has.
    total: usize,
    announced: Mutex<Vec<ScenarioKind>>,
}

impl ProgressLines {
    pub fn new(total: usize) -> Self {
        ProgressLines {
            total,
            announced: Mutex::new(Vec::new()),
        }
    }

    /// The line to print for `p`, if any.
    pub fn line(&self, p: &Progress) -> Option<String> {
        let kind = match p {
            Progress::Starting { sidecars } => {
                return Some(format!(
                    "lab: starting {sidecars} Envoy sidecars and their test apps"
                ))
            }
            Progress::Ready { startup_ms, .. } => {
                return Some(format!("lab: all ready in {startup_ms} ms"))
            }
            Progress::Incident(step) => return Some(format!("lab: incident replay {step}")),
            Progress::Running { scenario, .. } => *scenario,
            Progress::Finished(r) => r.scenario,
        };
        let mut announced = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        if announced.contains(&kind) {
            return None;
        }
        announced.push(kind);
        Some(format!(
            "lab: scenario {}/{} {kind}: {}",
            announced.len(),
            self.total,
            about(kind)
        ))
    }
}

fn seconds(ms: u64) -> String {
    let whole = format!("{}.{:03}", ms / 1000, ms % 1000);
    format!("{} s", whole.trim_end_matches('0').trim_end_matches('.'))
}

fn retries(s: &ServiceSpec) -> String {
    let r = &s.traffic.retries;
    match (r.attempts, r.per_try_timeout_ms) {
        (0, _) => "none".into(),
        (n, 0) => n.to_string(),
        (n, per_try) => format!("{n}, {} per try", seconds(per_try)),
    }
}

fn callers(s: &ServiceSpec) -> String {
    let ids = match s.allowed_principals.len() {
        0 => "none".to_string(),
        1 => "1 identity".to_string(),
        n => format!("{n} identities"),
    };
    match (s.allow_unauthenticated, s.allowed_principals.is_empty()) {
        (true, true) => "plain text only".into(),
        (true, false) => format!("{ids} + plain text"),
        (false, _) => ids,
    }
}

/// Pool and ejection of a service, in words.
fn limits(s: &ServiceSpec) -> String {
    let t = &s.traffic;
    let pool = t
        .connection_pool
        .as_ref()
        .map_or("no pool limits".into(), |p| {
            format!(
                "pool {} connections / {} pending / {} requests",
                p.max_connections, p.max_pending_requests, p.max_requests
            )
        });
    let eject = t
        .outlier_detection
        .as_ref()
        .map_or("no ejection".into(), |o| {
            format!("ejected after {} consecutive 5xx", o.consecutive_5xx)
        });
    format!("{pool}; {eject}")
}

/// The services under test and the policy each carries, as the lab received it.
pub fn services(spec: &LabSpec) -> String {
    let mut table = Table::new(&[
        "service",
        "protocol",
        "mTLS",
        "pods",
        "timeout",
        "retries",
        "callers allowed",
    ])
    .right(3);
    let shared = spec
        .services
        .first()
        .map(limits)
        .filter(|l| spec.services.iter().all(|s| &limits(s) == l));
    for s in &spec.services {
        let timeout = match s.traffic.timeout_ms {
            0 => "none".to_string(),
            ms => seconds(ms),
        };
        table.row(vec![
            format!("{}.{}", s.name, s.namespace),
            match s.protocol {
                Protocol::Http => "HTTP".into(),
                Protocol::Grpc => "gRPC".into(),
            },
            match s.mtls {
                MtlsMode::Strict => "STRICT".into(),
                MtlsMode::Permissive => "PERMISSIVE".into(),
            },
            s.instances.to_string(),
            timeout,
            retries(s),
            callers(s),
        ]);
        if s.traffic.retries.attempts > 0 {
            let on = s.traffic.retries.retry_on.join(", ");
            table.detail(format!("retried on {on}"));
        }
        if shared.is_none() {
            table.detail(limits(s));
        }
        if s.dry_run {
            table.detail("AuthorizationPolicy in dry run: denials recorded, not enforced".into());
        }
    }
    let mut out = String::from("services under test, with the policy calls to each one get\n");
    out.push_str(&table.render(2));
    if let Some(limits) = shared {
        hanging(&mut out, "  ", &format!("every service: {limits}"));
    }
    let edges: Vec<String> = spec
        .edges
        .iter()
        .map(|e| format!("{} -> {}", e.from, e.to))
        .collect();
    hanging(&mut out, "edges: ", &edges.join(", "));
    if !spec.calls.is_empty() {
        let calls: Vec<String> = spec
            .calls
            .iter()
            .map(|c| {
                let how = if c.imported {
                    "in its sidecar's configuration"
                } else {
                    "not imported by its Sidecar: PassthroughCluster"
                };
                format!("{} -> {} ({how})", c.from, c.to)
            })
            .collect();
        hanging(
            &mut out,
            "calls the graph does not show: ",
            &calls.join(", "),
        );
    }
    out.push('\n');
    out
}

/// Lead of the lines under a result's row.
const EXPECTED: &str = "        expected  ";
const MEASURED: &str = "        measured  ";
const WHY: &str = "        why       ";

/// The results grouped by scenario, then the summary.
pub fn report(r: &LabReport, colour: bool) -> String {
    let mut out = String::new();
    let mut last = None;
    for result in &r.results {
        if last != Some(result.scenario) {
            if last.is_some() {
                out.push('\n');
            }
            hanging(
                &mut out,
                "",
                &format!("{}: {}", result.scenario, about(result.scenario)),
            );
            last = Some(result.scenario);
        }
        hanging(
            &mut out,
            &format!("  {}  ", verdict(result, colour)),
            &result.subject,
        );
        hanging(&mut out, EXPECTED, &result.expected);
        hanging(&mut out, MEASURED, &result.measured);
        if let Some(why) = &result.failure {
            hanging(&mut out, WHY, why);
        }
    }
    summary(&mut out, r);
    out
}

/// Which control plane translated the policy, and where istiod's translation differs.
fn istiod_summary(out: &mut String, i: &meshsmith_lab::report::IstiodReport) {
    hanging(
        out,
        "",
        &format!(
            "policy translated by istiod {} (pilot-discovery in file mode on 127.0.0.1), ready in {} ms; {} generated resources given to it",
            i.version,
            i.startup_ms,
            i.given.len()
        ),
    );
    for l in &i.left_out {
        hanging(out, "  left out: ", l);
    }
    for n in &i.not_covered {
        hanging(out, "  not covered: ", n);
    }
    match &i.diff_error {
        Some(e) => hanging(out, "", &format!("translation diff: not made: {e}")),
        None => hanging(
            out,
            "",
            &format!(
                "translation diff (istiod vs meshsmith): {} fields compared, {} differ ({} of them as expected)",
                i.fields_compared,
                i.differences.len(),
                i.differences.iter().filter(|d| d.explained.is_some()).count()
            ),
        ),
    }
    for d in &i.differences {
        let why = d
            .explained
            .as_ref()
            .map_or(String::new(), |e| format!(" (expected: {e})"));
        hanging(
            out,
            "  ",
            &format!(
                "{} {} {}: meshsmith {}, istiod {}{why}",
                d.pod, d.subject, d.field, d.meshsmith, d.istiod
            ),
        );
    }
}

fn summary(out: &mut String, r: &LabReport) {
    let not_run = r.results.iter().filter(|x| x.not_run).count();
    let passed = r.results.iter().filter(|x| x.passed && !x.not_run).count();
    let failed = r.results.len() - passed - not_run;
    let not_run = match not_run {
        0 => String::new(),
        n => format!(", {n} not run"),
    };
    let _ = writeln!(
        out,
        "\n{passed} passed, {failed} failed{not_run}; wall time {:.1} s",
        r.wall_ms as f64 / 1000.0
    );
    // Envoy reports `<commit>/<version>/<status>/<build>/<TLS>`: the version is what matters.
    let version = r
        .envoy_version
        .split('/')
        .nth(1)
        .unwrap_or(&r.envoy_version);
    hanging(
        out,
        "",
        &format!(
            "{} sidecars (Envoy {version}) up in {} ms",
            r.sidecars, r.startup_ms
        ),
    );
    if let Some(istiod) = &r.istiod {
        istiod_summary(out, istiod);
    }
    if let Some(first) = r.access_logs.first() {
        let dir = first
            .parent()
            .map_or(String::new(), |d| d.display().to_string());
        hanging(
            out,
            "",
            &format!(
                "access logs of {} sidecars (one per pod) written to {dir}",
                r.access_logs.len()
            ),
        );
    }
}
