//! `meshsmith plan` on the bundled example, as a person runs it: the phase order the
//! product promises, every command pointing at files that exist, every kustomization
//! rendering with `kubectl kustomize`, every phase's `smoke.sh` parsing and holding the tests
//! plan.json lists, re-runs byte-identical (a hand-edited script kept), and a hand-edited
//! plan.json checked with `--verify`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsmith").expect("binary builds");
    cmd.current_dir(dir);
    cmd
}

/// Runs `plan` into `dir/out` and returns the output folder.
fn planned(dir: &Path) -> PathBuf {
    let out = dir.join("out");
    let run = meshsmith(dir)
        .args(["plan", &example(), "-o", out.to_str().unwrap_or_default()])
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("plan.json");
    serde_json::from_str(&text).expect("plan.json is JSON")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_phases_follow_the_product_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = read_json(&planned(tmp.path()).join("plan.json"));
    let phases = plan["phases"].as_array().expect("phases");
    let onboarded: Vec<Vec<String>> = phases.iter().map(|p| names(&p["services"])).collect();
    assert_eq!(
        onboarded[0],
        [
            "email-worker",
            "event-archiver",
            "image-resizer",
            "report-builder",
            "sms-worker"
        ]
    );
    assert_eq!(onboarded[1].len(), 10, "{:?}", onboarded[1]);
    assert!(onboarded[1].contains(&"ledger-service".to_string()));
    assert_eq!(
        onboarded[2],
        [
            "notification-service",
            "order-service",
            "payment-service",
            "product-service",
            "user-service"
        ]
    );
    assert_eq!(onboarded[3], ["api-gateway", "stripe-webhook"]);
    // The closing lock-down: the gateway tier's callees and the tier itself.
    assert_eq!(phases.len(), 5);
    assert!(onboarded[4].is_empty());
    let last = names(&phases[4]["locked"]);
    for s in [
        "order-service",
        "payment-service",
        "api-gateway",
        "stripe-webhook",
    ] {
        assert!(last.contains(&s.to_string()), "{last:?}");
    }
    let rollout = std::fs::read_to_string(tmp.path().join("out/ROLLOUT.md")).expect("ROLLOUT.md");
    assert!(rollout.contains("closing lock-down phase"), "{rollout}");
}

#[test]
fn every_command_names_a_folder_that_exists_and_every_file_it_lists() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    let rollout = std::fs::read_to_string(out.join("ROLLOUT.md")).expect("ROLLOUT.md");
    let mut folders = 0;
    for line in rollout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if pair[0] == "-k" {
                folders += 1;
                let kustomization = out.join(pair[1]).join("kustomization.yaml");
                let text = std::fs::read_to_string(&kustomization)
                    .unwrap_or_else(|e| panic!("{}: {e}", kustomization.display()));
                for listed in text.lines().filter_map(|l| l.strip_prefix("- ")) {
                    let file = out.join(pair[1]).join(listed);
                    assert!(file.is_file(), "{line}: {} is missing", file.display());
                }
            }
        }
    }
    assert!(folders > 20, "only {folders} -k commands");
    // Each phase's smoke tests run from a script that is there.
    let mut scripts = 0;
    for line in rollout.lines() {
        if let Some(script) = line.strip_prefix("sh ") {
            scripts += 1;
            assert!(out.join(script).is_file(), "{line}");
        }
    }
    assert_eq!(scripts, 5, "one `sh phase-N/smoke.sh` per phase");
    // The final configuration is there too.
    assert!(out.join("config/kustomization.yaml").is_file());
    assert!(out
        .join("config/shop/order-service/peer-authentication.yaml")
        .is_file());
}

#[test]
fn transitional_copies_are_permissive_and_dry_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    let pa = std::fs::read_to_string(
        out.join("phase-3/1-sidecars/shop.order-service.peer-authentication.yaml"),
    )
    .expect("copy");
    assert!(pa.contains("mode: PERMISSIVE"), "{pa}");
    let ap = std::fs::read_to_string(
        out.join("phase-3/2-authorization-dry-run/shop.order-service.authorization-policy.yaml"),
    )
    .expect("copy");
    assert!(ap.contains("istio.io/dry-run: \"true\""), "{ap}");
    let strict = std::fs::read_to_string(
        out.join("phase-5/1-mtls-strict/shop.order-service.peer-authentication.yaml"),
    )
    .expect("copy");
    let final_pa =
        std::fs::read_to_string(out.join("config/shop/order-service/peer-authentication.yaml"))
            .expect("generated");
    assert_eq!(strict, final_pa);
}

