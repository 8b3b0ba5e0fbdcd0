//! The monitoring window judged on real Envoy. The manifests of `lab-hidden-edge` (web -> api,
//! ledger) are planned as `meshsmith plan` plans them: phase 2 onboards api with its
//! VirtualService, phase 4 locks it down (STRICT, enforced AuthorizationPolicy). The lab
//! records a baseline window of steady traffic web -> api under the generated configuration,
//! then a window after each bad change a person could make, then one after the rollback; the
//! gate reads the Prometheus answers the lab derives from its sidecars (Istio's standard
//! metrics, see `meshsmith_lab::istio_metrics`):
//! - api's route timeout cut to 10 ms while api takes 120 ms: phase 2 rolls back on api's error
//!   rate, with phase 2's rollback commands;
//! - api's AuthorizationPolicy without web's principal: phase 4 rolls back on denials on the
//!   edge web -> api;
//! - the generated configuration again: both phases proceed.

mod common;

use common::{envoy_or_skip, serial};
use meshsmith_core::gate::{gate, GateInput};
use meshsmith_core::generate::{generate, GenerateOptions};
use meshsmith_core::load::traffic::read_metrics;
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::model::{
    GateReport, GateThresholds, Kind, MeshConfig, MetricSet, Plan, Spec, Topology, Verdict,
};
use meshsmith_core::plan::{plan, PlanSettings};
use meshsmith_core::policy::Policy;
use meshsmith_lab::from_mesh::spec_from_mesh;
use meshsmith_lab::istio_metrics::{record_blocking, WindowTraffic};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../meshsmith/tests/fixtures/lab-hidden-edge"
);
/// Enough requests for the gate to judge rates (its default minimum is 100).
const REQUESTS: u32 = 110;
/// What api takes for every request: inside Istio's (100, 250] ms bucket with room to spare,
/// so a loaded machine's jitter leaves every duration in that bucket and the p99 computed
/// from the buckets is the same in every window (a quantile is exact only to its bucket).
const API_DELAY_MS: u64 = 120;

fn pipeline() -> (Topology, MeshConfig, Plan, String) {
    let loaded = load(&[Input::parse(FIXTURE)], &Limits::default()).expect("fixture loads");
    let inventory = meshsmith_core::inventory::inventory(&loaded.objects, "default");
    let topology = meshsmith_core::infer::infer(&inventory);
    let policy = Policy::default();
    let mesh = generate(&topology, &policy, &GenerateOptions::default());
    let plan = plan(&topology, &mesh, &PlanSettings::from_policy(&policy));
    (topology, mesh, plan, policy.trust_domain)
}

/// Records one window of the configuration `mesh` into `dir`.
fn window(envoy: &Path, topology: &Topology, mesh: &MeshConfig, td: &str, dir: &Path) -> MetricSet {
    let services = vec!["web".to_string(), "api".to_string()];
    let spec = spec_from_mesh(topology, mesh, &services, &[], td).expect("spec");
    let traffic = WindowTraffic {
        requests_per_edge: REQUESTS,
        delay_ms: BTreeMap::from([("api".to_string(), API_DELAY_MS)]),
    };
    let record = record_blocking(&spec, envoy, &traffic, dir).expect("window recorded");
    assert_eq!(record.edges.len(), 1, "{:?}", record.edges);
    read_metrics(&[Input::Path(dir.to_path_buf())], &Limits::default()).expect("answers read")
}

fn judge(plan: &Plan, phase: u32, baseline: &MetricSet, metrics: &MetricSet) -> GateReport {
    let phase = plan
        .phases
        .iter()
        .find(|p| p.number == phase)
        .expect("phase");
    gate(&GateInput {
        phase,
        window: &plan.window,
        window_secs: 4.0 * 3600.0,
        baseline,
        metrics,
        thresholds: &GateThresholds::default(),
    })
    .expect("every metric the gate needs is there")
}

fn api_row(report: &GateReport) -> &meshsmith_core::model::GateRow {
    report
        .rows
        .iter()
        .find(|r| r.service.name == "api" && r.caller.is_none())
        .unwrap_or_else(|| panic!("no api row: {report:#?}"))
}

fn rollback_of(plan: &Plan, phase: u32) -> Vec<String> {
    let phase = plan
        .phases
        .iter()
        .find(|p| p.number == phase)
        .expect("phase");
    phase
        .steps
        .iter()
        .rev()
        .flat_map(|s| s.rollback.commands.clone())
        .collect()
}

fn with_short_timeout(mesh: &MeshConfig) -> MeshConfig {
    let mut bad = mesh.clone();
    let mut edited = 0;
    for r in &mut bad.resources {
        if let (Kind::VirtualService, "api", Spec::VirtualService(vs)) =
            (r.kind, r.name.as_str(), &mut r.spec)
        {
            for route in &mut vs.http {
                route.timeout = Some("10ms".into());
                if let Some(retries) = &mut route.retries {
                    retries.per_try_timeout = Some("10ms".into());
                }
                edited += 1;
            }
        }
    }
    assert!(edited > 0, "api has a VirtualService route");
    bad
}

