//! A write killed at any moment leaves the old tree or the new one, or (killed after its
//! commit point) a state the next run finishes and reports: never a silent mix. The test
//! kills `generate` (SIGKILL) at many points of a large run over an existing tree.

use assert_cmd::cargo::CommandCargoExt;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A chain of `n` services in 5 namespaces, each calling the next.
fn manifests(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let ns = format!("team-{}", i % 5);
        let next = (i + 1) % n;
        let next_ns = format!("team-{}", next % 5);
        out.push_str(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: svc-{i}, namespace: {ns}}}\n\
             spec:\n  selector: {{matchLabels: {{app: svc-{i}}}}}\n  template:\n    metadata:\n      \
             labels: {{app: svc-{i}}}\n      annotations: {{sidecar.istio.io/inject: \"true\"}}\n    \
             spec:\n      serviceAccountName: svc-{i}\n      containers:\n        - name: app\n          \
             image: shop/svc-{i}:1\n          env: [{{name: NEXT_URL, value: \"http://svc-{next}.{next_ns}:8080\"}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: {ns}}}\n\
             spec:\n  selector: {{app: svc-{i}}}\n  ports: [{{name: http, port: 8080}}]\n---\n"
        ));
    }
    out
}

fn generate(input: &Path, out: &Path, policy: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsmith").expect("binary");
    cmd.args([
        "generate",
        input.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ])
    .args(["--policy", policy.to_str().expect("path")])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// Every file below `dir` but meshsmith's own work folder, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))
            .into_iter()
            .flatten()
            .flatten()
        {
            let child = rel.join(entry.file_name());
            if child == Path::new(".meshsmith") {
                continue;
            }
            if entry.path().is_dir() {
                stack.push(child);
            } else {
                out.insert(child, std::fs::read(entry.path()).expect("read"));
            }
        }
    }
    out
}

fn copy(from: &BTreeMap<PathBuf, Vec<u8>>, to: &Path) {
    for (rel, bytes) in from {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
}

#[test]
fn a_kill_at_any_point_leaves_the_old_tree_the_new_one_or_a_repairable_state() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("in.yaml");
    std::fs::write(&input, manifests(150)).expect("input");
    // The old tree and the new one differ in every route: another sync-API timeout.
    let old_policy = tmp.path().join("old.yaml");
    std::fs::write(&old_policy, "roles:\n  sync-api:\n    timeout: 4s\n").expect("policy");
    let new_policy = tmp.path().join("new.yaml");
    std::fs::write(&new_policy, "roles:\n  sync-api:\n    timeout: 2s\n").expect("policy");
    let (old_dir, new_dir) = (tmp.path().join("old"), tmp.path().join("new"));
    assert!(generate(&input, &old_dir, &old_policy)
        .status()
        .expect("runs")
        .success());
    assert!(generate(&input, &new_dir, &new_policy)
        .status()
        .expect("runs")
        .success());
    let (old, new) = (tree(&old_dir), tree(&new_dir));
    // How long a whole run over the old tree takes: the kills are spread over it.
    let timed = tmp.path().join("timed");
    copy(&old, &timed);
    let started = Instant::now();
    assert!(generate(&input, &timed, &new_policy)
        .status()
        .expect("runs")
        .success());
    let full = started.elapsed();
    assert!(
        old.len() > 500 && old.len() == new.len(),
        "{} files",
        old.len()
    );
    assert_ne!(old, new);
    let (mut untouched, mut finished, mut repaired) = (0, 0, 0);
    // 40 points over the timed run and a little past it; on a loaded machine a run can take
    // longer than the timed one, so later points wait longer until one run ends on its own.
    let mut point = 0u32;
    while point < 40 || (finished == 0 && point < 48) {
        let fraction = if point < 40 {
            f64::from(point) / 32.0
        } else {
            2f64.powi((point - 39) as i32)
        };
        point += 1;
        let dir = tmp.path().join(format!("run-{point}"));
        copy(&old, &dir);
        let mut child = generate(&input, &dir, &new_policy).spawn().expect("spawn");
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill();
        let _ = child.wait();
        let after = tree(&dir);
        let committed = dir.join(".meshsmith/journal").exists();
        if committed {
            repaired += 1;
        } else if after == old {
            untouched += 1;
        } else {
            assert_eq!(after, new, "killed at point {point}: a mix of old and new");
            finished += 1;
        }
        // The next run leaves the new tree, and says what it repaired.
        let rerun = generate(&input, &dir, &new_policy).output().expect("rerun");
        assert!(rerun.status.success());
        let said = String::from_utf8_lossy(&rerun.stderr);
        if committed {
            assert!(said.contains("finished a write"), "{said}");
        }
        assert_eq!(tree(&dir), new, "after the rerun at {point}");
        assert!(!dir.join(".meshsmith").exists());
        std::fs::remove_dir_all(&dir).expect("clean");
    }
    // The points span the run: some kills came before anything changed, some after the end.
    assert!(
        untouched > 0 && finished > 0,
        "untouched {untouched}, finished {finished}, repaired {repaired}"
    );
    eprintln!("kills: {untouched} left the old tree, {finished} the new one, {repaired} repaired by the next run");
}

#[cfg(unix)]
#[test]
fn ctrl_c_leaves_the_old_tree_or_the_new_one_and_nothing_staged() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("in.yaml");
    std::fs::write(&input, manifests(150)).expect("input");
    let old_policy = tmp.path().join("old.yaml");
    std::fs::write(&old_policy, "roles:\n  sync-api:\n    timeout: 4s\n").expect("policy");
    let new_policy = tmp.path().join("new.yaml");
    std::fs::write(&new_policy, "roles:\n  sync-api:\n    timeout: 2s\n").expect("policy");
    let (old_dir, new_dir) = (tmp.path().join("old"), tmp.path().join("new"));
    assert!(generate(&input, &old_dir, &old_policy)
        .status()
        .expect("runs")
        .success());
    assert!(generate(&input, &new_dir, &new_policy)
        .status()
        .expect("runs")
        .success());
    let (old, new) = (tree(&old_dir), tree(&new_dir));
    let timed = tmp.path().join("timed");
    copy(&old, &timed);
    let started = Instant::now();
    assert!(generate(&input, &timed, &new_policy)
        .status()
        .expect("runs")
        .success());
    let full = started.elapsed();
    let mut interrupted = 0;
    for point in 0..16u32 {
        let dir = tmp.path().join(format!("run-{point}"));
        copy(&old, &dir);
        let mut child = generate(&input, &dir, &new_policy).spawn().expect("spawn");
        std::thread::sleep(full.mul_f64(f64::from(point) / 12.0));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().expect("wait");
        let after = tree(&dir);
        assert!(
            after == old || after == new,
            "Ctrl-C at {point}/12: a mix of old and new"
        );
        assert!(
            !dir.join(".meshsmith").exists(),
            "Ctrl-C at {point}/12 left staging behind"
        );
        interrupted += usize::from(!status.success());
        std::fs::remove_dir_all(&dir).expect("clean");
    }
    assert!(interrupted > 0, "no run was interrupted");
}
