//! The whole lab on the default path of examples/shopfront, built from its generated configuration: every scenario passes against real Envoy, and nothing
//! (process or file) is left behind, also when the run is cancelled halfway.

mod common;

use common::{
    assert_cleaned_up, assert_scenario, cancel_midway_and_assert_cleaned_up, envoy_or_skip,
    options, serial, shopfront,
};
use meshsmith_lab::{Progress, ScenarioKind};
use std::sync::Mutex;

#[test]
fn every_scenario_passes_on_the_generated_shopfront_path_and_nothing_is_left_behind() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("every_scenario_passes") else {
        return;
    };
    let seen = Mutex::new(Vec::new());
    let spec = shopfront("");
    let report = meshsmith_lab::run_blocking(&spec, &options(envoy, &[]), &|p| {
        if let Progress::Running { scenario, .. } = p {
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(*scenario);
        }
    })
    .expect("lab runs");
    for r in &report.results {
        eprintln!("{r}");
    }
    for r in &report.results {
        assert_scenario(r, r.passed, "passes");
    }
    for kind in ScenarioKind::ALL {
        assert!(
            report.results.iter().any(|r| r.scenario == kind),
            "{kind} did not run"
        );
    }
    // 5 edges, 4 callees for 403, 3 STRICT + 1 PERMISSIVE, 3 timeouts, 3 retries + 2 connect
    // failures (the hops with connect-failure in retryOn), 3 pools, 3 ejections (order-service,
    // payment-service and user-service each run two instances). No policy on the path is
    // dry-run and no call was given: those two scenarios say so in one row each.
    let ran = report.results.iter().filter(|r| !r.not_run).count();
    assert_eq!(ran, 27);
    let not_run: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.not_run)
        .map(|r| r.scenario.name())
        .collect();
    assert_eq!(not_run, ["dry-run", "hidden-call"]);
    // The path's retrying gRPC hop: its generated policy retries UNAVAILABLE, and the lab saw
    // exactly 1 + attempts tries at the callee, Envoy's retries, and the final success.
    let user = spec
        .service("user-service")
        .expect("user-service is on the path");
    let attempts = user.traffic.retries.attempts;
    assert!(attempts > 0, "the chosen gRPC hop does not retry");
    assert!(user
        .traffic
        .retries
        .retry_on
        .iter()
        .any(|c| c == "unavailable"));
    let retry = report
        .results
        .iter()
        .find(|r| r.scenario == ScenarioKind::Retry && r.subject == "order-service -> user-service")
        .expect("retry on the gRPC hop");
    let retried = format!(
        "grpc-status 0 after {} attempt(s) at callee; retry +{attempts}, retry success +1",
        attempts + 1
    );
    assert_scenario(retry, retry.measured.contains(&retried), &retried);
    // Both hops with connect-failure in retryOn retried a real connect failure to success.
    for subject in [
        "order-service -> payment-service",
        "order-service -> user-service",
    ] {
        let closed = report
            .results
            .iter()
            .find(|r| r.subject == format!("{subject} (one instance's port closed)"))
            .expect("connect-failure check");
        let retried =
            "after 1 attempt(s) at callee; connect failures +1, retry +1, retry success +1";
        assert_scenario(closed, closed.measured.contains(retried), retried);
    }
    // Every scenario within the product's bound on a 2-core machine.
    assert!(report.wall_ms < 60_000, "wall time {} ms", report.wall_ms);
    assert!(
        !seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty(),
        "no progress was reported"
    );
    assert_cleaned_up(&report.envoy_pids, &report.run_dir);
}

#[test]
fn cancelling_a_run_midway_stops_every_envoy_and_removes_the_run_folder() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("cancelling_a_run") else {
        return;
    };
    let spec = shopfront("");
    let opts = options(envoy, &[ScenarioKind::Timeout]);
    cancel_midway_and_assert_cleaned_up(&spec, &opts);
}

#[test]
fn a_panic_midway_still_stops_every_envoy() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_panic_midway") else {
        return;
    };
    let started: Mutex<Option<(Vec<u32>, std::path::PathBuf)>> = Mutex::new(None);
    let spec = shopfront("");
    let opts = options(envoy, &[ScenarioKind::AllowedEdge]);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        meshsmith_lab::run_blocking(&spec, &opts, &|p| match p {
            Progress::Ready {
                envoy_pids,
                run_dir,
                ..
            } => {
                *started.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((envoy_pids.clone(), run_dir.clone()));
            }
            Progress::Running { .. } => panic!("deliberate panic in the middle of a run"),
            _ => {}
        })
    }));
    assert!(outcome.is_err(), "the run did not panic");
    let (pids, dir) = started
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("fleet came up");
    assert_cleaned_up(&pids, &dir);
}
