//! Breaking the policy on purpose, through the real path (a policy file given to generate, or
//! an edited generated resource), makes exactly the matching scenario fail, with a message that
//! says what broke.

mod common;

use common::{assert_scenario, envoy_or_skip, generated, options, serial, shopfront, spec_from};
use meshsmith_core::model::{Kind, Spec};
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

fn failure(r: &ScenarioResult) -> &str {
    r.failure.as_deref().unwrap_or("")
}

/// `broken` is the one failed result: every other one passed.
fn only_failure(results: &[ScenarioResult], broken: &ScenarioResult) {
    for r in results
        .iter()
        .filter(|r| !(r.scenario == broken.scenario && r.subject == broken.subject))
    {
        assert_scenario(r, r.passed, "passes; only the broken policy's check fails");
    }
}

#[test]
fn dropping_a_caller_from_the_generated_authorization_policy_fails_that_edge() {
    let _lab = serial();
    let (topology, mut mesh, trust_domain) = generated("");
    let mut edited = 0;
    for r in &mut mesh.resources {
        if r.kind != Kind::AuthorizationPolicy || r.name != "payment-service" {
            continue;
        }
        if let Spec::AuthorizationPolicy(ap) = &mut r.spec {
            for rule in &mut ap.rules {
                for from in &mut rule.from {
                    let before = from.source.principals.len();
                    from.source
                        .principals
                        .retain(|p| !p.ends_with("/sa/order-service"));
                    edited += before - from.source.principals.len();
                }
            }
        }
    }
    assert_eq!(edited, 1, "the generated policy allowed order-service once");
    let spec = spec_from(&topology, &mesh, &trust_domain);
    let Some(results) = run(&spec, &[ScenarioKind::AllowedEdge], "dropping_a_caller") else {
        return;
    };
    let broken = find(
        &results,
        ScenarioKind::AllowedEdge,
        "order-service -> payment-service",
    );
    assert_scenario(broken, !broken.passed, "fails");
    let why = "AuthorizationPolicy does not allow caller order-service";
    assert_scenario(broken, failure(broken).contains(why), why);
    for subject in [
        "stripe-webhook -> payment-service",
        "api-gateway -> order-service",
        "order-service -> user-service",
        "api-gateway -> user-service",
    ] {
        let r = find(&results, ScenarioKind::AllowedEdge, subject);
        assert_scenario(r, r.passed, "passes");
    }
    only_failure(&results, broken);
}

#[test]
fn a_strict_override_on_the_webhook_receiver_fails_the_permissive_scenario() {
    let _lab = serial();
    let spec = shopfront("services:\n  stripe-webhook.edge:\n    mtls: {mode: STRICT}\n");
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
    assert_scenario(broken, !broken.passed, "fails");
    for why in [
        "stripe-webhook takes plain traffic from outside the mesh",
        "STRICT",
    ] {
        assert_scenario(broken, failure(broken).contains(why), why);
    }
    let refused = "no_filter_chain_match +1";
    assert_scenario(broken, broken.measured.contains(refused), refused);
    for r in results
        .iter()
        .filter(|r| r.scenario == ScenarioKind::StrictRejectsPlaintext)
    {
        assert_scenario(r, r.passed, "passes");
    }
}

#[test]
fn a_30s_timeout_override_fails_the_timeout_scenario() {
    let _lab = serial();
    // The incident's setting, written as a policy override for the payment service.
    let spec = shopfront("services:\n  payment-service.shop:\n    timeout: 30s\n");
    let Some(results) = run(&spec, &[ScenarioKind::Timeout], "a_30s_timeout") else {
        return;
    };
    let broken = find(
        &results,
        ScenarioKind::Timeout,
        "order-service -> payment-service",
    );
    assert_scenario(broken, !broken.passed, "fails");
    for why in [
        "route timeout 30.000 s is longer than the lab's 10.000 s bound",
        "was not cut",
    ] {
        assert_scenario(broken, failure(broken).contains(why), why);
    }
    assert_scenario(broken, broken.measured.contains("timeout +0"), "timeout +0");
    for subject in [
        "api-gateway -> order-service",
        "order-service -> user-service",
    ] {
        let r = find(&results, ScenarioKind::Timeout, subject);
        assert_scenario(r, r.passed, "passes");
    }
    only_failure(&results, broken);
}

#[test]
fn the_unbroken_policy_passes_the_same_scenarios() {
    let _lab = serial();
    let kinds = [
        ScenarioKind::AllowedEdge,
        ScenarioKind::PermissiveAcceptsPlaintext,
    ];
    let Some(results) = run(&shopfront(""), &kinds, "the_unbroken_policy") else {
        return;
    };
    for r in &results {
        assert_scenario(r, r.passed, "passes");
    }
}
