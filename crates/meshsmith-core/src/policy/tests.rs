//! Policy files in, defaults, overrides and errors with lines out.

use super::*;

fn parsed(text: &str) -> Result<Policy, PolicyError> {
    parse("meshsmith.yaml", text)
}

#[test]
fn the_init_template_parses_back_to_the_defaults() {
    let policy = parsed(&init_template()).expect("template parses");
    let defaults = Policy::default();
    assert_eq!(policy.trust_domain, defaults.trust_domain);
    assert_eq!(policy.istio_version, defaults.istio_version);
    assert_eq!(
        policy.ingress_gateway_principal,
        defaults.ingress_gateway_principal
    );
    assert_eq!(policy.skip_namespaces, defaults.skip_namespaces);
    assert_eq!(policy.roles, defaults.roles);
    assert_eq!(policy.rollout, defaults.rollout);
    assert!(policy.services.is_empty());
}

#[test]
fn the_rollout_section_sets_phases_and_window_with_lines() {
    let p =
        parsed("rollout:\n  phases: 6\n  window: 90m\n  maxServicesPerPhase: 3\n").expect("valid");
    assert_eq!(p.rollout.phases, 6);
    assert_eq!(p.rollout.max_services_per_phase, Some(3));
    assert_eq!(Policy::default().rollout.max_services_per_phase, None);
    assert_eq!(p.rollout.window, Millis(90 * 60_000));
    assert_eq!(
        p.set_at("rollout.window").as_deref(),
        Some("meshsmith.yaml:3")
    );
    assert_eq!(Policy::default().rollout.phases, 4);
    assert_eq!(Policy::default().rollout.window, Millis::secs(4 * 3600));
    let err = parsed("rollout:\n  phases: 4\n  windw: 1h\n").unwrap_err();
    assert!(
        matches!(&err, PolicyError::UnknownKey { line: 3, key, .. } if key == "windw"),
        "{err}"
    );
    for (text, line) in [
        ("rollout:\n  phases: 0\n", 2),
        ("rollout:\n  window: 4\n", 2),
        ("rollout: 4\n", 1),
    ] {
        match parsed(text) {
            Err(PolicyError::BadValue { line: got, .. }) => assert_eq!(got, line, "{text}"),
            other => panic!("{text}: expected a bad value on line {line}, got {other:?}"),
        }
    }
}

#[test]
fn rollout_gate_sets_the_thresholds_and_reports_every_problem_with_its_line() {
    let p = parsed(
        "rollout:\n  gate:\n    minRequests: 500\n    errorRatePoints: 0.5\n    p99AddedMs: 100\n    denials: 3\n",
    )
    .expect("valid");
    let g = &p.rollout.gate;
    assert_eq!(g.min_requests, 500);
    assert_eq!(g.error_rate_points, 0.5);
    assert_eq!(g.p99_added_ms, 100.0);
    assert_eq!(g.denials, 3);
    // What is not written keeps its default.
    assert_eq!(g.error_rate_factor, 2.0);
    assert_eq!(g.p99_factor, 1.5);
    assert_eq!(
        p.set_at("rollout.gate.denials").as_deref(),
        Some("meshsmith.yaml:6")
    );
    let all = parse_all(
        "meshsmith.yaml",
        "rollout:\n  gate:\n    p99Facter: 2\n    errorRateFactor: 0.5\n    minRequests: many\n",
    )
    .unwrap_err();
    let lines: Vec<u32> = all.errors.iter().map(PolicyError::line).collect();
    assert_eq!(lines, vec![3, 4, 5], "{all}");
    assert!(
        matches!(&all.errors[0], PolicyError::UnknownKey { key, .. } if key == "p99Facter"),
        "{all}"
    );
    assert!(
        all.errors[1].to_string().contains("from 1 to 1000"),
        "{all}"
    );
    for text in [
        "rollout:\n  gate:\n    p99Factor: .nan\n",
        "rollout:\n  gate:\n    p99Factor: \"2\"\n",
    ] {
        assert!(
            matches!(parsed(text), Err(PolicyError::BadValue { line: 3, .. })),
            "{text}"
        );
    }
}

#[test]
fn defaults_follow_the_product_table() {
    let p = Policy::default();
    assert_eq!(p.role(Role::SyncApi).timeout, Millis::secs(3));
    assert_eq!(
        p.role(Role::SyncApi).retries.per_try_timeout,
        Some(Millis::secs(1))
    );
    assert_eq!(p.role(Role::Aggregator).timeout, Millis::secs(5));
    let ext = p.role(Role::ExternalIntegration);
    assert_eq!((ext.timeout, ext.retries.attempts), (Millis::secs(10), 1));
    assert_eq!(
        ext.retries.retry_on,
        Some(vec![
            "connect-failure".to_string(),
            "refused-stream".to_string()
        ])
    );
    assert_eq!(p.role(Role::Worker).timeout, Millis::secs(10));
    assert_eq!(
        p.role(Role::SyncApi)
            .outlier_detection
            .consecutive_5xx_errors,
        5
    );
    assert_eq!(
        p.role(Role::SyncApi).outlier_detection.base_ejection_time,
        Millis::secs(30)
    );
    assert!(
        p.role(Role::Worker)
            .outlier_detection
            .consecutive_5xx_errors
            > 5
    );
}

