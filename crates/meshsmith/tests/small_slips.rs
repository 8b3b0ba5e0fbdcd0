//! Small things a person notices in the first hour: counts in plain English, a code typed
//! with a letter O, `explain` naming the service once, `map` showing roles and namespaces.

use assert_cmd::Command;
use std::path::PathBuf;

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
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

#[test]
fn a_code_typed_with_a_letter_o_suggests_the_code_meant() {
    let (code, _, stderr) = run(&["check", &example(), "--ignore", "MS31O"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean MS310?"), "{stderr}");
    assert!(!stderr.contains("MS101"), "{stderr}");
}

#[test]
fn counts_read_as_english() {
    // One warning left: MS106 for email-worker; the summary says "1 warning".
    let mut args = vec!["check".to_string(), example()];
    for code in [
        "MS203", "MS204", "MS205", "MS207", "MS208", "MS310", "MS323",
    ] {
        args.extend(["--ignore".to_string(), code.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, out, _) = run(&args);
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.contains(", 1 warning,") || last.contains("no findings"),
        "{last}"
    );
    assert!(!last.contains("1 warnings"), "{last}");
}

#[test]
fn explain_names_the_service_once_then_its_role_and_callers() {
    let (code, out, stderr) = run(&["explain", "payment-service", &example()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out.lines()
            .filter(|l| l.trim() == "payment-service.shop")
            .count(),
        1,
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "payment-service.shop");
    assert!(
        lines[1].starts_with("  role external-integration: "),
        "{out}"
    );
    assert!(lines[2].starts_with("  callers known: "), "{out}");
}

#[test]
fn map_shows_every_service_with_its_namespace_and_role() {
    let (code, out, _) = run(&["map", &example()]);
    assert_eq!(code, 0);
    let section = out
        .split("Services (namespace, role, protocol)\n")
        .nth(1)
        .expect("a services section");
    let rows: Vec<&str> = section.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 22, "{section}");
    assert!(rows.iter().any(|r| r.split_whitespace().collect::<Vec<_>>()
        == ["shop", "payment-service", "external-integration", "HTTP"]));
}

#[test]
fn a_lowered_retry_count_reads_as_a_sentence() {
    let (code, out, _) = run(&["explain", "order-service", &example()]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.contains("retries.attempts = 0"))
        .expect("order-service's retries are capped");
    assert!(line.contains("  lowered from 2: "), "{line}");
    assert!(
        !line.contains("retried lowered") && !line.contains("aggregator lowered"),
        "{line}"
    );
}

#[test]
fn an_output_path_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "mine\n").expect("write");
    let file_arg = file.to_str().expect("path");
    for command in ["generate", "plan", "onboard"] {
        let (code, _, stderr) = run(&[command, &example(), "-o", file_arg]);
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("{file_arg}: is a file, not a folder")),
            "{command}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "mine\n");
    }
}

#[test]
fn an_error_quoting_the_input_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("svc.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"\\u202eevil\\e[31m\"\nspec:\n  ports: [{port: 80}]\n",
    )
    .expect("write");
    let (code, _, stderr) = run(&["map", file.to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`\\u{202e}evil\\u{1b}[31m`"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
        "{stderr:?}"
    );
}
