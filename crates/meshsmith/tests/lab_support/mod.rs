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
