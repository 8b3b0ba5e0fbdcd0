//! `meshsmith check --istioctl[=PATH]`: istioctl's messages on the same inputs join the report
//! (text, JSON, SARIF) under their IST codes with file and line, without repeating what
//! meshsmith reports; asked for and missing is exit 2 with how to get it; an istioctl on PATH
//! that nobody asked for gets one line.
//!
//! The tests that run istioctl find it through `MESHSMITH_ISTIOCTL`, the build
//! `cargo xtask istio-tools istioctl` makes from istio-tools.toml, or PATH; without one they
//! say SKIPPED, and with `MESHSMITH_REQUIRE_ISTIOCTL=1` (CI) they fail.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../meshsmith-core/tests/fixtures/check")
}

fn istioctl(test: &str) -> Option<PathBuf> {
    let tool = xtask::istio_tools::tool("istioctl").expect("a known tool");
    xtask::istio_tools::find(tool, test)
}

/// Runs the binary in the check fixture folder with `path` as PATH; (exit code, stdout,
/// stderr).
fn meshsmith_with_path(args: &[&str], path: &str, stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .args(args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .env("PATH", path)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::io::Write::write_all(&mut pipe, text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("the binary ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn meshsmith(args: &[&str]) -> (i32, String, String) {
    meshsmith_with_path(args, "/usr/bin:/bin", None)
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&json)
        .expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}

/// Routes bound to a Gateway that does not exist: MS331 and MS332 report it, and istioctl
/// (IST0101, IST0132) on the same resource.
const INPUT: &str = "fires/MS331-unknown-gateway.yaml";

#[test]
fn asked_for_and_missing_is_a_usage_error_saying_how_to_get_it() {
    let (code, stdout, stderr) = meshsmith(&["check", "clean", "--istioctl"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("`istioctl` is not on PATH"), "{stderr}");
    assert!(stderr.contains("--istioctl=/path/to/istioctl"), "{stderr}");
    let (code, _, stderr) = meshsmith(&["check", "clean", "--istioctl=/no/such/istioctl"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`/no/such/istioctl` does not exist"),
        "{stderr}"
    );
}

#[test]
fn an_istioctl_on_path_that_was_not_asked_for_gets_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("istioctl");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let (code, _, stderr) = meshsmith_with_path(&["check", "clean"], &path, None);
    assert_eq!(code, 0, "{stderr}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("istioctl")).collect();
    assert_eq!(
        notes,
        ["note: istioctl is on PATH; `--istioctl` adds its analysis to this report"]
    );
    let (_, _, stderr) = meshsmith(&["check", "clean"]);
    assert!(!stderr.contains("istioctl"), "{stderr}");
}

#[test]
fn istioctl_messages_join_the_json_report_once_with_file_and_line() {
    let Some(istioctl) = istioctl("istioctl_messages_join_the_json_report_once_with_file_and_line")
    else {
        return;
    };
    let flag = format!("--istioctl={}", istioctl.display());
    let (code, stdout, stderr) = meshsmith(&["check", "clean", INPUT, "--format", "json", &flag]);
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_valid(&schema("check-findings.schema.json"), &report);
    let version = report["istioctl"]["version"].as_str().expect("version");
    assert!(!version.is_empty() && version != "unknown", "{version}");
    let findings = report["findings"].as_array().expect("findings");
    let of =
        |code: &str| -> Vec<&Value> { findings.iter().filter(|f| f["code"] == code).collect() };
    // istioctl's IST0101 and IST0132 on the VirtualService are what MS331 and MS332 report:
    // counted as duplicates, not repeated.
    let vs = "VirtualService edge/api-gateway-public";
    assert_eq!(of("MS331").len(), 1);
    assert!(
        findings
            .iter()
            .all(|f| !(f["code"] == "IST0101" && f["resource"] == vs)),
        "{stdout}"
    );
    assert!(
        report["istioctl"]["duplicates"].as_u64() >= Some(2),
        "{stdout}"
    );
    // Whatever istioctl adds carries its IST code and points at a file and line.
    for f in findings
        .iter()
        .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with("IST")))
    {
        assert_eq!(f["code"], f["istio_code"], "{f}");
        assert!(
            f["file"].is_string() && f["line"].as_u64() >= Some(1),
            "{f}"
        );
    }
    let total = report["istioctl"]["messages"].as_u64().expect("count");
    let added = findings
        .iter()
        .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with("IST")))
        .count() as u64;
    let duplicates = report["istioctl"]["duplicates"].as_u64().expect("count");
    assert_eq!(total, added + duplicates, "{stdout}");
}

#[test]
fn istioctl_messages_of_standard_input_point_at_stdin() {
    let Some(istioctl) = istioctl("istioctl_messages_of_standard_input_point_at_stdin") else {
        return;
    };
    // A VirtualService for the sidecars with a wildcard host: istioctl's schema validation
    // rejects it (IST0106), which meshsmith does not report itself.
    let input = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: all\n  namespace: shop\nspec:\n  hosts: [\"*\"]\n  http:\n    - route:\n        - destination: {host: orders.shop.svc.cluster.local}\n";
    let flag = format!("--istioctl={}", istioctl.display());
    let (_, stdout, stderr) = meshsmith_with_path(
        &["check", "-", "--format", "json", &flag],
        "/usr/bin:/bin",
        Some(input),
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let ist: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "IST0106")
        .collect();
    assert!(!ist.is_empty(), "{stdout}");
    assert!(
        ist.iter()
            .all(|f| f["file"] == "<stdin>" && f["resource"] == "VirtualService shop/all"),
        "{stdout}"
    );
}

#[test]
fn istioctl_gets_a_sarif_run_of_its_own_and_a_line_in_text() {
    let Some(istioctl) = istioctl("istioctl_gets_a_sarif_run_of_its_own_and_a_line_in_text") else {
        return;
    };
    let flag = format!("--istioctl={}", istioctl.display());
    let (_, stdout, _) = meshsmith(&["check", "clean", INPUT, "--format", "sarif", &flag]);
    let log: Value = serde_json::from_str(&stdout).expect("SARIF");
    assert_valid(&schema("sarif-schema-2.1.0.json"), &log);
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["tool"]["driver"]["name"], "meshsmith");
    assert_eq!(runs[1]["tool"]["driver"]["name"], "istioctl");
    assert!(runs[0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .all(|r| r["ruleId"].as_str().is_some_and(|c| c.starts_with("MS"))));

    let (_, text, _) = meshsmith(&["check", "clean", INPUT, &flag]);
    let last = text.lines().last().unwrap_or("");
    assert!(
        last.starts_with("istioctl ")
            && last.contains("analyzed the same inputs (--use-kube=false)"),
        "{text}"
    );
}
