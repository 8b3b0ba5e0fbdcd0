//! Dry-run AuthorizationPolicies and calls the graph does not show, on real Envoy: a dry-run
//! policy serves an identity it does not list and Envoy records the shadow denial (counter and
//! access log); a hidden call is served under dry-run, denied by an enforced policy that does
//! not list its caller, served by one that does, and closed when the caller's Sidecar does not
//! import the callee (plaintext through PassthroughCluster to a STRICT port). The sidecars'
//! logs are copied out one file per pod, in Istio's JSON and text formats.

mod common;

use common::{assert_cleaned_up, assert_scenario, envoy_or_skip, options, serial};
use meshsmith_lab::{LabReport, LabSpec, LogFormat, ScenarioKind, ScenarioResult};
use serde_json::{json, Value};

fn service(name: &str, ns: &str, allowed: &[&str], dry_run: bool) -> Value {
    json!({
        "name": name, "namespace": ns, "service_account": name,
        "protocol": "http", "mtls": "STRICT", "dry_run": dry_run,
        "allowed_principals": allowed,
        "traffic": { "timeout_ms": 3000,
            "retries": { "attempts": 0, "per_try_timeout_ms": 0, "retry_on": [] },
            "outlier_detection": null, "connection_pool": null }
    })
}

/// web -> api (an edge), and api calling four ledgers in code: one under a dry-run policy that
/// lists nobody, one enforced without api, one enforced with api, one api's Sidecar does not
/// import.
fn spec() -> LabSpec {
    let api = "cluster.local/ns/shop/sa/api";
    let web = "cluster.local/ns/front/sa/web";
    let doc = json!({
        "trust_domain": "cluster.local",
        "services": [
            service("web", "front", &[], false),
            service("api", "shop", &[web], true),
            service("ledger-dry", "finance", &[], true),
            service("ledger-deny", "finance", &[], false),
            service("ledger-allow", "finance", &[api], false),
            service("ledger-hidden", "finance", &[api], false),
        ],
        "edges": [{ "from": "web", "to": "api" }],
        "calls": [
            { "from": "api", "to": "ledger-dry" },
            { "from": "api", "to": "ledger-deny" },
            { "from": "api", "to": "ledger-allow" },
            { "from": "api", "to": "ledger-hidden", "imported": false }
        ]
    });
    serde_json::from_value(doc).expect("spec")
}

fn row<'a>(results: &'a [ScenarioResult], kind: ScenarioKind, subject: &str) -> &'a ScenarioResult {
    results
        .iter()
        .find(|r| r.scenario == kind && r.subject.starts_with(subject))
        .unwrap_or_else(|| panic!("no {kind} row for {subject}: {results:#?}"))
}

/// The copied log of the first pod of `workload`.
fn pod_log(report: &LabReport, workload: &str) -> String {
    let path = report
        .access_logs
        .iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{workload}-")))
        })
        .unwrap_or_else(|| panic!("no pod log of {workload}: {:?}", report.access_logs));
    std::fs::read_to_string(path).expect("log")
}

fn show(results: &[ScenarioResult]) {
    for r in results {
        eprintln!("{r}");
    }
}

#[test]
fn a_dry_run_policy_serves_an_unlisted_identity_and_records_the_shadow_denial() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_dry_run_policy") else {
        return;
    };
    let logs = tempfile::tempdir().expect("temp dir");
    let mut opts = options(envoy, &[ScenarioKind::AllowedEdge, ScenarioKind::DryRun]);
    opts.logs = Some((logs.path().to_path_buf(), LogFormat::Json));
    let report = meshsmith_lab::run_blocking(&spec(), &opts, &|_| {}).expect("lab runs");
    show(&report.results);
    let intruder = "spiffe://cluster.local/ns/lab/sa/lab-intruder";
    let unlisted = row(
        &report.results,
        ScenarioKind::DryRun,
        &format!("{intruder} -> api"),
    );
    assert_scenario(unlisted, unlisted.passed, "passes");
    for part in [
        "HTTP 200",
        "shadow denied +1",
        "rbac allowed +0 denied +0",
        "dry_run_result=denied",
    ] {
        assert_scenario(unlisted, unlisted.measured.contains(part), part);
    }
    let listed = row(&report.results, ScenarioKind::DryRun, "web -> api");
    assert_scenario(listed, listed.passed, "passes");
    for part in [
        "shadow allowed +1",
        "dry_run_result=allowed dry_run_policy=ns[shop]-policy[api]-rule[0]",
    ] {
        assert_scenario(listed, listed.measured.contains(part), part);
    }
    // The edge itself under a dry-run policy: served and shadow-allowed, nothing enforced.
    let edge = row(&report.results, ScenarioKind::AllowedEdge, "web -> api");
    assert_scenario(
        edge,
        edge.passed && edge.measured.contains("shadow allowed +1"),
        "passes, shadow allowed +1",
    );
    // ledger-dry lists nobody: no listed caller to show, and the row says so.
    let nobody = row(
        &report.results,
        ScenarioKind::DryRun,
        "listed caller -> ledger-dry",
    );
    assert_scenario(
        nobody,
        nobody.not_run && nobody.measured.contains("lists nobody"),
        "not run: the policy lists nobody",
    );

    // The copied log of api's pod carries the shadow denial, with the intruder's identity.
    let denied = pod_log(&report, "api")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["downstream_peer_uri_san"] == intruder)
        .expect("the intruder's request is logged");
    assert_eq!(denied["dry_run_result"], "denied", "{denied}");
    assert_eq!(denied["response_code"], 200, "{denied}");
    assert_eq!(denied["upstream_cluster"], "inbound|8080||", "{denied}");
    assert_eq!(
        denied["requested_server_name"], "outbound_.8080_._.api.shop.svc.cluster.local",
        "{denied}"
    );
    assert_cleaned_up(&report.envoy_pids, &report.run_dir);
}