#[test]
fn a_rerun_is_byte_identical_and_a_hand_edit_is_verified() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    let written = [
        "plan.json",
        "ROLLOUT.md",
        "phase-1/smoke.sh",
        "phase-5/smoke.sh",
    ];
    let before: Vec<Vec<u8>> = written
        .iter()
        .map(|f| std::fs::read(out.join(f)).expect("written"))
        .collect();
    planned(tmp.path());
    for (file, text) in written.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(out.join(file)).expect("written"),
            text,
            "{file}"
        );
    }
    // A script a person changed is theirs: a re-run keeps it, and says so.
    let script = out.join("phase-1/smoke.sh");
    let mine = format!("{}\necho mine\n", String::from_utf8_lossy(&before[2]));
    std::fs::write(&script, &mine).expect("edit");
    let run = meshsmith(tmp.path())
        .args(["plan", &example(), "-o", out.to_str().unwrap_or_default()])
        .output()
        .expect("runs");
    assert!(run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("kept (edited since it was generated"), "{err}");
    assert!(err.contains("phase-1/smoke.sh"), "{err}");
    assert_eq!(std::fs::read_to_string(&script).expect("script"), mine);
    std::fs::write(&script, &before[2]).expect("restore");

    let verify = |dir: &Path| {
        meshsmith(dir)
            .args([
                "plan",
                &example(),
                "--verify",
                out.join("plan.json").to_str().unwrap_or_default(),
            ])
            .output()
            .expect("runs")
    };
    let clean = verify(tmp.path());
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );

    // Move payment-service's STRICT from the lock-down phase into phase 4, whose gateway tier
    // (stripe-webhook calls it) gets its sidecars only then.
    let mut plan = read_json(&out.join("plan.json"));
    let take = |plan: &mut Value, phase: usize| -> Value {
        let step = plan["phases"][phase]["steps"]
            .as_array_mut()
            .and_then(|s| s.iter_mut().find(|s| s["action"] == "mtls-strict"))
            .expect("strict step");
        let effects = step["effects"].as_array_mut().expect("effects");
        let at = effects
            .iter()
            .position(|e| e["service"]["name"] == "payment-service")
            .expect("payment-service STRICT");
        effects.remove(at)
    };
    let effect = take(&mut plan, 4);
    // As a careful person would: the name goes into the phase's `locked` list too.
    let service = effect["service"].clone();
    if let Some(locked) = plan["phases"][3]["locked"].as_array_mut() {
        locked.push(service);
    }
    plan["phases"][3]["steps"]
        .as_array_mut()
        .and_then(|s| s.iter_mut().find(|s| s["action"] == "mtls-strict"))
        .and_then(|s| s["effects"].as_array_mut())
        .expect("phase 4 strict step")
        .push(effect);
    std::fs::write(
        out.join("plan.json"),
        serde_json::to_string_pretty(&plan).expect("serializes"),
    )
    .expect("edit");
    let found = verify(tmp.path());
    assert_eq!(found.status.code(), Some(1));
    let text = String::from_utf8_lossy(&found.stdout);
    assert!(
        text.starts_with("MS401 locked-before-callers-meshed: payment-service.shop"),
        "{text}"
    );
    assert!(text.contains("/phases/3/steps/"), "{text}");
    assert!(
        text.lines().all(|l| l.starts_with("MS401 ")),
        "only MS401 expected: {text}"
    );

    // The edited plan.json is the person's now: a re-run keeps it.
    let edited = std::fs::read(out.join("plan.json")).expect("plan.json");
    planned(tmp.path());
    assert_eq!(
        std::fs::read(out.join("plan.json")).expect("plan.json"),
        edited
    );
}

#[test]
fn every_kustomization_renders_with_kubectl() {
    let kubectl = std::env::var("MESHSMITH_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let available = std::process::Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("MESHSMITH_REQUIRE_KUBECTL").as_deref() != Ok("1"),
            "kubectl is required (MESHSMITH_REQUIRE_KUBECTL=1) but `{kubectl}` does not run"
        );
        eprintln!("SKIPPED: every_kustomization_renders_with_kubectl: `{kubectl}` is not on PATH");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    let mut stack = vec![out.clone()];
    let mut rendered = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("list")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml")
                && !dir.starts_with(out.join("config"))
            {
                let run = std::process::Command::new(&kubectl)
                    .arg("kustomize")
                    .arg(&dir)
                    .output()
                    .expect("kubectl runs");
                assert!(
                    run.status.success(),
                    "{}: {}",
                    dir.display(),
                    String::from_utf8_lossy(&run.stderr)
                );
                let text = String::from_utf8_lossy(&run.stdout);
                assert!(text.contains("kind: "), "{}: empty render", dir.display());
                rendered += 1;
            }
        }
    }
    assert!(rendered > 20, "only {rendered} kustomizations");
}

