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