#[test]
fn an_empty_file_is_the_defaults() {
    let p = parsed("").expect("empty is fine");
    assert_eq!(p.roles, Policy::default().roles);
    let p = parsed("# only a comment\n").expect("comment only is fine");
    assert_eq!(p.trust_domain, "cluster.local");
}

#[test]
fn overrides_apply_and_remember_their_lines() {
    let text = "trustDomain: example.org\nroles:\n  sync-api:\n    timeout: 2s\nservices:\n  ledger.shop:\n    timeout: 4s\n    connectionPool:\n      maxConnections: 7\n";
    let p = parsed(text).expect("valid");
    assert_eq!(p.trust_domain, "example.org");
    assert_eq!(p.role(Role::SyncApi).timeout, Millis::secs(2));
    assert_eq!(
        p.set_at("roles.sync-api.timeout").as_deref(),
        Some("meshsmith.yaml:4")
    );
    let r = p.resolve("shop", "ledger", Role::SyncApi, "inferred");
    assert_eq!(r.settings.timeout, Millis::secs(4));
    assert_eq!(r.settings.connection_pool.max_connections, 7);
    // Not written for the service: the role's value stays.
    assert_eq!(r.settings.connection_pool.http2_max_requests, 1000);
    assert!(
        r.why("timeout").contains("meshsmith.yaml:7"),
        "{}",
        r.why("timeout")
    );
    assert!(r.why("retries.attempts").contains("built-in default"));
    // The override names one namespace only.
    let other = p.resolve("billing", "ledger", Role::SyncApi, "inferred");
    assert_eq!(other.settings.timeout, Millis::secs(2));
}

#[test]
fn an_unknown_key_is_an_error_with_its_line() {
    let err = parsed("trustDomain: a.b\nroles:\n  sync-api:\n    timeuot: 3s\n").unwrap_err();
    assert!(
        matches!(&err, PolicyError::UnknownKey { line: 4, key, .. } if key == "timeuot"),
        "{err}"
    );
    assert!(err.to_string().starts_with("meshsmith.yaml:4:"), "{err}");
    let err = parsed("roles:\n  sync-api:\n    retriez:\n      attempts: 2\n").unwrap_err();
    assert!(
        matches!(&err, PolicyError::UnknownKey { line: 3, .. }),
        "{err}"
    );
}

#[test]
fn bad_values_are_errors_with_their_lines() {
    let cases = [
        ("istioVersion: banana\n", 1),
        ("roles:\n  sync-api:\n    timeout: 3\n", 3),
        ("roles:\n  sync-api:\n    retries:\n      attempts: -1\n", 4),
        (
            "roles:\n  sync-api:\n    retries: {retryOn: \"5xx,bogus\"}\n",
            3,
        ),
        ("roles:\n  chef:\n    timeout: 3s\n", 2),
        ("services:\n  web:\n    role: wizard\n", 3),
        ("ingressGateway:\n  principal: \"*\"\n", 2),
        ("skipNamespaces: kube-system\n", 1),
        ("trustDomain: [a]\n", 1),
        ("services:\n  Web_App:\n    timeout: 3s\n", 2),
    ];
    for (text, line) in cases {
        match parsed(text) {
            Err(PolicyError::BadValue { line: got, .. }) => assert_eq!(got, line, "{text}"),
            other => panic!("{text}: expected a bad value on line {line}, got {other:?}"),
        }
    }
}

#[test]
fn a_permissive_exception_needs_a_reason() {
    let err = parsed("services:\n  hook:\n    mtls:\n      mode: PERMISSIVE\n").unwrap_err();
    assert!(matches!(err, PolicyError::Missing { line: 4, .. }), "{err}");
    let ok = parsed("services:\n  hook:\n    mtls: {mode: PERMISSIVE, reason: plain webhooks}\n")
        .expect("valid");
    let m = ok.service("any", "hook").and_then(|s| s.mtls.clone());
    assert_eq!(
        m.map(|m| (m.mode, m.reason)),
        Some((MtlsMode::Permissive, "plain webhooks".into()))
    );
}

#[test]
fn syntax_errors_and_extra_documents_name_a_line() {
    assert!(matches!(
        parsed("roles: [\n"),
        Err(PolicyError::Syntax { .. })
    ));
    assert!(matches!(
        parsed("a: 1\na: 2\n"),
        Err(PolicyError::Syntax { line: 2, .. })
    ));
    assert!(matches!(
        parsed("trustDomain: a\n---\ntrustDomain: b\n"),
        Err(PolicyError::Missing { .. })
    ));
}

