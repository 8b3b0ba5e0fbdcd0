//! `meshsmith onboard`: the README's main command, end to end on the bundled example.

use assert_cmd::Command;
use std::path::PathBuf;

#[test]
fn onboard_writes_the_configuration_and_summarises_it_with_the_check() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("out");
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir.path())
        .args([
            "onboard",
            example.to_str().expect("path"),
            "-o",
            out_dir.to_str().expect("path"),
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("meshsmith onboard: 22 services, 28 edges, 3 external host(s)"),
        "{text}"
    );
    for kind in [
        "AuthorizationPolicy",
        "DestinationRule",
        "PeerAuthentication",
        "VirtualService",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(kind) && l.trim_end().ends_with(" 22")),
            "{kind}: {text}"
        );
    }
    assert!(
        text.contains("edge/stripe-webhook mTLS PERMISSIVE"),
        "{text}"
    );
    // The three workers with a Service nobody calls: their callers are not known (MS208), so
    // they stay PERMISSIVE too, each listed as an exception (MS311).
    assert!(
        text.contains("workers/report-builder mTLS PERMISSIVE: callers unknown"),
        "{text}"
    );
    // The warnings are the manifests' (one workload silent about its sidecar, MS106; three
    // services whose callers are not known, MS208); the generated configuration adds none.
    // Before timeouts were derived along the call graph, it added two deadline inversions
    // (MS203): 6 warnings.
    assert!(text.contains("0 errors, 4 warnings, 4 infos"), "{text}");
    assert!(!text.contains("MS203"), "{text}");
    let held = text
        .split("Held in dry-run:")
        .nth(1)
        .expect("the summary leads with the services held in dry-run");
    for worker in ["event-archiver", "image-resizer", "report-builder"] {
        assert!(
            held.lines().any(|l| l.contains(worker)
                && l.contains("nothing in the manifests calls it")
                && l.contains("MS208")),
            "{worker} is named with its reason: {text}"
        );
    }
    assert!(
        text.find("Held in dry-run").unwrap_or(usize::MAX) < text.find("\nRoles").unwrap_or(0),
        "{text}"
    );
    assert!(out_dir
        .join("config/shop/payment-service/authorization-policy.yaml")
        .is_file());
    assert!(out_dir.join("config/kustomization.yaml").is_file());
    // The rollout plan too, with its outline in the summary.
    assert!(out_dir.join("ROLLOUT.md").is_file() && out_dir.join("plan.json").is_file());
    assert!(out_dir.join("phase-1").is_dir());
    assert!(text.contains("Rollout: 5 phases"), "{text}");
    assert!(text.contains("phase 1: background workers"), "{text}");
    assert!(!text.contains("MS40"), "the plan must verify clean: {text}");
}

fn meshsmith(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example copied into `dir/app`.
fn example_in(dir: &std::path::Path) {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    let mut stack = vec![(example, dir.join("app"))];
    while let Some((from, to)) = stack.pop() {
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("list").flatten() {
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                stack.push((entry.path(), target));
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
}

#[test]
fn an_output_folder_inside_the_input_folder_is_not_read_back_as_manifests() {
    // Before, the second run read the first one's output as hand-written configuration: it
    // kept every "manifest" in place of what it generated, wrote nothing, and --prune then
    // removed all of it.
    for (command, out) in [("generate", "app/mesh"), ("onboard", "app/rollout")] {
        let dir = tempfile::tempdir().expect("temp dir");
        example_in(dir.path());
        let (code, _, stderr) = meshsmith(dir.path(), &[command, "app", "-o", out]);
        assert_eq!(code, 0, "{command}: {stderr}");
        let (code, stdout, stderr) = meshsmith(dir.path(), &[command, "app", "-o", out, "--prune"]);
        assert_eq!(code, 0, "{command} again: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "note: {out} is the output folder: not read as manifests, although app holds it"
            )),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("is kept, and meshsmith's"), "{stderr}");
        let summary = format!("{stdout}{stderr}");
        assert!(
            summary.contains(" 0 files written, "),
            "{command}: {summary}"
        );
        assert!(!summary.contains("removed"), "{command}: {summary}");
        let config = if command == "onboard" {
            dir.path().join(out).join("config")
        } else {
            dir.path().join(out)
        };
        let policy = config.join("edge/api-gateway/authorization-policy.yaml");
        assert!(policy.exists(), "{command}: {}", policy.display());
        // Checked together, as the summary says to, the output's kustomizations (which only
        // list its files) are not worth a warning.
        let config = config.to_str().expect("path");
        let (_, _, stderr) = meshsmith(dir.path(), &["check", "app", config]);
        assert!(!stderr.contains("warning:"), "{command}: {stderr}");
    }
    // The output folder being the input itself would read the output on the next run.
    let dir = tempfile::tempdir().expect("temp dir");
    example_in(dir.path());
    let (code, _, stderr) = meshsmith(dir.path(), &["generate", "app", "-o", "app"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("app is both an input and the output folder"),
        "{stderr}"
    );
}

#[test]
fn nothing_to_configure_is_an_empty_rollout_not_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n",
    )
    .expect("write");
    // Before, onboard failed reading back a configuration folder it never wrote, and left
    // plan.json and ROLLOUT.md behind.
    let (code, stdout, stderr) = meshsmith(dir.path(), &["onboard", "settings.yaml", "-o", "out"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("meshsmith onboard: 0 services, 0 edges"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(details: meshsmith check settings.yaml)"),
        "{stdout}"
    );
    assert!(stdout.contains("\n  2. The cluster needs:"), "{stdout}");
    assert!(!dir.path().join("out/config").exists());
    assert!(dir.path().join("out/plan.json").exists());
}
