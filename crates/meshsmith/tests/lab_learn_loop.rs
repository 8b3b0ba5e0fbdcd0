//! The learn-from-traffic loop on real Envoy, as a person runs it on manifests that hide an
//! edge (`fixtures/lab-hidden-edge`: web -> api is in api's environment, api -> ledger only in
//! code):
//!
//! (a) `lab --call api:ledger --logs DIR`: with no traffic nobody is known to call ledger, so
//!     its generated AuthorizationPolicy is dry-run; the call made in code succeeds and Envoy
//!     records the shadow denial (counter and access log). The sidecars' logs land in DIR, one
//!     per pod.
//! (b) `map --traffic DIR`: the lab's own logs show the edge api -> ledger, `observed`.
//! (c) `lab --traffic DIR --call api:ledger`: ledger's regenerated policy is enforced, admits
//!     api (200) and still refuses an identity it does not list (403).

mod lab_support;

use lab_support::{assert_scenario, envoy_or_skip, json_results, meshsmith, serial};
use meshsmith_lab::ScenarioResult;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lab-hidden-edge"
);

/// Run meshsmith with `args`; (exit code, stdout as JSON, stderr).
fn run_json(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = meshsmith().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code(), doc, stderr)
}

/// The result of `scenario` whose subject starts with `subject`.
fn row(report: &Value, scenario: &str, subject: &str) -> ScenarioResult {
    json_results(report)
        .into_iter()
        .find(|r| r.scenario.name() == scenario && r.subject.starts_with(subject))
        .unwrap_or_else(|| panic!("no {scenario} row for {subject}: {report:#}"))
}

/// Every result passed, each failure named with its whole result; then the exit code.
fn assert_all_passed(code: Option<i32>, report: &Value, stderr: &str) {
    for r in &json_results(report) {
        assert_scenario(r, r.passed, "passes");
    }
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
}

/// Does `meshsmith <command> --help` offer `--traffic`?
fn takes_traffic(command: &str) -> bool {
    let out = meshsmith()
        .args([command, "--help"])
        .output()
        .expect("runs");
    String::from_utf8_lossy(&out.stdout).contains("--traffic")
}

/// The JSON entries of every pod log in `dir` whose file name starts with `workload-`.
fn entries_of(dir: &Path, workload: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).expect("logs dir").flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{workload}-")) {
            let text = std::fs::read_to_string(f.path()).expect("log");
            out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
    }
    out
}

#[test]
fn a_hidden_edge_is_learned_from_the_labs_own_logs_and_then_enforced() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_hidden_edge_is_learned") else {
        return;
    };
    let envoy = envoy.to_string_lossy().into_owned();
    let logs = tempfile::tempdir().expect("temp dir");
    let dir = logs.path().to_string_lossy().into_owned();
    dry_run_records_the_hidden_call(&envoy, &dir);
    // (b) and (c) read the logs back through --traffic.
    let required = std::env::var("MESHSMITH_REQUIRE_ENVOY").is_ok_and(|v| v == "1");
    if !(takes_traffic("map") && takes_traffic("lab")) {
        assert!(!required, "map or lab does not take --traffic yet");
        eprintln!(
            "\n*** a_hidden_edge_is_learned: steps (b) and (c) PENDING: --traffic missing ***\n"
        );
        return;
    }
    map_learns_the_edge(&dir);
    the_learned_policy_is_enforced(&envoy, &dir);
}

