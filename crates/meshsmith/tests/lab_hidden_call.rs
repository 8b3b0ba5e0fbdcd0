//! `meshsmith lab --call FROM:TO` and `--logs DIR --log-format`: the flags' usage errors, and
//! a run on `fixtures/lab-hidden-edge` whose sidecar logs come out in Istio's text format, one
//! file per pod, with the hidden call in them.

mod lab_support;

use lab_support::{assert_scenario, envoy_or_skip, find, meshsmith, serial, text_results};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lab-hidden-edge"
);

fn usage_error(args: &[&str]) -> String {
    let out = meshsmith().args(args).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_calls_and_log_flags_are_usage_errors_that_say_why() {
    let services = ["lab", FIXTURE, "--services", "web,api,ledger"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        services.iter().chain(extra).copied().collect()
    };
    let err = usage_error(&with(&["--call", "api"]));
    assert!(err.contains("is not FROM:TO"), "{err}");
    let err = usage_error(&with(&["--call", "api:nope"]));
    assert!(err.contains("service `nope` is not in the graph"), "{err}");
    let err = usage_error(&[
        "lab",
        FIXTURE,
        "--services",
        "web,api",
        "--call",
        "api:ledger",
    ]);
    assert!(err.contains("add it to --services"), "{err}");
    let err = usage_error(&with(&["--call", "api:api.store"]));
    assert!(err.contains("calling itself"), "{err}");
    let err = usage_error(&with(&["--log-format", "text"]));
    assert!(err.contains("--logs"), "{err}");
    let err = usage_error(&with(&["--logs", "/tmp/x", "--log-format", "yaml"]));
    assert!(err.contains("possible values: text, json"), "{err}");
    // Two services the graph does not join become runnable with a call between them.
    let err = usage_error(&["lab", FIXTURE, "--services", "api,ledger"]);
    assert!(err.contains("--call FROM:TO"), "{err}");
}

#[test]
fn the_sidecars_logs_come_out_in_istios_text_format_one_file_per_pod() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("the_sidecars_logs_come_out") else {
        return;
    };
    let logs = tempfile::tempdir().expect("temp dir");
    let out = meshsmith()
        .args([
            "lab",
            FIXTURE,
            "--services",
            "web,api,ledger",
            "--call",
            "api:ledger",
            "--scenario",
            "hidden-call",
            "--logs",
        ])
        .arg(logs.path())
        .args(["--log-format", "text", "--envoy"])
        .arg(&envoy)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    // Whether the call is served depends on the generated policy; here only its report and
    // its logs matter.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{text}");
    assert!(
        text.contains("calls the graph does not show: api -> ledger"),
        "{text}"
    );
    let results = text_results(&text);
    let call = find(&results, "hidden-call", "api -> ledger (not in the graph)");
    assert_scenario(call, !call.not_run, "runs");
    assert!(
        text.contains(&format!(
            "access logs of 4 sidecars (one per pod) written to {}",
            logs.path().display()
        )),
        "{text}"
    );
    let mut files: Vec<String> = std::fs::read_dir(logs.path())
        .expect("logs")
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let api: Vec<&String> = files.iter().filter(|f| f.starts_with("api-")).collect();
    assert_eq!(api.len(), 2, "two api replicas, two pods: {files:?}");
    // api's first pod made the call: one line in Istio's text format, naming ledger.
    let first = std::fs::read_to_string(logs.path().join(api[0]))
        .and_then(|a| Ok(a + &std::fs::read_to_string(logs.path().join(api[1]))?))
        .expect("api logs");
    let line = first
        .lines()
        .find(|l| l.contains("\"ledger.finance.svc.cluster.local\""))
        .unwrap_or_else(|| panic!("no line for the call:\n{first}"));
    assert!(
        line.starts_with('[') && line.contains("] \"GET / HTTP/1.1\" "),
        "{line}"
    );
    assert!(
        line.contains(" outbound|8080||ledger.finance.svc.cluster.local ")
            || line.contains(" PassthroughCluster "),
        "{line}"
    );
}