#[test]
fn confirmed_callers_need_a_reason_and_carry_their_line() {
    let p = parsed(
        "services:\n  reviews:\n    callers: [productpage, ratings.shop]\n    reason: read in productpage's code\n",
    )
    .expect("valid");
    let declared = p.declared_callers();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].service, "reviews");
    assert_eq!(declared[0].callers, ["productpage", "ratings.shop"]);
    assert_eq!(declared[0].reason, "read in productpage's code");
    assert_eq!(declared[0].origin.to_string(), "meshsmith.yaml:3");
    let err = parsed("services:\n  reviews:\n    callers: [productpage]\n").unwrap_err();
    assert!(err.to_string().contains("meshsmith.yaml:3:"), "{err}");
    assert!(err.to_string().contains("needs a `reason`"), "{err}");
    let err = parsed("services:\n  reviews:\n    reason: because\n").unwrap_err();
    assert!(
        err.to_string().contains("`callers`, which is missing"),
        "{err}"
    );
    let err =
        parsed("services:\n  reviews:\n    callers: [Product_Page]\n    reason: x\n").unwrap_err();
    assert!(err.to_string().contains("meshsmith.yaml:3"), "{err}");
}

#[test]
fn every_problem_of_the_file_is_reported_at_once_in_line_order() {
    let text = "trustDomain: Not_A_Domain\nroles:\n  sync-api:\n    timeuot: 3s\n  worker:\n    timeout: forever\nservices:\n  Bad_Name: {timeout: 2s}\n  hook:\n    mtls: {mode: PERMISSIVE}\nchecks:\n  MS9: off\nrollot: {}\n";
    let failure = parse_all("meshsmith.yaml", text).unwrap_err();
    let lines: Vec<u32> = failure.errors.iter().map(PolicyError::line).collect();
    assert_eq!(lines, vec![1, 4, 6, 8, 10, 12, 13], "{failure}");
    let shown = failure.to_string();
    assert_eq!(shown.lines().count(), 7, "{shown}");
    assert!(
        shown
            .lines()
            .all(|l| l.starts_with("error: meshsmith.yaml:")),
        "{shown}"
    );
    // `parse` keeps giving the first.
    assert_eq!(parse("meshsmith.yaml", text).unwrap_err().line(), 1);
}

#[test]
fn egress_allowances_need_a_host_and_a_reason_and_keep_their_lines() {
    let p = parsed(
        "egress:\n  allow:\n    - host: Metadata.Google.Internal.\n      reason: \"reads the zone\"\n    - {host: \"[fd00:ec2::254]\", reason: IMDS over IPv6}\n",
    )
    .expect("valid");
    let hosts: Vec<(&str, &str, u32)> = p
        .egress_allow
        .iter()
        .map(|a| (a.host.as_str(), a.reason.as_str(), a.line))
        .collect();
    assert_eq!(
        hosts,
        [
            ("fd00:ec2::254", "IMDS over IPv6", 5),
            ("metadata.google.internal", "reads the zone", 3),
        ]
    );
    assert_eq!(
        p.set_at("egress.allow.metadata.google.internal").as_deref(),
        Some("meshsmith.yaml:3")
    );
    assert!(p.egress_allowance("metadata.google.internal").is_some());
    assert!(p.egress_allowance("FD00:EC2:0::254").is_some());
    assert!(p.egress_allowance("169.254.169.254").is_none());
    assert!(Policy::default().egress_allow.is_empty());
}

#[test]
fn egress_allowances_are_strict() {
    for (text, line, needle) in [
        (
            "egress:\n  allow:\n    - host: metadata.google.internal\n",
            3,
            "needs a `reason`",
        ),
        (
            "egress:\n  allow:\n    - {host: 169.254.169.254, reason: \"  \"}\n",
            3,
            "expected a text value",
        ),
        ("egress:\n  allow:\n    - reason: why\n", 3, "needs a `host`"),
        (
            "egress:\n  allow:\n    - {host: \"http://169.254.169.254\", reason: x}\n",
            3,
            "is not a host",
        ),
        (
            "egress:\n  allow:\n    - {host: \"169.254.169.254:80\", reason: x}\n",
            3,
            "is not a host",
        ),
        (
            "egress:\n  allow:\n    - {host: \"*.internal\", reason: x}\n",
            3,
            "is not a host",
        ),
        (
            "egress:\n  allow:\n    - {host: a.internal, reason: x}\n    - {host: A.internal, reason: y}\n",
            4,
            "allowed twice",
        ),
        (
            "egress:\n  allow:\n    - {host: a.internal, reason: x, from: web}\n",
            3,
            "unknown key `from`",
        ),
        ("egress:\n  deny: []\n", 2, "unknown key `deny`"),
        ("egress:\n  allow: metadata.google.internal\n", 2, "expected a list"),
    ] {
        let err = parse_all("meshsmith.yaml", text).expect_err(text);
        let first = &err.errors[0];
        assert_eq!(first.line(), line, "{text}: {first}");
        assert!(first.to_string().contains(needle), "{text}: {first}");
        assert!(
            first.to_string().starts_with(&format!("meshsmith.yaml:{line}:")),
            "{first}"
        );
    }
}

#[test]
fn the_init_template_shows_the_egress_section() {
    let text = init_template();
    assert!(text.contains("egress:\n  allow: []"), "{text}");
    assert!(
        text.contains("#     - host: metadata.google.internal"),
        "{text}"
    );
    assert!(parsed(&text)
        .expect("template parses")
        .egress_allow
        .is_empty());
}
