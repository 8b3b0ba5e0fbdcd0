//! Shared by the lab's integration tests: finding Envoy (or skipping loudly), the spec built
//! from the real examples/shopfront (load -> inventory -> infer -> generate -> spec_from_mesh,
//! with an optional policy file), one lab at a time, checks that nothing outlived a run, and
//! `assert_scenario`, which names the scenario and prints its whole result when a check fails.
#![allow(dead_code)]

use meshsmith_core::generate::{generate, GenerateOptions};
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::model::{MeshConfig, Topology};
use meshsmith_core::policy;
use meshsmith_lab::from_mesh::{choose_path, spec_from_mesh};
use meshsmith_lab::{LabOptions, LabSpec, ScenarioKind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Envoy-backed tests share two cores; running them one at a time keeps timing figures honest.
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

const SHOPFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shopfront");

/// The example's graph and its generated configuration under `policy_text` (a meshsmith.yaml).
pub fn generated(policy_text: &str) -> (Topology, MeshConfig, String) {
    let loaded = load(&[Input::parse(SHOPFRONT)], &Limits::default()).expect("example loads");
    let inventory = meshsmith_core::inventory::inventory(&loaded.objects, "default");
    let topology = meshsmith_core::infer::infer(&inventory);
    let policy = policy::parse("meshsmith.yaml", policy_text).expect("policy parses");
    let mesh = generate(&topology, &policy, &GenerateOptions::default());
    (topology, mesh, policy.trust_domain)
}

/// The lab spec of the default path, from the generated configuration.
pub fn spec_from(topology: &Topology, mesh: &MeshConfig, trust_domain: &str) -> LabSpec {
    let path = choose_path(topology, mesh).expect("a path");
    spec_from_mesh(topology, mesh, &path, &[], trust_domain).expect("spec")
}

/// The default path of examples/shopfront under `policy_text`.
pub fn shopfront(policy_text: &str) -> LabSpec {
    let (topology, mesh, trust_domain) = generated(policy_text);
    spec_from(&topology, &mesh, &trust_domain)
}

pub fn options(envoy: PathBuf, scenarios: &[ScenarioKind]) -> LabOptions {
    LabOptions {
        envoy,
        scenarios: scenarios.to_vec(),
        logs: None,
        istiod: None,
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

/// Runs `spec` and cancels it while its first request is in flight, as Ctrl-C would; then
/// every Envoy it started (and istiod, whose pid is among them) must be gone and its run
/// folder removed.
pub fn cancel_midway_and_assert_cleaned_up(spec: &LabSpec, opts: &LabOptions) {
    use meshsmith_lab::Progress;
    let started: Mutex<Option<(Vec<u32>, PathBuf)>> = Mutex::new(None);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let outcome = runtime.block_on(async {
        let progress = |p: &Progress| match p {
            Progress::Ready {
                envoy_pids,
                run_dir,
                ..
            } => {
                *started.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((envoy_pids.clone(), run_dir.clone()));
            }
            Progress::Running { .. } => {
                if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    let _ = tx.send(());
                }
            }
            _ => {}
        };
        tokio::select! {
            r = meshsmith_lab::run(spec, opts, &progress) => Some(r.map(|r| r.results.len())),
            _ = rx => None,
        }
    });
    assert!(
        outcome.is_none(),
        "the run finished before it could be cancelled"
    );
    let (pids, dir) = started
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("fleet came up");
    assert_cleaned_up(&pids, &dir);
}

/// Panics unless `holds`, naming the scenario and printing its whole result with `what` was
/// checked: the one way these tests judge a scenario's outcome.
#[track_caller]
pub fn assert_scenario(result: &meshsmith_lab::ScenarioResult, holds: bool, what: &str) {
    meshsmith_lab::assert_scenario(result, holds, what);
}
