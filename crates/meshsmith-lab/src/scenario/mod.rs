//! The scenarios: each provokes one policy through real sidecars and judges it by Envoy's admin
//! counters (and, for attempts, by what the callee app counted; for dry-run results, by the
//! access log entry Envoy wrote), never by client error text.
//!
//! In: a running `Fleet` and the kinds to run. Out: one `ScenarioResult` per subject, with the
//! expected figure derived from the spec and the measured one from the run; a kind with nothing
//! to act on among the lab's services gives one `not_run` row that says why.

mod access;
mod connect_failure;
mod dry_run;
mod hidden_call;
mod limits;
mod resilience;

use crate::bootstrap;
use crate::client::{self, AppRequest, Reply};
use crate::envoy::Stats;
use crate::fleet::{fqdn, Fleet};
use crate::report::{Progress, ScenarioKind, ScenarioResult};
use crate::spec::{EdgeSpec, LabSpec, Protocol, ServiceSpec};
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};

/// Run `kinds` in the fixed order of `ScenarioKind::ALL`.
pub async fn run(
    fleet: &Fleet,
    kinds: &[ScenarioKind],
    progress: &dyn Fn(&Progress),
) -> Vec<ScenarioResult> {
    let mut results = Vec::new();
    for kind in ScenarioKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
        let ctx = Ctx {
            fleet,
            kind,
            progress,
        };
        let batch = match kind {
            ScenarioKind::AllowedEdge => access::allowed_edges(&ctx).await,
            ScenarioKind::UnauthorizedIdentity => access::unauthorized(&ctx).await,
            ScenarioKind::StrictRejectsPlaintext => access::strict(&ctx).await,
            ScenarioKind::PermissiveAcceptsPlaintext => access::permissive(&ctx).await,
            ScenarioKind::Timeout => resilience::timeouts(&ctx).await,
            ScenarioKind::Retry => {
                let mut retries = resilience::retries(&ctx).await;
                retries.extend(connect_failure::connect_failures(&ctx).await);
                retries
            }
            ScenarioKind::PoolOverflow => limits::pool_overflow(&ctx).await,
            ScenarioKind::OutlierEjection => limits::outlier_ejection(&ctx).await,
            ScenarioKind::DryRun => dry_run::dry_run(&ctx).await,
            ScenarioKind::HiddenCall => hidden_call::hidden_calls(&ctx).await,
        };
        results.extend(batch);
    }
    results
}

/// What every scenario needs: the fleet, its own kind, and where to report progress.
pub(crate) struct Ctx<'a> {
    pub fleet: &'a Fleet,
    pub kind: ScenarioKind,
    pub progress: &'a dyn Fn(&Progress),
}