fn without_web(mesh: &MeshConfig) -> MeshConfig {
    let mut bad = mesh.clone();
    let mut dropped = 0;
    for r in &mut bad.resources {
        if let (Kind::AuthorizationPolicy, "api", Spec::AuthorizationPolicy(ap)) =
            (r.kind, r.name.as_str(), &mut r.spec)
        {
            for rule in &mut ap.rules {
                for from in &mut rule.from {
                    let before = from.source.principals.len();
                    from.source.principals.retain(|p| !p.ends_with("/sa/web"));
                    dropped += before - from.source.principals.len();
                }
            }
            // A rule left without a principal is gone, as a person deleting the caller
            // would leave it; a policy without rules admits nobody.
            ap.rules
                .retain(|rule| rule.from.iter().any(|f| !f.source.principals.is_empty()));
        }
    }
    assert_eq!(dropped, 1, "api's policy admitted web once");
    bad
}

#[test]
fn the_gate_rolls_back_a_bad_change_on_real_envoy_and_proceeds_after_the_rollback() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("the_gate_rolls_back_a_bad_change_on_real_envoy") else {
        return;
    };
    let (topology, mesh, plan, td) = pipeline();
    let api_phase = plan
        .phases
        .iter()
        .find(|p| p.services.iter().any(|s| s.name == "api"))
        .expect("a phase onboards api");
    let lock_phase = plan
        .phases
        .iter()
        .find(|p| p.locked.iter().any(|s| s.name == "api"))
        .expect("a phase locks api down");
    let (onboard, lock) = (api_phase.number, lock_phase.number);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };

    let baseline = window(&envoy, &topology, &mesh, &td, &dir("baseline"));
    let base = api_row(&judge(&plan, onboard, &baseline, &baseline))
        .baseline
        .clone();
    assert_eq!(base.requests, f64::from(REQUESTS), "{base:?}");
    assert_eq!(base.errors, 0.0, "{base:?}");
    // No request is faster than api's delay: none below the bucket that holds 120 ms.
    let p99 = base.p99_ms.expect("p99");
    assert!(p99 > 100.0, "{base:?}");

    // A timeout too short for the callee: every request ends in 504 at the caller's sidecar.
    let short = window(
        &envoy,
        &topology,
        &with_short_timeout(&mesh),
        &td,
        &dir("short-timeout"),
    );
    let report = judge(&plan, onboard, &baseline, &short);
    assert_eq!(report.verdict, Verdict::RollBack, "{report:#?}");
    let row = api_row(&report);
    assert_eq!(row.verdict, Verdict::RollBack);
    let error_rate = row
        .reasons
        .iter()
        .find(|r| r.figure == "error-rate")
        .expect("error rate crossed");
    assert_eq!(error_rate.baseline, format!("0.00% (0 of {REQUESTS})"));
    assert_eq!(
        error_rate.window,
        format!("100.00% ({REQUESTS} of {REQUESTS})")
    );
    assert_eq!(report.rollback, rollback_of(&plan, onboard));
    assert!(!report.rollback.is_empty());
    // The same window does not concern the lock-down: no denial.
    assert_ne!(
        judge(&plan, lock, &baseline, &short)
            .rows
            .iter()
            .flat_map(|r| &r.reasons)
            .find(|r| r.figure == "denials")
            .map(|r| r.figure),
        Some("denials")
    );

    // An AuthorizationPolicy missing a caller: web is refused on an edge of the graph.
    let denied = window(
        &envoy,
        &topology,
        &without_web(&mesh),
        &td,
        &dir("missing-caller"),
    );
    let report = judge(&plan, lock, &baseline, &denied);
    assert_eq!(report.verdict, Verdict::RollBack, "{report:#?}");
    let row = api_row(&report);
    let denials = row
        .reasons
        .iter()
        .find(|r| r.figure == "denials")
        .expect("denials crossed");
    assert_eq!(denials.window, REQUESTS.to_string());
    assert_eq!(denials.baseline, "0");
    let edge = report
        .rows
        .iter()
        .find(|r| r.service.name == "api" && r.caller.as_deref() == Some("web.store"))
        .expect("the edge web -> api has its row");
    assert_eq!(edge.verdict, Verdict::RollBack);
    assert_eq!(report.rollback, rollback_of(&plan, lock));

    // After the rollback: the generated configuration again, and both phases proceed.
    let after = window(&envoy, &topology, &mesh, &td, &dir("after-rollback"));
    for phase in [onboard, lock] {
        let report = judge(&plan, phase, &baseline, &after);
        assert_eq!(
            report.verdict,
            Verdict::Proceed,
            "phase {phase}: {report:#?}"
        );
        assert!(report.rollback.is_empty());
    }
}
