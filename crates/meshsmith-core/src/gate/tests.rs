//! The gate over answers as other tools save them: exposition text scraped from a sidecar
//! (named counters) and a range answer (named series, increase over the window), read by
//! `load::traffic::read_metrics`.

use super::*;
use crate::load::traffic::read_metrics_bytes;
use crate::model::{GateThresholds, Phase, QualifiedName};

fn phase() -> Phase {
    let text = r#"{"number": 2, "title": "internal services", "tiers": ["internal"],
        "services": [{"namespace": "shop", "name": "orders"}, {"namespace": "shop", "name": "sweeper"}],
        "locked": [], "steps": [],
        "smoke_tests": [], "watch": [], "proceed_when": "", "roll_back_when": ""}"#;
    serde_json::from_str(text).expect("phase")
}

/// Exposition text: `ok` 200s, `bad` 503s, all of them under 10 ms.
fn scrape(ok: u32, bad: u32) -> String {
    let ends = r#"reporter="source",source_workload="web",source_workload_namespace="shop",destination_service="orders.shop.svc.cluster.local""#;
    let mut out = String::from("# TYPE istio_requests_total counter\n");
    out.push_str(&format!(
        "istio_requests_total{{{ends},response_code=\"200\"}} {ok}\n"
    ));
    out.push_str(&format!(
        "istio_requests_total{{{ends},response_code=\"503\"}} {bad}\n"
    ));
    for le in ["5", "10", "+Inf"] {
        let n = if le == "5" { 0 } else { ok + bad };
        out.push_str(&format!(
            "istio_request_duration_milliseconds_bucket{{{ends},le=\"{le}\"}} {n}\n"
        ));
    }
    out
}

fn judge(baseline: &str, window: &str) -> Result<GateReport, MissingMetrics> {
    let b = read_metrics_bytes("baseline.prom", baseline.as_bytes()).expect("baseline");
    let w = read_metrics_bytes("window.prom", window.as_bytes()).expect("window");
    let phase = phase();
    gate(&GateInput {
        phase: &phase,
        window: "4h",
        window_secs: 14_400.0,
        baseline: &b,
        metrics: &w,
        thresholds: &GateThresholds::default(),
    })
}

#[test]
fn exposition_text_is_judged_by_the_metric_names() {
    let report = judge(&scrape(1000, 1), &scrape(1000, 2)).expect("judged");
    assert_eq!(report.verdict, Verdict::Proceed);
    let row = &report.rows[0];
    assert_eq!(row.service, QualifiedName::new("shop", "orders"));
    // A worker nobody calls: nothing to wait for, and the report says so.
    let sweeper = report
        .rows
        .iter()
        .find(|r| r.service.name == "sweeper")
        .expect("row");
    assert_eq!(sweeper.verdict, Verdict::Proceed);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("sweeper.shop: no request before or during")),
        "{:?}",
        report.notes
    );
    assert_eq!(row.window.requests, 1002.0);
    // Every request under 10 ms, none under 5: p50 interpolated in (5, 10].
    assert_eq!(row.window.p50_ms, Some(7.5));
    let report = judge(&scrape(1000, 1), &scrape(900, 100)).expect("judged");
    assert_eq!(report.verdict, Verdict::RollBack);
    assert_eq!(report.rows[0].reasons[0].figure, "error-rate");
}

#[test]
fn a_range_answer_counts_each_counters_increase_resets_included() {
    let series = |code: &str, values: &str| {
        format!(
            r#"{{"metric": {{"__name__": "istio_requests_total", "reporter": "destination", "source_workload": "web", "source_workload_namespace": "shop", "destination_service_name": "orders", "destination_service_namespace": "shop", "response_code": "{code}"}}, "values": [{values}]}}"#
        )
    };
    let bucket = |le: &str, values: &str| {
        format!(
            r#"{{"metric": {{"__name__": "istio_request_duration_milliseconds_bucket", "destination_service_name": "orders", "destination_service_namespace": "shop", "source_workload": "web", "source_workload_namespace": "shop", "le": "{le}"}}, "values": [{values}]}}"#
        )
    };
    // 200s: 100 -> 600, a restart, then 0 -> 300: 800 in all.
    let answer = format!(
        r#"{{"status": "success", "data": {{"resultType": "matrix", "result": [{}, {}, {}]}}}}"#,
        series(
            "200",
            r#"[0, "100"], [60, "600"], [120, "0"], [180, "300"]"#
        ),
        bucket("10", r#"[0, "0"], [180, "800"]"#),
        bucket("+Inf", r#"[0, "0"], [180, "800"]"#),
    );
    let report = judge(&answer, &answer).expect("judged");
    assert_eq!(report.rows[0].window.requests, 800.0);
    assert_eq!(report.verdict, Verdict::Proceed);
}

#[test]
fn missing_metrics_name_the_metric_the_side_and_the_files() {
    let without_buckets: String = scrape(10, 0)
        .lines()
        .filter(|l| !l.contains("_bucket"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = judge(&scrape(1000, 0), &without_buckets).unwrap_err();
    assert_eq!(err.missing.len(), 1, "{err}");
    assert!(
        err.missing[0].starts_with(
            "window: no `istio_request_duration_milliseconds_bucket` series in window.prom"
        ),
        "{err}"
    );
    let err = judge("# TYPE x counter\n", "# TYPE x counter\n").unwrap_err();
    assert_eq!(err.missing.len(), 4, "{err}");
    let other = scrape(1000, 0).replace("orders.shop", "billing.shop");
    let err = judge(&scrape(1000, 0), &other).unwrap_err();
    assert_eq!(err.missing.len(), 1, "{err}");
    assert!(err.missing[0].starts_with("window: no series about the services of phase 2 (orders.shop, sweeper.shop) in window.prom"), "{err}");
}
