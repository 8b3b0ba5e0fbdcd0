//! `meshsmith check PATH --plan plan.json` as a person runs it after editing the plan that
//! `meshsmith plan` wrote: the plan's broken rules are MS4xx findings at lines of plan.json,
//! an unedited plan adds none, and a plan.json that does not read is an input error.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// `meshsmith plan examples/shopfront -o DIR`; returns DIR/plan.json.
fn planned(dir: &Path) -> PathBuf {
    let out = dir.join("out");
    let run = meshsmith(dir, &["plan", &example(), "-o", &out.display().to_string()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out.join("plan.json")
}

/// `check examples/shopfront --plan FILE --format json`: exit code and the report.
fn check_with_plan(dir: &Path, plan: &Path) -> (Option<i32>, Value) {
    let file = plan.display().to_string();
    let run = meshsmith(
        dir,
        &["check", &example(), "--plan", &file, "--format", "json"],
    );
    let report = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )
    });
    (run.status.code(), report)
}

fn findings<'a>(report: &'a Value, prefix: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with(prefix)))
                .collect()
        })
        .unwrap_or_default()
}

fn strict(value: &mut Value, phase: usize) -> &mut Vec<Value> {
    value["phases"][phase]["steps"]
        .as_array_mut()
        .and_then(|s| s.iter_mut().find(|s| s["action"] == "mtls-strict"))
        .and_then(|s| s["effects"].as_array_mut())
        .expect("an mtls-strict step")
}

/// Moves payment-service's STRICT effect from the lock-down phase (5) into phase 4, and its
/// name into phase 4's `locked`, as a person editing plan.json would.
fn move_strict_a_phase_earlier(plan: &Path) {
    let text = std::fs::read_to_string(plan).expect("plan.json");
    let mut value: Value = serde_json::from_str(&text).expect("plan.json is JSON");
    let effects = strict(&mut value, 4);
    let at = effects
        .iter()
        .position(|e| e["service"]["name"] == "payment-service")
        .expect("payment-service goes STRICT in phase 5");
    let effect = effects.remove(at);
    let service = effect["service"].clone();
    strict(&mut value, 3).push(effect);
    value["phases"][3]["locked"]
        .as_array_mut()
        .expect("locked")
        .push(service);
    let edited = serde_json::to_string_pretty(&value).expect("serializes");
    std::fs::write(plan, edited).expect("write the edit");
}

#[test]
fn an_unedited_plan_adds_no_plan_findings() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = planned(tmp.path());
    let (_, report) = check_with_plan(tmp.path(), &plan);
    assert!(
        findings(&report, "MS4").is_empty(),
        "{:#}",
        report["findings"]
    );
    // The manifests' own findings are the same as without --plan.
    let run = meshsmith(tmp.path(), &["check", &example(), "--format", "json"]);
    let without: Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    assert_eq!(report, without);
}

#[test]
fn strict_moved_a_phase_earlier_is_ms401_at_its_line_of_plan_json() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = planned(tmp.path());
    move_strict_a_phase_earlier(&plan);
    let (code, report) = check_with_plan(tmp.path(), &plan);
    assert_eq!(code, Some(1), "{report:#}");
    let found = findings(&report, "MS4");
    assert!(!found.is_empty(), "{report:#}");
    let lines: Vec<String> = std::fs::read_to_string(&plan)
        .expect("plan.json")
        .lines()
        .map(str::to_string)
        .collect();
    for f in &found {
        assert_eq!(f["code"], "MS401", "{f:#}");
        assert_eq!(f["severity"], "error");
        assert!(
            f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("payment-service.shop goes STRICT in phase 4")),
            "{f:#}"
        );
        assert_eq!(
            f["file"].as_str(),
            Some(plan.display().to_string().as_str())
        );
        // The line is the moved effect's: its service follows within a few lines.
        let line = f["line"].as_u64().expect("a line") as usize;
        let around = lines[line - 1..(line + 4).min(lines.len())].join("\n");
        assert!(around.contains("payment-service"), "line {line}:\n{around}");
    }
}

#[test]
fn the_text_report_shows_the_plan_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = planned(tmp.path());
    move_strict_a_phase_earlier(&plan);
    let file = plan.display().to_string();
    let run = meshsmith(tmp.path(), &["check", &example(), "--plan", &file]);
    assert_eq!(run.status.code(), Some(1));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("MS401"), "{text}");
    assert!(text.contains("plan.json:"), "{text}");
    // The plan.json line is shown under the finding, marked with the rule's name.
    assert!(
        text.contains("^ locked-before-callers-meshed"),
        "no snippet of plan.json:\n{text}"
    );
}

#[test]
fn a_plan_json_that_does_not_read_is_an_input_error_naming_file_and_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("plan.json");
    std::fs::write(&file, "{\"format\": 1,\n \"phases\": [\n").expect("write");
    let name = file.display().to_string();
    let run = meshsmith(tmp.path(), &["check", &example(), "--plan", &name]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains(&format!("{name}:3:")), "{err}");
}
