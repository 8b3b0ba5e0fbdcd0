//! Breaking the policy on purpose makes exactly the matching scenario fail, with a message
//! that says what broke.

mod common;

use common::{envoy_or_skip, fixture, options, serial};
use meshsmith_lab::{ScenarioKind, ScenarioResult};

fn run(
    spec: &meshsmith_lab::LabSpec,
    kinds: &[ScenarioKind],
    test: &str,
) -> Option<Vec<ScenarioResult>> {
    let envoy = envoy_or_skip(test)?;
    let report =
        meshsmith_lab::run_blocking(spec, &options(envoy, kinds), &|_| {}).expect("lab runs");
    Some(report.results)
}

fn find<'a>(
    results: &'a [ScenarioResult],
    kind: ScenarioKind,
    subject: &str,
) -> &'a ScenarioResult {
    results
        .iter()
        .find(|r| r.scenario == kind && r.subject == subject)
        .unwrap_or_else(|| panic!("no {kind} result for {subject}"))
}

#[test]
fn dropping_a_caller_from_an_authorization_policy_fails_that_edge() {
    let _lab = serial();
    let mut spec = fixture();
    let payment = spec
        .services
        .iter_mut()
        .find(|s| s.name == "payment-service")
        .expect("payment");
    payment
        .allowed_principals
        .retain(|p| !p.ends_with("/sa/order-service"));
    let Some(results) = run(&spec, &[ScenarioKind::AllowedEdge], "dropping_a_caller") else {
        return;
    };
    let broken = find(
        &results,
        ScenarioKind::AllowedEdge,
        "order-service -> payment-service",
    );
    assert!(!broken.passed);
    let why = broken.failure.as_deref().unwrap_or("");
    assert!(
        why.contains("AuthorizationPolicy does not allow caller order-service"),
        "{why}"
    );
    assert!(
        find(
            &results,
            ScenarioKind::AllowedEdge,
            "stripe-webhook -> payment-service"
        )
        .passed
    );
    assert!(
        find(
            &results,
            ScenarioKind::AllowedEdge,
            "api-gateway -> order-service"
        )
        .passed
    );
}

#[test]
fn strict_on_the_webhook_receiver_fails_the_permissive_scenario() {
    let _lab = serial();
    let mut spec = fixture();
    let webhook = spec
        .services
        .iter_mut()
        .find(|s| s.name == "stripe-webhook")
        .expect("webhook");
    webhook.mtls = meshsmith_lab::spec::MtlsMode::Strict;
    let kinds = [
        ScenarioKind::PermissiveAcceptsPlaintext,
        ScenarioKind::StrictRejectsPlaintext,
    ];
    let Some(results) = run(&spec, &kinds, "strict_on_the_webhook") else {
        return;
    };
    let broken = find(
        &results,
        ScenarioKind::PermissiveAcceptsPlaintext,
        "plaintext -> stripe-webhook",
    );
    assert!(!broken.passed);
    let why = broken.failure.as_deref().unwrap_or("");
    assert!(
        why.contains("stripe-webhook takes plain traffic from outside the mesh"),
        "{why}"
    );
    assert!(why.contains("STRICT"), "{why}");
    assert!(
        broken.measured.contains("no_filter_chain_match +1"),
        "{}",
        broken.measured
    );
    assert!(results
        .iter()
        .filter(|r| r.scenario == ScenarioKind::StrictRejectsPlaintext)
        .all(|r| r.passed));
}

#[test]
fn a_30s_timeout_fails_the_timeout_scenario() {
    let _lab = serial();
    let mut spec = fixture();
    // The incident's setting: a 30 s route timeout on the payment service, no per-try timeout.
    let payment = spec
        .services
        .iter_mut()
        .find(|s| s.name == "payment-service")
        .expect("payment");
    payment.traffic.timeout_ms = 30_000;
    let Some(results) = run(&spec, &[ScenarioKind::Timeout], "a_30s_timeout") else {
        return;
    };
    let broken = find(
        &results,
        ScenarioKind::Timeout,
        "order-service -> payment-service",
    );
    assert!(!broken.passed);
    let why = broken.failure.as_deref().unwrap_or("");
    assert!(
        why.contains("route timeout 30.000 s is longer than the lab's 10.000 s bound"),
        "{why}"
    );
    assert!(why.contains("was not cut"), "{why}");
    assert!(
        broken.measured.contains("timeout +0"),
        "{}",
        broken.measured
    );
    assert!(
        find(
            &results,
            ScenarioKind::Timeout,
            "api-gateway -> order-service"
        )
        .passed
    );
}
