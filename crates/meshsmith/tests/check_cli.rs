//! `meshsmith check` and `meshsmith explain` as a person or CI runs them: exit codes per
//! `--fail-on`, JSON and SARIF valid against their schemas, text output with source lines.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../meshsmith-core/tests/fixtures/check")
}

/// Runs the binary in the check fixture folder; returns (exit code, stdout, stderr).
fn meshsmith(args: &[&str]) -> (i32, String, String) {
    // A fixture read after `clean` replaces clean objects of the same name by design (as in
    // the fixture grid), which MS341 reports; it is set aside unless its own fixture is read.
    let overlay = args.contains(&"clean")
        && args.iter().any(|a| a.starts_with("fires/"))
        && !args.iter().any(|a| a.contains("MS341"));
    let mut args = args.to_vec();
    if overlay {
        args.extend(["--ignore", "MS341"]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .args(&args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(path).expect("schema file");
    let json: Value = serde_json::from_str(&text).expect("schema is JSON");
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

const HOST: &str = "fires/MS303-unknown-destination-host.yaml";
const DR_HOST: &str = "fires/MS307-unknown-destination-rule-host.yaml";
const EXCEPTION: &str = "fires/MS311-permissive-mtls-exception.yaml";

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(meshsmith(&["check", "clean"]).0, 0);
    assert_eq!(meshsmith(&["check", "clean", HOST]).0, 1);
    // A warning fails only from --fail-on warning down; an info only with --fail-on info.
    assert_eq!(meshsmith(&["check", "clean", DR_HOST]).0, 0);
    assert_eq!(
        meshsmith(&["check", "clean", DR_HOST, "--fail-on", "warning"]).0,
        1
    );
    assert_eq!(
        meshsmith(&["check", "clean", EXCEPTION, "--fail-on", "warning"]).0,
        0
    );
    assert_eq!(
        meshsmith(&["check", "clean", EXCEPTION, "--fail-on", "info"]).0,
        1
    );
}

#[test]
fn per_code_levels_change_the_outcome() {
    assert_eq!(
        meshsmith(&["check", "clean", HOST, "--ignore", "MS303"]).0,
        0
    );
    assert_eq!(
        meshsmith(&["check", "clean", HOST, "--severity", "MS303=warning"]).0,
        0
    );
    assert_eq!(
        meshsmith(&["check", "clean", DR_HOST, "--severity", "ms307=error"]).0,
        1
    );
    let (code, _, err) = meshsmith(&["check", "clean", "--ignore", "MS999"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown check code `MS999`"), "{err}");
}

#[test]
fn unusable_input_is_reported_with_its_code_and_exits_2() {
    let (code, out, _) = meshsmith(&[
        "check",
        "fires/MS101-invalid-syntax.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(doc["findings"][0]["code"], "MS101");
    assert_eq!(doc["findings"][0]["line"], 8);
    assert_eq!(meshsmith(&["check", "no/such/dir"]).0, 2);
}

#[test]
fn json_output_follows_its_schema() {
    let validator = schema("check-findings.schema.json");
    for args in [
        vec!["check", "clean", HOST, "--format", "json"],
        vec!["check", "clean", EXCEPTION, DR_HOST, "--format", "json"],
        vec![
            "check",
            "fires/MS101-invalid-syntax.yaml",
            "--format",
            "json",
        ],
        vec!["check", "clean", "--format", "json"],
    ] {
        let (_, out, _) = meshsmith(&args);
        let doc: Value = serde_json::from_str(&out).expect("JSON output");
        assert_valid(&validator, &doc);
    }
    let (_, out, _) = meshsmith(&["check", "clean", HOST, "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).expect("JSON output");
    let f = &doc["findings"][0];
    assert_eq!(f["code"], "MS303");
    assert_eq!(f["istio_code"], "IST0101");
    assert_eq!(f["file"], HOST);
    assert_eq!(f["line"], 11);
    assert_eq!(doc["summary"]["error"], 1);
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let validator = schema("sarif-schema-2.1.0.json");
    for args in [
        vec!["check", "clean", HOST, "--format", "sarif"],
        vec!["check", "clean", EXCEPTION, DR_HOST, "--format", "sarif"],
        vec![
            "check",
            "fires/MS101-invalid-syntax.yaml",
            "--format",
            "sarif",
        ],
    ] {
        let (_, out, _) = meshsmith(&args);
        let doc: Value = serde_json::from_str(&out).expect("SARIF output is JSON");
        assert_valid(&validator, &doc);
    }
    let (_, out, _) = meshsmith(&["check", "clean", HOST, "--format", "sarif"]);
    let doc: Value = serde_json::from_str(&out).expect("SARIF output is JSON");
    let run = &doc["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "MS303");
    assert_eq!(result["level"], "error");
    let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    let rule = &run["tool"]["driver"]["rules"][index];
    assert_eq!(rule["id"], "MS303");
    assert_eq!(rule["properties"]["istioCode"], "IST0101");
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap_or("")
        .contains("## Why it matters"));
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], HOST);
    assert_eq!(location["region"]["startLine"], 11);
}

#[test]
fn a_schema_violation_is_caught_by_the_sarif_schema() {
    // The validator must be able to fail: a result without its required message is invalid.
    let validator = schema("sarif-schema-2.1.0.json");
    let (_, out, _) = meshsmith(&["check", "clean", HOST, "--format", "sarif"]);
    let mut doc: Value = serde_json::from_str(&out).expect("SARIF output is JSON");
    if let Some(result) = doc["runs"][0]["results"][0].as_object_mut() {
        result.remove("message");
    }
    assert!(!validator.is_valid(&doc));
}

#[test]
fn text_output_shows_the_source_line() {
    let (code, out, _) = meshsmith(&["check", "clean", HOST]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("text-unknown-destination-host", out);
}

#[test]
fn text_output_shows_the_source_line_of_standard_input() {
    // Files are read again for their lines; standard input cannot be, so its text is kept.
    let text = std::fs::read_to_string(fixtures().join(HOST)).expect("fixture");
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .args(["check", "-"])
        .env("NO_COLOR", "1")
        .write_stdin(text)
        .output()
        .expect("the binary runs");
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("MS303"), "{out}");
    assert!(out.contains("host: payment"), "{out}");
}

#[test]
fn crds_validate_istio_resources() {
    let (code, out, _) = meshsmith(&[
        "check",
        "clean",
        "fires/MS302-crd-schema-violation.yaml",
        "--crds",
        "crds",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(doc["findings"][0]["code"], "MS302");
    assert_eq!(meshsmith(&["check", "clean", "--crds", "crds"]).0, 0);
    assert_eq!(meshsmith(&["check", "clean", "--crds", "clean"]).0, 2);
}

#[test]
fn explain_prints_the_rule_documentation() {
    let (code, out, _) = meshsmith(&["explain", "MS313"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("MS313 strict-mtls-on-external-receiver (error)"));
    assert!(out.contains("## Fix"));
    assert_eq!(meshsmith(&["explain", "MS999"]).0, 2);
}

#[test]
fn text_output_shows_the_line_a_syntax_error_is_on() {
    let (code, out, _) = meshsmith(&["check", "fires/MS101-invalid-syntax.yaml"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("text-invalid-syntax", out);
}