#[test]
fn a_hidden_call_is_served_denied_or_closed_as_the_callee_policy_and_the_callers_sidecar_say() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_hidden_call") else {
        return;
    };
    let logs = tempfile::tempdir().expect("temp dir");
    let mut opts = options(envoy, &[ScenarioKind::HiddenCall]);
    opts.logs = Some((logs.path().to_path_buf(), LogFormat::Text));
    let report = meshsmith_lab::run_blocking(&spec(), &opts, &|_| {}).expect("lab runs");
    show(&report.results);
    let kind = ScenarioKind::HiddenCall;
    let dry = row(
        &report.results,
        kind,
        "api -> ledger-dry (not in the graph)",
    );
    assert_scenario(dry, dry.passed, "passes");
    for part in [
        "HTTP 200 via outbound|8080||ledger-dry.finance.svc.cluster.local",
        "shadow allowed +0 denied +1",
        "dry_run_result=denied",
    ] {
        assert_scenario(dry, dry.measured.contains(part), part);
    }
    let deny = row(&report.results, kind, "api -> ledger-deny");
    assert_scenario(
        deny,
        !deny.passed && deny.measured.starts_with("HTTP 403"),
        "fails with HTTP 403",
    );
    let why = "ledger-deny's AuthorizationPolicy is enforced and does not list api";
    assert_scenario(
        deny,
        deny.failure.as_deref().is_some_and(|f| f.contains(why)),
        why,
    );
    let allow = row(&report.results, kind, "api -> ledger-allow");
    assert_scenario(
        allow,
        allow.passed && allow.measured.contains("rbac allowed +1"),
        "passes, rbac allowed +1",
    );
    let hidden = row(&report.results, kind, "api -> ledger-hidden");
    assert_scenario(hidden, !hidden.passed, "fails");
    let via = "via PassthroughCluster";
    assert_scenario(hidden, hidden.measured.contains(via), via);
    let why = "api's Sidecar does not import ledger-hidden";
    assert_scenario(
        hidden,
        hidden.failure.as_deref().is_some_and(|f| f.contains(why)),
        why,
    );
    assert!(!report.passed());

    // api's pod log, in Istio's text format: one outbound line per call, naming the cluster.
    let text = pod_log(&report, "api");
    eprintln!("{text}");
    let line = text
        .lines()
        .find(|l| l.contains("\"ledger-allow.finance.svc.cluster.local\""))
        .expect("the call to ledger-allow is logged");
    assert!(line.starts_with('['), "{line}");
    assert!(
        line.contains("\"GET / HTTP/1.1\" 200 - via_upstream - \""),
        "{line}"
    );
    assert!(
        line.contains(" outbound|8080||ledger-allow.finance.svc.cluster.local 127.0.0.1:"),
        "{line}"
    );
    assert!(line.ends_with(" - default"), "{line}");
    assert!(text.contains(" PassthroughCluster "), "{text}");
    // ledger-hidden's sidecar closed the plaintext connection; as Istio's, it logs that (NR).
    let text = pod_log(&report, "ledger-hidden");
    assert!(text.contains(" NR filter_chain_not_found "), "{text}");
    assert_cleaned_up(&report.envoy_pids, &report.run_dir);
}