#[test]
fn every_smoke_script_parses_and_holds_the_tests_plan_json_lists() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    let plan = read_json(&out.join("plan.json"));
    let mut tests = 0;
    for phase in plan["phases"].as_array().expect("phases") {
        let script = out.join(format!("phase-{}/smoke.sh", phase["number"]));
        let listed: Vec<&str> = phase["smoke_tests"]
            .as_array()
            .expect("smoke tests")
            .iter()
            .map(|t| {
                let name = t["name"].as_str().expect("name");
                assert_eq!(
                    t["command"],
                    format!("sh phase-{}/smoke.sh {name}", phase["number"])
                );
                name
            })
            .collect();
        assert_eq!(script.is_file(), !listed.is_empty(), "{}", script.display());
        if listed.is_empty() {
            continue;
        }
        tests += listed.len();
        for shell in ["sh", "dash"] {
            match std::process::Command::new(shell)
                .arg("-n")
                .arg(&script)
                .output()
            {
                Ok(run) => assert!(
                    run.status.success(),
                    "{shell} -n {}: {}",
                    script.display(),
                    String::from_utf8_lossy(&run.stderr)
                ),
                Err(_) => assert_ne!(shell, "sh", "no sh"),
            }
        }
        // --list names the tests, in plan.json's order.
        let run = std::process::Command::new("sh")
            .arg(&script)
            .arg("--list")
            .output()
            .expect("sh runs");
        assert!(run.status.success());
        let names = String::from_utf8_lossy(&run.stdout);
        assert_eq!(names.lines().collect::<Vec<_>>(), listed);
        // Nothing of this machine in it.
        let text = std::fs::read_to_string(&script).expect("script");
        assert!(!text.contains(&example()), "{}", script.display());
        assert!(!text.contains(&tmp.path().display().to_string()));
    }
    assert!(tests > 50, "{tests}");
}

#[test]
fn a_broken_plan_json_is_an_input_error_naming_the_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("plan.json");
    std::fs::write(&file, "{\"format\": 1,\n \"phases\": [\n").expect("write");
    let run = meshsmith(tmp.path())
        .args([
            "plan",
            &example(),
            "--verify",
            file.to_str().unwrap_or_default(),
        ])
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("plan.json:3:"), "{err}");
    // Nothing is written by a verification.
    assert_eq!(std::fs::read_dir(tmp.path()).expect("list").count(), 1);
}

#[test]
fn fewer_phases_on_a_rerun_list_the_files_left_behind_and_prune_removes_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path());
    assert!(out.join("phase-5").is_dir());
    std::fs::write(tmp.path().join("meshsmith.yaml"), "rollout:\n  phases: 2\n").expect("policy");
    let run = meshsmith(tmp.path())
        .args(["plan", &example(), "-o", out.to_str().unwrap_or_default()])
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let err = String::from_utf8_lossy(&run.stderr);
    // Every file of the earlier plan's extra phases is listed, and left until --prune.
    assert!(err.contains("no longer generated"), "{err}");
    assert!(err.contains("--prune removes them"), "{err}");
    let listed = |phase: &str| err.lines().any(|l| l.contains(&format!("/{phase}/")));
    assert!(listed("phase-4") && listed("phase-5"), "{err}");
    assert!(out.join("phase-5").is_dir());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.starts_with("Rollout: 3 phases, 4h"), "{stdout}");
    let pruned = meshsmith(tmp.path())
        .args([
            "plan",
            &example(),
            "-o",
            out.to_str().unwrap_or_default(),
            "--prune",
        ])
        .output()
        .expect("runs");
    assert!(pruned.status.success());
    let err = String::from_utf8_lossy(&pruned.stderr);
    assert!(err.contains("removed (--prune)"), "{err}");
    assert!(!out.join("phase-4").exists() && !out.join("phase-5").exists());
    assert!(out.join("phase-3").is_dir() && out.join("ROLLOUT.md").is_file());
}
