//! The lab's text on saved reports of the example (its lab run and its incident replay) and
//! on the same reports with long names: every line fits 100 columns, the words are plain, and
//! the incident replay ends in a verdict.

use super::layout::{cols, WIDTH};
use super::*;
use meshsmith_lab::IncidentReport;

const SPEC: &str =
    include_str!("../../../../meshsmith-lab/tests/fixtures/shopfront-generated.json");
const REPORT: &str = include_str!("../../../../meshsmith-lab/tests/fixtures/shopfront-report.json");
const INCIDENT: &str =
    include_str!("../../../../meshsmith-lab/tests/fixtures/shopfront-incident.json");

/// The same document with every service and namespace name made long.
fn long_names(doc: &str) -> String {
    let mut doc = doc.to_string();
    for name in [
        "api-gateway",
        "order-service",
        "payment-service",
        "stripe-webhook",
        "user-service",
        "lab-intruder",
    ] {
        doc = doc.replace(
            name,
            &format!("{name}-of-the-regional-settlement-and-reconciliation-platform"),
        );
    }
    doc.replace("/ns/shop/", "/ns/shop-europe-west-production-blue/")
        .replace("/ns/edge/", "/ns/edge-europe-west-production-blue/")
}

fn text(spec: &str, report: &str) -> String {
    let spec: LabSpec = serde_json::from_str(spec).expect("spec");
    let report: LabReport = serde_json::from_str(report).expect("report");
    format!("{}{}", services(&spec), super::report(&report, false))
}

fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(
            cols(line) <= WIDTH,
            "{} columns:\n{line}\n\n{text}",
            cols(line)
        );
    }
}

#[test]
fn the_example_lab_report_fits_100_columns_in_plain_words() {
    let text = text(SPEC, REPORT);
    println!("{text}");
    assert_fits(&text);
    for debug in [
        "(Http",
        "Strict,",
        " x1)",
        "on )",
        "principal(s)",
        "BoringSSL",
    ] {
        assert!(!text.contains(debug), "{debug}:\n{text}");
    }
    let row = |name: &str| -> Vec<&str> {
        text.lines()
            .find(|l| l.starts_with(&format!("  {name} ")))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        row("payment-service.shop").join(" "),
        "payment-service.shop HTTP STRICT 2 10 s 1, 5 s per try 2 identities",
        "{text}"
    );
    assert_eq!(
        row("stripe-webhook.edge").join(" "),
        "stripe-webhook.edge HTTP PERMISSIVE 1 10 s none plain text only",
        "{text}"
    );
    assert!(
        text.contains("\n      retried on connect-failure, refused-stream\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  every service: pool 100 connections / 100 pending / 1000 requests; ejected \
             after 5 consecutive 5xx\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("27 passed, 0 failed, 2 not run; wall time 26.9 s"),
        "{text}"
    );
    assert!(
        text.contains("8 sidecars (Envoy 1.40.0) up in 1030 ms"),
        "{text}"
    );
    // Every result keeps its figures: the subject, then the expected and measured lines.
    let report: LabReport = serde_json::from_str(REPORT).expect("report");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for r in &report.results {
        for part in [&r.subject, &r.expected, &r.measured] {
            assert!(flat.contains(part.as_str()), "{part}:\n{text}");
        }
    }
    assert!(!text.contains('\x1b'), "colour without a terminal:\n{text}");
}

#[test]
fn long_names_wrap_instead_of_widening_the_lab_report() {
    let text = text(&long_names(SPEC), &long_names(REPORT));
    println!("{text}");
    assert_fits(&text);
    assert!(
        text.contains(
            "\n  payment-service-of-the-regional-settlement-and-reconciliation-platform.shop\n"
        ),
        "{text}"
    );
}

#[test]
fn colour_marks_only_the_verdicts() {
    let report: LabReport = serde_json::from_str(REPORT).expect("report");
    let text = super::report(&report, true);
    assert!(text.contains("  \x1b[32mPASS\x1b[0m  "), "{text}");
    assert!(text.contains("  \x1b[33mSKIP\x1b[0m  "), "{text}");
    assert_fits(&text);
}

#[test]
fn the_incident_replay_ends_in_a_verdict_that_fits_100_columns() {
    let report: IncidentReport = serde_json::from_str(INCIDENT).expect("incident");
    let text = incident(&report);
    println!("{text}");
    assert_fits(&text);
    assert!(
        text.contains(
            "verdict: generated policy: callers blocked 5.0 s instead of 20.0 s; 400 request-s \
             instead of 1601\n"
        ),
        "{text}"
    );
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in [
        "with the generated policy, api-gateway's callers lose 4.0 times less time to the slowdown",
        "a caller waits up to 90.0 s under the old settings and 10.0 s under the generated policy",
        "the old settings' 80 successes came only because this replay's slowdown ends after 20.0 s",
    ] {
        assert!(flat.contains(part), "{part}:\n{text}");
    }
    let long: IncidentReport = serde_json::from_str(&long_names(INCIDENT)).expect("incident");
    let text = incident(&long);
    println!("{text}");
    assert_fits(&text);
}

#[test]
fn progress_is_one_line_per_scenario() {
    let report: LabReport = serde_json::from_str(REPORT).expect("report");
    let lines = ProgressLines::new(10);
    let mut out = vec![lines.line(&Progress::Starting { sidecars: 8 })];
    for r in &report.results {
        out.push(lines.line(&Progress::Running {
            scenario: r.scenario,
            subject: r.subject.clone(),
        }));
        out.push(lines.line(&Progress::Finished(r.clone())));
    }
    let out: Vec<String> = out.into_iter().flatten().collect();
    assert_eq!(out.len(), 11, "{out:#?}");
    assert_eq!(out[0], "lab: starting 8 Envoy sidecars and their test apps");
    assert_eq!(
        out[5],
        "lab: scenario 5/10 timeout: a slow callee is cut at the configured timeout"
    );
    assert!(out.iter().all(|l| cols(l) <= WIDTH), "{out:#?}");
}
