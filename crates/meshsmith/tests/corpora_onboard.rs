//! `onboard` on every corpus of `shared/corpora`, with no traffic: the summary leads with every
//! service whose callers meshsmith does not know, each with its reason, before anything else.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn corpora() -> Option<Vec<PathBuf>> {
    let root = match std::env::var("MESHSMITH_SHARED") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
    .join("corpora");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    if all.is_empty() {
        assert!(
            std::env::var("MESHSMITH_REQUIRE_SHARED").as_deref() != Ok("1"),
            "no corpora in {} and MESHSMITH_REQUIRE_SHARED=1",
            root.display()
        );
        eprintln!(
            "\n*** SKIPPED: onboard on the corpora: no corpora in {} ***\n",
            root.display()
        );
        return None;
    }
    Some(all)
}

fn meshsmith(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.code() != Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_summary_names_every_service_held_in_dry_run_with_its_reason() {
    let Some(corpora) = corpora() else {
        return;
    };
    for corpus in corpora {
        let corpus = corpus.display().to_string();
        let (_, json) = meshsmith(&["map", &corpus, "--format", "json"]);
        let graph: Value = serde_json::from_str(&json).expect("map json");
        let held: Vec<(String, String)> = graph["services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["callers"]["completeness"] != "known")
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("").to_string();
                let code = s["callers"]["reasons"][0]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                (name, code)
            })
            .collect();
        let out = tempfile::tempdir().expect("temp dir");
        let dir = out.path().join("out");
        let (code, summary) = meshsmith(&["onboard", &corpus, "-o", dir.to_str().expect("path")]);
        every_error_is_shown_and_fails_the_run(&corpus, &dir, code, &summary);
        if held.is_empty() {
            assert!(!summary.contains("Held in dry-run"), "{corpus}: {summary}");
            continue;
        }
        let block = summary
            .split("Held in dry-run:")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or_else(|| panic!("{corpus}: the summary does not lead with them:\n{summary}"));
        assert!(
            summary.find("Held in dry-run") < summary.find("\nRoles"),
            "{corpus}: not first"
        );
        for (name, code) in &held {
            assert!(
                block.lines().any(|l| {
                    let l = l.trim_start();
                    (l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}.")))
                        && l.contains(&format!("[{code}]"))
                }),
                "{corpus}: {name} ({code}) is not named with its reason:\n{block}"
            );
        }
    }
}

/// The check of what onboard wrote: every error is in the summary (none hidden behind a
/// count), and onboard exits 1 exactly when there is one.
fn every_error_is_shown_and_fails_the_run(
    corpus: &str,
    dir: &std::path::Path,
    code: i32,
    summary: &str,
) {
    let config = dir.join("config").display().to_string();
    let (_, json) = meshsmith(&["check", corpus, &config, "--format", "json"]);
    let report: Value = serde_json::from_str(&json).expect("check json");
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] == "error")
        .collect();
    for e in &errors {
        let message = e["message"].as_str().unwrap_or("");
        assert!(
            summary.contains(message),
            "{corpus}: the error `{message}` is not in the summary:\n{summary}"
        );
    }
    assert_eq!(
        code,
        if errors.is_empty() { 0 } else { 1 },
        "{corpus}: {summary}"
    );
    if let Some(first) = errors.first() {
        let at = summary
            .find(first["message"].as_str().unwrap_or(""))
            .unwrap_or(0);
        let warning = summary.find("  warning ").unwrap_or(usize::MAX);
        assert!(at < warning, "{corpus}: errors come before warnings");
    }
}