/// (a) No traffic yet: ledger's callers are unknown, its policy records instead of denying.
fn dry_run_records_the_hidden_call(envoy: &str, dir: &str) {
    let started = Instant::now();
    let (code, report, stderr) = run_json(&[
        "lab",
        FIXTURE,
        "--services",
        "web,api,ledger",
        "--call",
        "api:ledger",
        "--logs",
        dir,
        "--scenario",
        "allowed-edge",
        "--scenario",
        "hidden-call",
        "--format",
        "json",
        "--envoy",
        envoy,
    ]);
    eprintln!("(a) lab in {:?}:\n{report:#}", started.elapsed());
    let hidden = row(&report, "hidden-call", "api -> ledger (not in the graph)");
    assert_scenario(&hidden, hidden.passed, "passes");
    assert_all_passed(code, &report, &stderr);
    assert_scenario(
        &hidden,
        hidden.expected.contains("dry-run"),
        "ledger's policy is dry-run",
    );
    for part in [
        "HTTP 200 via outbound|8080||ledger.finance.svc.cluster.local",
        "shadow allowed +0 denied +1",
        "dry_run_result=denied",
    ] {
        assert_scenario(&hidden, hidden.measured.contains(part), part);
    }
    // One log per pod, named as `kubectl logs POD > POD.log` leaves them.
    let dir = Path::new(dir);
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("logs")
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    for workload in ["web", "api", "ledger"] {
        assert!(
            names.iter().any(|n| pod_log_name(n, workload)),
            "{workload}: {names:?}"
        );
    }
    let api_to_ledger = entries_of(dir, "api")
        .into_iter()
        .any(|e| e["upstream_cluster"] == "outbound|8080||ledger.finance.svc.cluster.local");
    assert!(api_to_ledger, "api's log shows no call to ledger");
    let shadow_denied = entries_of(dir, "ledger").into_iter().any(|e| {
        e["dry_run_result"] == "denied"
            && e["downstream_peer_uri_san"] == "spiffe://cluster.local/ns/store/sa/api"
    });
    assert!(shadow_denied, "ledger's log shows no shadow denial of api");
}

/// (b) The lab's own logs show the edge the manifests hide.
fn map_learns_the_edge(dir: &str) {
    let (code, graph, stderr) = run_json(&["map", FIXTURE, "--traffic", dir, "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let edge = graph["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["from"] == "api.store" && e["to"] == "ledger.finance")
        .unwrap_or_else(|| panic!("map --traffic shows no api -> ledger: {graph:#}"));
    assert_eq!(edge["confidence"], "observed", "{edge}");
}

/// (c) Learned: ledger's policy is enforced, lets api in and keeps others out.
fn the_learned_policy_is_enforced(envoy: &str, dir: &str) {
    let started = Instant::now();
    let (code, report, stderr) = run_json(&[
        "lab",
        FIXTURE,
        "--traffic",
        dir,
        "--services",
        "web,api,ledger",
        "--call",
        "api:ledger",
        "--scenario",
        "allowed-edge",
        "--scenario",
        "unauthorized-identity",
        "--scenario",
        "hidden-call",
        "--format",
        "json",
        "--envoy",
        envoy,
    ]);
    eprintln!("(c) lab in {:?}:\n{report:#}", started.elapsed());
    assert_all_passed(code, &report, &stderr);
    let learned = row(&report, "allowed-edge", "api -> ledger");
    assert_scenario(&learned, learned.passed, "passes");
    let served = |r: &ScenarioResult| {
        r.measured.contains("HTTP 200") && r.measured.contains("rbac allowed +1")
    };
    assert_scenario(&learned, served(&learned), "HTTP 200, rbac allowed +1");
    let hidden = row(
        &report,
        "hidden-call",
        "api -> ledger (an edge of the graph now)",
    );
    assert_scenario(&hidden, served(&hidden), "HTTP 200, rbac allowed +1");
    let intruder = row(
        &report,
        "unauthorized-identity",
        "spiffe://cluster.local/ns/lab/sa/lab-intruder -> ledger",
    );
    assert_scenario(&intruder, intruder.passed, "passes");
    let denied = "HTTP 403, rbac denied +1";
    assert_scenario(&intruder, intruder.measured.contains(denied), denied);
}

/// `<workload>-<10 hex>-<5 alnum>.log`.
fn pod_log_name(name: &str, workload: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(&format!("{workload}-"))
        .and_then(|r| r.strip_suffix(".log"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    parts.len() == 2
        && parts[0].len() == 10
        && parts[0].bytes().all(|b| b.is_ascii_hexdigit())
        && parts[1].len() == 5
        && parts[1].bytes().all(|b| b.is_ascii_alphanumeric())
}