impl Ctx<'_> {
    pub fn start(&self, subject: &str) {
        (self.progress)(&Progress::Running {
            scenario: self.kind,
            subject: subject.to_string(),
        });
    }

    /// Record the outcome; `failure` is `None` when the check passed.
    pub fn finish(
        &self,
        subject: &str,
        expected: String,
        measured: String,
        failure: Option<String>,
    ) -> ScenarioResult {
        let result = ScenarioResult {
            scenario: self.kind,
            subject: subject.to_string(),
            passed: failure.is_none(),
            not_run: false,
            expected,
            measured,
            failure,
        };
        (self.progress)(&Progress::Finished(result.clone()));
        result
    }

    /// A check that could not even be measured (an admin read failed, no sidecar...).
    pub fn broken(&self, subject: &str, expected: String, why: String) -> ScenarioResult {
        self.finish(subject, expected, "not measured".into(), Some(why))
    }

    /// A check with nothing to act on among the lab's services: one row that says why.
    pub fn not_run(&self, subject: &str, expected: &str, why: String) -> ScenarioResult {
        let result = ScenarioResult {
            scenario: self.kind,
            subject: subject.to_string(),
            passed: true,
            not_run: true,
            expected: expected.to_string(),
            measured: format!("not run: {why}"),
            failure: None,
        };
        (self.progress)(&Progress::Finished(result.clone()));
        result
    }

    /// A fleet of its own for one hop, `caller` to `callee` (as given: a scenario may change
    /// the callee's instances), on the same Envoy and control plane as this one, so what the
    /// scenario does to it never disturbs the main fleet.
    pub async fn hop_fleet(
        &self,
        caller: &ServiceSpec,
        callee: ServiceSpec,
    ) -> Result<Fleet, String> {
        let spec = LabSpec {
            trust_domain: self.fleet.spec.trust_domain.clone(),
            edges: vec![EdgeSpec {
                from: caller.name.clone(),
                to: callee.name.clone(),
            }],
            services: vec![caller.clone(), callee],
            calls: Vec::new(),
        };
        Fleet::start(&spec, &self.fleet.envoy, self.fleet.istiod_options.as_ref())
            .await
            .map_err(|e| e.to_string())
    }

    /// The first caller of `callee` in edge order, if any.
    pub fn first_caller(&self, callee: &ServiceSpec) -> Option<&ServiceSpec> {
        let spec = &self.fleet.spec;
        spec.edges
            .iter()
            .find(|e| e.to == callee.name)
            .and_then(|e| spec.service(&e.from))
    }

    /// Send an app request from `caller` (through its sidecar) to `callee`.
    pub async fn call(
        &self,
        caller: &ServiceSpec,
        callee: &ServiceSpec,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Reply, String> {
        let (addr, req) = self.request(caller, callee, headers)?;
        client::send(addr, &req).await
    }

    /// The outbound listener of `caller` and the request its app would send to `callee`.
    pub fn request(
        &self,
        caller: &ServiceSpec,
        callee: &ServiceSpec,
        headers: Vec<(&'static str, String)>,
    ) -> Result<(SocketAddrV4, AppRequest), String> {
        let addr = self
            .fleet
            .sidecar(&caller.name, 0)
            .and_then(|s| s.outbound_addr(callee.port))
            .ok_or_else(|| {
                format!(
                    "{} has no outbound listener for port {}",
                    caller.name, callee.port
                )
            })?;
        Ok((
            addr,
            AppRequest {
                host: fqdn(callee),
                grpc: callee.protocol == Protocol::Grpc,
                headers,
            },
        ))
    }

    /// One successful request per callee instance, so each host's consecutive-error count left
    /// by an earlier scenario is reset and cannot tip the next one into an ejection.
    pub async fn settle(&self, caller: &ServiceSpec, callee: &ServiceSpec) {
        for _ in 0..callee.instances {
            let _ = self.call(caller, callee, Vec::new()).await;
        }
    }

    /// Counters of the caller's cluster for `callee`, read from the caller's sidecar.
    pub async fn cluster_stats(
        &self,
        caller: &ServiceSpec,
        callee: &ServiceSpec,
    ) -> Result<Stats, String> {
        let sidecar = self
            .fleet
            .sidecar(&caller.name, 0)
            .ok_or("caller has no sidecar")?;
        let filter = format!(
            "^cluster\\.{}\\.",
            regex_escape(&self.fleet.cluster_of(callee))
        );
        sidecar
            .process
            .stats(&filter)
            .await
            .map_err(|e| e.to_string())
    }

    /// Counters matching `filter`, summed over every instance of `service`.
    pub async fn service_stats(&self, service: &str, filter: &str) -> Result<Stats, String> {
        let mut total = Stats::default();
        for s in self.fleet.sidecars.iter().filter(|s| s.service == service) {
            let one = s.process.stats(filter).await.map_err(|e| e.to_string())?;
            for (k, v) in one.0 {
                *total.0.entry(k).or_insert(0) += v;
            }
        }
        Ok(total)
    }
}

/// The RBAC counters of a callee's inbound side: enforced (`rbac.allowed|denied`) and, for a
/// dry-run policy, shadow (`rbac.istio_dry_run_allow_.shadow_allowed|shadow_denied`).
pub(crate) struct RbacCounters {
    prefix: String,
}

impl RbacCounters {
    pub fn of(callee: &ServiceSpec) -> Self {
        RbacCounters {
            prefix: format!(
                "http.{}.rbac.",
                bootstrap::inbound_stat_prefix(callee.target_port())
            ),
        }
    }

    /// An admin filter for every RBAC counter of the callee.
    pub fn filter(&self) -> String {
        format!("^{}", regex_escape(&self.prefix))
    }

    pub fn allowed(&self) -> String {
        format!("{}allowed", self.prefix)
    }

    pub fn denied(&self) -> String {
        format!("{}denied", self.prefix)
    }

    pub fn shadow_allowed(&self) -> String {
        format!(
            "{}{}.shadow_allowed",
            self.prefix,
            bootstrap::DRY_RUN_ALLOW_PREFIX
        )
    }

    pub fn shadow_denied(&self) -> String {
        format!(
            "{}{}.shadow_denied",
            self.prefix,
            bootstrap::DRY_RUN_ALLOW_PREFIX
        )
    }

    /// (allowed, denied, shadow allowed, shadow denied) grown between two snapshots.
    pub fn deltas(&self, before: &Stats, after: &Stats) -> [u64; 4] {
        [
            after.delta(before, &self.allowed()),
            after.delta(before, &self.denied()),
            after.delta(before, &self.shadow_allowed()),
            after.delta(before, &self.shadow_denied()),
        ]
    }
}

/// The full counter name of a caller-side cluster stat.
pub(crate) fn cluster_stat(fleet: &Fleet, callee: &ServiceSpec, stat: &str) -> String {
    format!("cluster.{}.{stat}", fleet.cluster_of(callee))
}

/// A fresh `x-lab-probe` id, unique within the process.
pub(crate) fn probe_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("probe-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(crate) use crate::envoy::regex_escape;

pub(crate) fn secs(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// A short description of a reply for the measured column.
pub(crate) fn describe(reply: &Reply) -> String {
    match reply.grpc_status {
        Some(g) if reply.status == 200 => format!("grpc-status {g}"),
        _ => format!("HTTP {}", reply.status),
    }
}
