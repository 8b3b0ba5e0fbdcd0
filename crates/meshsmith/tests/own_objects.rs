//! Objects the manifests already hold: `onboard` never writes one of meshsmith's in their
//! place (nor a step that would apply or delete it), says what it would have set, and a
//! VirtualService it replaces on purpose comes back on rollback; `check` flags an object
//! defined twice with other content.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/own_objects/{name}"))
}

fn meshsmith(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Every file under `dir`, relative to it, with its text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("folder").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("below").display().to_string();
                out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn onboard_keeps_the_teams_peer_authentication_and_destination_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = fixture("app.yaml");
    let (_, text) = meshsmith(
        dir.path(),
        &["onboard", app.to_str().expect("path"), "-o", "out"],
    );
    let out = dir.path().join("out");
    assert!(out.join("ROLLOUT.md").is_file(), "{text}");
    // Nothing of meshsmith's under the team's kinds and names, in config/ or any step.
    for (path, body) in files(&out) {
        let theirs = ["kind: PeerAuthentication", "kind: DestinationRule"]
            .iter()
            .any(|k| body.contains(k))
            && body.contains("name: api\n")
            && body.contains("namespace: shop");
        assert!(
            !theirs,
            "{path} holds an object of the team's name:\n{body}"
        );
    }
    assert!(!out
        .join("config/shop/api/peer-authentication.yaml")
        .exists());
    assert!(!out.join("config/shop/api/destination-rule.yaml").exists());
    // So no rollback deletes them: every `kubectl delete -k` is of a step folder, checked above.
    // The summary names them and what meshsmith would have set; the plan still verifies.
    for wanted in [
        "the manifests' PeerAuthentication api.shop",
        "it would have set mtls.mode STRICT",
        "the manifests' DestinationRule api.shop",
        "connectionPool.tcp.maxConnections 100",
    ] {
        assert!(text.contains(wanted), "no `{wanted}` in:\n{text}");
    }
    assert!(!text.contains("MS401"), "{text}");
    // And the check of what was written reports both, under their rule.
    assert!(
        text.lines().any(|l| l
            .trim_start()
            .starts_with("warning MS342 own-object-kept: 2")),
        "{text}"
    );
    // The check of what was written finds no object defined twice.
    let (_, check) = meshsmith(
        dir.path(),
        &["check", app.to_str().expect("path"), "out/config"],
    );
    assert!(!check.contains("MS341"), "{check}");
}

#[test]
fn a_replaced_pass_through_virtual_service_is_applied_again_on_rollback() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = fixture("pass-through.yaml");
    let (code, text) = meshsmith(
        dir.path(),
        &["onboard", input.to_str().expect("path"), "-o", "out"],
    );
    assert_eq!(code, 0, "{text}");
    let out = dir.path().join("out");
    let step = files(&out)
        .into_iter()
        .find(|(p, _)| p.ends_with("virtual-services/shop.api-route.virtual-service.yaml"))
        .map(|(p, _)| p)
        .unwrap_or_else(|| panic!("no step applies shop/api-route:\n{text}"));
    let folder = step.rsplit_once('/').expect("in a folder").0.to_string();
    let original = out
        .join(&folder)
        .join("rollback/shop.api-route.virtual-service.yaml");
    let body = std::fs::read_to_string(&original).expect("the original is in the rollback folder");
    assert!(
        body.contains("team: shop") && !body.contains("timeout"),
        "{body}"
    );
    let rollout = std::fs::read_to_string(out.join("ROLLOUT.md")).expect("ROLLOUT.md");
    let delete = format!(
        "kubectl delete -k {folder} --ignore-not-found\nkubectl apply -k {folder}/rollback\n"
    );
    assert!(rollout.contains(&delete), "{rollout}");
    assert!(rollout.contains("applies that original again"), "{rollout}");
    // Meshsmith's replacement beside the team's original is no duplicate to report.
    let (_, check) = meshsmith(
        dir.path(),
        &["check", input.to_str().expect("path"), "out/config"],
    );
    assert!(!check.contains("MS341"), "{check}");
}

#[test]
fn check_flags_an_object_generated_from_older_manifests_beside_the_teams() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Configuration generated before the team wrote their own PeerAuthentication and
    // DestinationRule for api.
    let older = fixture("pass-through.yaml");
    let (code, text) = meshsmith(
        dir.path(),
        &["generate", older.to_str().expect("path"), "-o", "old"],
    );
    assert_eq!(code, 0, "{text}");
    let app = fixture("app.yaml");
    let (code, check) = meshsmith(dir.path(), &["check", app.to_str().expect("path"), "old"]);
    assert_eq!(code, 1, "{check}");
    for kind in ["PeerAuthentication shop/api", "DestinationRule shop/api"] {
        assert!(
            check
                .lines()
                .any(|l| l.contains("MS341") && l.contains(kind)),
            "no MS341 for {kind}:\n{check}"
        );
    }
    // The same configuration read twice is no conflict.
    let (_, again) = meshsmith(dir.path(), &["check", "old", "old"]);
    assert!(!again.contains("MS341"), "{again}");
}
