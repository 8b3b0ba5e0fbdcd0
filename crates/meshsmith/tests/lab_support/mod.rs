//! Shared by the `meshsmith lab` CLI tests: the binary run from a folder without a policy file,
//! the example's path, one lab at a time, and finding Envoy (or skipping loudly).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

pub const SHOPFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shopfront");

/// Run from a folder with no meshsmith.yaml, so only an explicit --policy applies.
pub fn meshsmith() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshsmith"));
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// Envoy-backed tests share two cores; one lab at a time keeps their timing figures honest.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Envoy, or a loud skip (a failure with MESHSMITH_REQUIRE_ENVOY=1).
pub fn envoy_or_skip(test: &str) -> Option<PathBuf> {
    meshsmith_lab::envoy_for_test(test)
}

use meshsmith_lab::{ScenarioKind, ScenarioResult};

/// The results of a `--format json` report.
pub fn json_results(report: &serde_json::Value) -> Vec<ScenarioResult> {
    serde_json::from_value(report["results"].clone()).unwrap_or_else(|e| {
        panic!("the report's results do not read back ({e}):\n{report:#}");
    })
}

/// The results of a text report, read back from its layout: a `scenario: what it proves`
/// heading, then per result a `  PASS  subject` row with its `expected`, `measured` and `why`
/// lines under it, each wrapped with a hanging indent.
pub fn text_results(text: &str) -> Vec<ScenarioResult> {
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut kind = None;
    let mut field: i32 = 0;
    for line in text.lines() {
        let fields = [
            "        expected  ",
            "        measured  ",
            "        why       ",
        ];
        if let Some(k) = line
            .split_once(": ")
            .and_then(|(h, _)| ScenarioKind::from_name(h))
        {
            kind = Some(k);
        } else if let (Some(k), Some((verdict, subject))) = (kind, row(line)) {
            results.push(ScenarioResult {
                scenario: k,
                subject: subject.to_string(),
                passed: verdict != "FAIL",
                not_run: verdict == "SKIP",
                expected: String::new(),
                measured: String::new(),
                failure: None,
            });
            field = 0;
        } else if let Some(r) = results.last_mut() {
            if let Some(i) = fields.iter().position(|f| line.starts_with(f)) {
                field = i as i32 + 1;
                *part(r, field) = line[fields[i].len()..].to_string();
            } else if field >= 0 && line.starts_with("        ") && !line.trim().is_empty() {
                let text = part(r, field);
                text.push(' ');
                text.push_str(line.trim());
            } else {
                field = -1;
            }
        }
    }
    results
}

fn row(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("  ")?;
    let (verdict, subject) = rest.split_at_checked(4)?;
    let subject = subject.strip_prefix("  ")?;
    ["PASS", "FAIL", "SKIP"]
        .contains(&verdict)
        .then_some((verdict, subject))
}

/// The field a line continues: 0 the subject, then expected, measured and why.
fn part(r: &mut ScenarioResult, field: i32) -> &mut String {
    match field {
        1 => &mut r.expected,
        2 => &mut r.measured,
        3 => r.failure.get_or_insert_with(String::new),
        _ => &mut r.subject,
    }
}

/// The one result of `kind` on `subject`.
pub fn find<'a>(results: &'a [ScenarioResult], kind: &str, subject: &str) -> &'a ScenarioResult {
    results
        .iter()
        .find(|r| r.scenario.name() == kind && r.subject == subject)
        .unwrap_or_else(|| panic!("no {kind} result on {subject}: {results:#?}"))
}

/// Panics unless `holds`, naming the scenario and printing its whole result with `what` was
/// checked: the one way these tests judge a scenario's outcome.
#[track_caller]
pub fn assert_scenario(result: &meshsmith_lab::ScenarioResult, holds: bool, what: &str) {
    meshsmith_lab::assert_scenario(result, holds, what);
}
