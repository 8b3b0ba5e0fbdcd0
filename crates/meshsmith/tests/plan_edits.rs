//! A person edits files of the generated configuration (`DIR/config/`) and runs `onboard`
//! again: the edits are kept, and the rollout's step folders apply them as they are, or, when
//! an edit leaves a file no step can be built from, nothing is written and the error names
//! the file. `--force` goes back to the generated files and steps.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const AUDITOR: &str = "cluster.local/ns/ops/sa/auditor";
const POLICY: &str = "config/shop/order-service/authorization-policy.yaml";
const ROUTES: &str = "config/shop/order-service/virtual-service.yaml";
const DRY_RUN_COPY: &str =
    "phase-3/2-authorization-dry-run/shop.order-service.authorization-policy.yaml";
const ENFORCED_COPY: &str =
    "phase-5/2-authorization-enforce/shop.order-service.authorization-policy.yaml";
const ROUTES_COPY: &str = "phase-3/4-virtual-services/shop.order-service.virtual-service.yaml";

fn onboard(dir: &Path, extra: &[&str]) -> std::process::Output {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    let mut args = vec![
        "onboard".to_string(),
        example.display().to_string(),
        "-o".to_string(),
        dir.join("out").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir)
        .args(&args)
        .output()
        .expect("runs")
}

fn read(out: &Path, path: &str) -> String {
    std::fs::read_to_string(out.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Adds a principal to the policy and sets the first route's timeout to 7s, as a person
/// would in an editor.
fn edit(out: &Path) {
    let policy = read(out, POLICY);
    let principal = policy
        .lines()
        .find(|l| l.trim_start().starts_with("- cluster.local/"))
        .expect("a principal");
    let indent = &principal[..principal.len() - principal.trim_start().len()];
    let edited = policy.replacen(principal, &format!("{principal}\n{indent}- {AUDITOR}"), 1);
    std::fs::write(out.join(POLICY), edited).expect("edit the policy");
    let routes = read(out, ROUTES);
    let timeout = routes
        .lines()
        .find(|l| l.trim_start().starts_with("timeout: "))
        .expect("a timeout");
    let edited = routes.replacen(
        timeout,
        &timeout.replace(timeout.trim_start(), "timeout: 7s"),
        1,
    );
    assert_ne!(edited, routes);
    std::fs::write(out.join(ROUTES), edited).expect("edit the routes");
}

fn ok(run: &std::process::Output) {
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn the_step_folders_apply_the_configuration_as_a_person_edited_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    ok(&onboard(tmp.path(), &[]));
    assert!(!read(&out, DRY_RUN_COPY).contains(AUDITOR));
    edit(&out);
    let (policy, routes) = (read(&out, POLICY), read(&out, ROUTES));
    ok(&onboard(tmp.path(), &[]));
    // The edits are kept, and every step that applies them carries them.
    assert_eq!(read(&out, POLICY), policy);
    assert_eq!(read(&out, ROUTES), routes);
    let dry_run = read(&out, DRY_RUN_COPY);
    assert!(dry_run.contains(AUDITOR), "{dry_run}");
    assert!(dry_run.contains("istio.io/dry-run: \"true\""), "{dry_run}");
    let enforced = read(&out, ENFORCED_COPY);
    assert!(enforced.contains(AUDITOR), "{enforced}");
    assert!(!enforced.contains("istio.io/dry-run"), "{enforced}");
    let copy = read(&out, ROUTES_COPY);
    assert!(copy.contains("timeout: 7s"), "{copy}");
    // The plan says so, and checks the policy it enforces.
    let plan = read(&out, "plan.json");
    assert!(
        plan.contains(&format!(
            "{POLICY} was edited since it was generated: the steps apply it as it is now"
        )),
        "{plan}"
    );
    assert!(plan.contains(AUDITOR));
    // --force writes the generated files again, and the steps follow.
    ok(&onboard(tmp.path(), &["--force"]));
    assert!(!read(&out, POLICY).contains(AUDITOR));
    assert!(!read(&out, DRY_RUN_COPY).contains(AUDITOR));
    assert!(!read(&out, ROUTES_COPY).contains("timeout: 7s"));
}

#[test]
fn an_edit_no_step_can_be_built_from_stops_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    ok(&onboard(tmp.path(), &[]));
    let routes = read(&out, ROUTES);
    std::fs::write(out.join(ROUTES), routes.replace("spec:", "spec: [unclosed")).expect("edit");
    let plan = read(&out, "plan.json");
    let copy = read(&out, ROUTES_COPY);
    let run = onboard(tmp.path(), &[]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(&out.join(ROUTES).display().to_string()),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(read(&out, "plan.json"), plan);
    assert_eq!(read(&out, ROUTES_COPY), copy);
}
