//! `meshsmith check` on the bundled example: with its generated configuration it reports
//! what a reviewer must decide on and nothing else (nothing the generated configuration
//! causes); with only the timeouts hard-coded today
//! it reports the 30 s and the missing timeouts.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn check(args: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (
        out.status.code().unwrap_or(-1),
        doc["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn codes(findings: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["resource"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn generated_config_leaves_only_what_a_reviewer_must_decide() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mesh");
    let gen = Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir.path())
        .args(["generate", "-o", out.to_str().expect("path"), &example()])
        .output()
        .expect("runs");
    assert!(gen.status.success());
    let (code, findings) = check(&[
        "check",
        &example(),
        out.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "no errors: {findings:?}");
    let got = codes(&findings);
    let want: Vec<(String, String)> = [
        // The one workload that does not say whether it wants a sidecar: the manifests'.
        // (No MS203 any more: timeouts are derived along the call graph, so the aggregators
        // that call a 10 s external integration and 10 s workers wait 10 s themselves;
        // before, the role table's 5 s left two deadline inversions.)
        ("MS106", "Deployment workers/email-worker"),
        // Three workers have a Service that nothing calls: their callers are not known, so
        // their policies stay in dry-run, and check says why.
        ("MS208", "Service workers/event-archiver"),
        ("MS208", "Service workers/image-resizer"),
        ("MS208", "Service workers/report-builder"),
        ("MS311", "PeerAuthentication edge/stripe-webhook"),
        ("MS311", "PeerAuthentication workers/event-archiver"),
        ("MS311", "PeerAuthentication workers/image-resizer"),
        ("MS311", "PeerAuthentication workers/report-builder"),
    ]
    .iter()
    .map(|(c, r)| (c.to_string(), r.to_string()))
    .collect();
    assert_eq!(got, want);
    let webhook = findings
        .iter()
        .find(|f| f["code"] == "MS311" && f["resource"] == "PeerAuthentication edge/stripe-webhook")
        .expect("MS311");
    assert_eq!(webhook["severity"], "info");
    assert!(webhook["message"]
        .as_str()
        .is_some_and(|m| m.contains("reason:")));
    let sidecar = findings
        .iter()
        .find(|f| f["code"] == "MS106")
        .expect("MS106");
    assert_eq!(sidecar["severity"], "warning");
}

#[test]
fn todays_hard_coded_timeouts_are_reported() {
    let (_, findings) = check(&["check", &example(), "--format", "json"]);
    let too_long: Vec<String> = findings
        .iter()
        .filter(|f| f["code"] == "MS207")
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        too_long.iter().any(|m| m
            .starts_with("calls from order-service.shop to payment-service.shop wait up to 30s")),
        "{too_long:?}"
    );
    let missing: Vec<&str> = findings
        .iter()
        .filter(|f| f["code"] == "MS205")
        .filter_map(|f| f["resource"].as_str())
        .collect();
    // The callers with no timeout at all that call something synchronously.
    assert_eq!(missing.len(), 4, "{missing:?}");
    for f in &findings {
        assert!(f["code"] != "MS201" && f["code"] != "MS321", "{f}");
    }
}

#[test]
fn the_policy_file_sets_levels_per_code_and_bad_codes_name_their_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |policy: &str| {
        std::fs::write(dir.path().join("meshsmith.yaml"), policy).expect("write policy");
        Command::cargo_bin("meshsmith")
            .expect("binary")
            .current_dir(dir.path())
            .args(["check", &example(), "--format", "json"])
            .output()
            .expect("runs")
    };
    let out = run("checks:\n  MS106: off\n  MS205: error\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "MS205 raised to error fails the run"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().all(|f| f["code"] != "MS106"),
        "MS106 is off"
    );
    assert!(findings
        .iter()
        .filter(|f| f["code"] == "MS205")
        .all(|f| f["severity"] == "error"));
    let bad = run("checks:\n  MS106: off\n  MS999: off\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("meshsmith.yaml:3:"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
