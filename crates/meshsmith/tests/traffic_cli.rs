//! `--traffic` as a person uses it: every pipeline command takes it, observed calls become
//! edges, and bad traffic is an error naming the file and line, exit 2, nothing written.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../meshsmith-core/tests/fixtures/traffic")
}

fn hidden_edge() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lab-hidden-edge")
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An Istio access log of `api`'s pod: two outbound calls to `ledger` that no manifest shows.
fn api_log(dir: &Path) -> String {
    let file = dir.join("api-6c9f8d7b5c-k2x9q.log");
    let line = |n: u32| {
        format!(
            "[2026-11-30T10:00:0{n}.000Z] \"POST /entries HTTP/1.1\" 201 - via_upstream - \"-\" 120 40 3 2 \"-\" \
             \"api/1.0\" \"a1b2c3d4-0000-4000-8000-00000000000{n}\" \"ledger.finance:8080\" \"10.0.2.7:8080\" \
             outbound|8080||ledger.finance.svc.cluster.local 10.0.1.5:40110 10.96.0.40:8080 10.0.1.5:40108 - default\n"
        )
    };
    std::fs::write(&file, format!("{}{}", line(1), line(2))).expect("write log");
    file.display().to_string()
}

#[test]
fn an_observed_call_is_an_edge_and_settles_who_calls_the_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = api_log(dir.path());
    let (code, before, _) = run(&["map", &hidden_edge(), "--format", "json"]);
    assert_eq!(code, 0);
    let before: Value = serde_json::from_str(&before).expect("json");
    let ledger = |doc: &Value| {
        doc["services"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["name"] == "ledger").cloned())
            .expect("ledger")
    };
    assert_eq!(ledger(&before)["callers"]["completeness"], "unknown");
    assert!(before["traffic"].is_null());

    let (code, after, stderr) =
        run(&["map", &hidden_edge(), "--traffic", &log, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let after: Value = serde_json::from_str(&after).expect("json");
    assert_eq!(ledger(&after)["callers"]["completeness"], "known");
    let edge = after["edges"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["to"] == "ledger.finance").cloned())
        .expect("learned edge");
    assert_eq!(edge["from"], "api.store");
    assert_eq!(edge["confidence"], "observed");
    assert_eq!(edge["observed"]["requests"], 2);
    assert_eq!(edge["evidence"][0]["kind"], "traffic");
    assert_eq!(edge["evidence"][0]["line"], 1);
    assert!(edge["evidence"][0]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("api-6c9f8d7b5c-k2x9q.log")));
}

#[test]
fn the_learned_caller_is_enforced_by_generate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = api_log(dir.path());
    let (code, yaml, stderr) = run(&["generate", &hidden_edge(), "--traffic", &log, "--stdout"]);
    assert_eq!(code, 0, "{stderr}");
    let policy = yaml
        .split("\n---")
        .find(|d| d.contains("kind: AuthorizationPolicy") && d.contains("name: ledger"))
        .expect("ledger's policy");
    assert!(!policy.contains("istio.io/dry-run"), "{policy}");
    assert!(policy.contains("cluster.local/ns/store/sa/api"), "{policy}");
    // Without the traffic the same policy ships in dry-run, with why.
    let (_, yaml, _) = run(&["generate", &hidden_edge(), "--stdout"]);
    let policy = yaml
        .split("\n---")
        .find(|d| d.contains("kind: AuthorizationPolicy") && d.contains("name: ledger"))
        .expect("ledger's policy");
    assert!(policy.contains("istio.io/dry-run: \"true\""), "{policy}");
    assert!(
        policy.contains("meshsmith.dev/dry-run-reason: \"callers unknown"),
        "{policy}"
    );
}

#[test]
fn bad_traffic_is_an_error_with_file_and_line_and_nothing_is_written() {
    let errors = fixtures().join("errors");
    let manifests = hidden_edge();
    let cases = [
        ("truncated.json", "truncated.json:3:"),
        ("nginx.log", "nginx.log:1: not a traffic format"),
        (
            "missing-labels.json",
            "missing-labels.json:2: a metric without the needed labels",
        ),
        ("access.log.gz", "access.log.gz:1: binary data"),
    ];
    for (file, want) in cases {
        let path = errors.join(file).display().to_string();
        for command in ["map", "check", "generate", "plan", "onboard"] {
            let out = tempfile::tempdir().expect("temp dir");
            let target = out.path().join("out");
            let target = target.to_str().expect("path");
            let mut args = vec![command, manifests.as_str(), "--traffic", &path];
            if matches!(command, "generate" | "plan" | "onboard") {
                args.extend(["-o", target]);
            }
            let (code, stdout, stderr) = run(&args);
            assert_eq!(code, 2, "{command} {file}: {stdout}{stderr}");
            assert!(stderr.contains(want), "{command} {file}: {stderr}");
            assert!(!Path::new(target).exists(), "{command} wrote output");
        }
    }
}

#[test]
fn standard_input_carries_the_manifests_or_the_traffic_not_both() {
    let (code, _, stderr) = run(&["map", "-", "--traffic", "-"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not both"), "{stderr}");
}

/// A hand-written, enforced policy for ledger that admits only `web`, beside the manifests.
fn hand_written_policy(dir: &Path) -> String {
    let file = dir.join("ledger-policy.yaml");
    std::fs::write(
        &file,
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ledger\n  \
         namespace: finance\nspec:\n  selector:\n    matchLabels: {app: ledger}\n  action: ALLOW\n  \
         rules:\n    - from:\n        - source:\n            principals: [\"cluster.local/ns/store/sa/web\"]\n",
    )
    .expect("write policy");
    file.display().to_string()
}

#[test]
fn check_reports_observed_calls_a_policy_denies_and_calls_without_a_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = api_log(dir.path());
    let policy = hand_written_policy(dir.path());
    let manifests = hidden_edge();
    let args = |traffic: bool| {
        let mut a = vec![
            "check",
            manifests.as_str(),
            policy.as_str(),
            "--format",
            "json",
        ];
        if traffic {
            a.extend(["--traffic", log.as_str()]);
        }
        a
    };
    let findings = |out: &str| -> Vec<Value> {
        let doc: Value = serde_json::from_str(out).expect("json");
        doc["findings"].as_array().cloned().unwrap_or_default()
    };
    let about_ledger = |list: &[Value], code: &str| {
        list.iter()
            .filter(|f| {
                f["code"] == code && f["message"].as_str().is_some_and(|m| m.contains("ledger"))
            })
            .count()
    };
    // Without traffic: ledger's callers are unknown, and the enforced guess is flagged.
    let (_, out, _) = run(&args(false));
    let before = findings(&out);
    assert_eq!(about_ledger(&before, "MS322"), 0);
    assert_eq!(about_ledger(&before, "MS215"), 1, "{before:#?}");
    // With it: api -> ledger is a call the policy denies, and it has no timeout.
    let (code, out, stderr) = run(&args(true));
    assert_eq!(code, 1, "{stderr}");
    let after = findings(&out);
    let denied: Vec<&Value> = after.iter().filter(|f| f["code"] == "MS322").collect();
    assert_eq!(denied.len(), 1, "{after:#?}");
    assert!(denied[0]["message"].as_str().is_some_and(|m| m
        .contains("api.store calls ledger.finance")
        && m.contains("store/sa/api")));
    assert!(
        after
            .iter()
            .any(|f| f["code"] == "MS205"
                && f["message"].as_str().is_some_and(|m| m.contains("ledger"))),
        "{after:#?}"
    );
    assert_eq!(about_ledger(&after, "MS215"), 0, "callers are known now");
}
