//! Objects the Kubernetes API server would refuse are input errors, as `kubectl apply` would
//! judge them: the file and line, exit 2, nothing written, even beside valid files. What
//! kubectl accepts but meshsmith cannot use is a warning every command shows. A mapping of
//! very many keys reads in moments. Process substitution (`meshsmith map <(helm template
//! ...)`) reads.

use assert_cmd::Command;
use std::path::Path;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports:\n    - name: http\n      port: PORT\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: NAME, namespace: NS}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: CONTAINERS\n";

fn deployment(name: &str, ns: &str, containers: &str) -> String {
    DEPLOYMENT
        .replace("NAME", name)
        .replace("NS", ns)
        .replace("CONTAINERS", containers)
}

fn refused(dir: &Path, text: &str, want: &str) {
    let file = dir.join("in.yaml");
    std::fs::write(&file, text).expect("write");
    let out = dir.join("out");
    let (code, _, stderr) = run(&[
        "generate",
        file.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(code, 2, "{text}\n{stderr}");
    assert!(stderr.contains(want), "want `{want}` in:\n{stderr}");
    assert!(
        stderr.contains("kubectl apply` would refuse it"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn objects_the_api_server_refuses_are_errors_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    refused(
        d,
        &SERVICE.replace("PORT", "0"),
        "in.yaml:8: Service port 0 is out of range",
    );
    refused(
        d,
        &SERVICE.replace("PORT", "70000"),
        "in.yaml:8: Service port 70000 is out of range",
    );
    refused(
        d,
        &SERVICE.replace("PORT", "\"8080\""),
        "in.yaml:8: Service port \"8080\" is written as a string",
    );
    refused(
        d,
        &deployment("web", "shop", "[]"),
        "in.yaml:8: Deployment has no containers",
    );
    refused(
        d,
        &deployment("Web", "shop", "[{name: app, image: web}]"),
        "in.yaml:3: Deployment name `Web`",
    );
    refused(
        d,
        &deployment("web", "Shop_A", "[{name: app, image: web}]"),
        "in.yaml:3: namespace `Shop_A`",
    );
    let long = "a".repeat(300);
    refused(
        d,
        &deployment(&long, "shop", "[{name: app, image: web}]"),
        "is 300 characters long",
    );
}

#[test]
fn an_empty_namespace_is_no_namespace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.yaml");
    let text = SERVICE
        .replace("PORT", "80")
        .replace("namespace: shop", "namespace: \"\"");
    std::fs::write(&file, text).expect("write");
    let (code, yaml, stderr) = run(&["generate", file.to_str().expect("path"), "--stdout"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!yaml.contains(".."), "{yaml}");
    assert!(yaml.contains("namespace: default"), "{yaml}");
}

#[test]
fn what_kubectl_accepts_but_meshsmith_cannot_use_is_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.yaml");
    let text = format!(
        "- just\n- a list\n---\n{}",
        deployment(
            "web",
            "shop",
            "[{name: app, image: web, envFrom: [{configMapRef: {name: web-settings}}]}]"
        )
    );
    std::fs::write(&file, text).expect("write");
    let (code, out, stderr) = run(&["map", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        out.contains("in.yaml:1: skipped: not a Kubernetes object (a list"),
        "{out}"
    );
    assert!(
        out.contains("references ConfigMap web-settings, which is not in the input"),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn a_pipe_given_as_a_path_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("manifests");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(&fifo, SERVICE.replace("PORT", "80")).expect("write to the pipe");
        })
    };
    let (code, out, stderr) = run(&["map", fifo.to_str().expect("path")]);
    writer.join().expect("writer");
    assert_eq!(code, 0, "{stderr}");
    assert!(out.starts_with("1 services in 1 namespace(s)"), "{out}");
}

/// A valid Deployment and its Service, for beside what is wrong.
fn good_pair() -> String {
    format!(
        "{}---\n{}",
        deployment("web", "shop", "[{name: app, image: web}]"),
        SERVICE.replace("PORT", "80")
    )
}

#[test]
fn objects_without_api_version_or_name_are_errors_beside_valid_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("g.yaml");
    std::fs::write(&good, good_pair()).expect("write");
    let bad = dir.path().join("s.yaml");
    let text = "apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n---\n\
                kind: Service\nmetadata: {name: api, namespace: shop}\nspec: {ports: [{port: 80}]}\n";
    std::fs::write(&bad, text).expect("write");
    let (good, bad) = (good.to_str().expect("path"), bad.to_str().expect("path"));
    let (code, _, stderr) = run(&["map", good, bad]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("s.yaml:1: Service has no metadata.name; `kubectl apply` would refuse it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("s.yaml:5: Service has no apiVersion; `kubectl apply` would refuse it"),
        "{stderr}"
    );
    let out = dir.path().join("out");
    let (code, _, stderr) = run(&["generate", good, bad, "-o", out.to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_kustomization_and_an_unknown_kind_beside_valid_files_are_warned_by_every_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("g.yaml");
    std::fs::write(&good, good_pair()).expect("write");
    let other = dir.path().join("s.yaml");
    let widget = |name: &str| {
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: {name}, namespace: shop}}\n")
    };
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [g.yaml]\n\
         patches: [{{path: replicas.yaml}}]\n---\n{}---\n{}",
        widget("w1"),
        widget("w2")
    );
    std::fs::write(&other, text).expect("write");
    let (good, other) = (good.to_str().expect("path"), other.to_str().expect("path"));
    let kustomization = "s.yaml:1: skipped: not a Kubernetes object (a kustomization that \
                         changes what its files say: give meshsmith what `kubectl kustomize` \
                         renders from it)";
    let widgets =
        "s.yaml:6: skipped: Widget is a kind meshsmith does not use (2 objects; the first is here)";
    let (code, stdout, stderr) = run(&["map", good, other]);
    assert_eq!(code, 0, "{stderr}");
    let warnings = stdout.split("\nWarnings\n").nth(1).unwrap_or("");
    assert!(warnings.contains(kustomization), "{stdout}");
    assert!(warnings.contains(widgets), "{stdout}");
    let out = dir.path().join("out");
    let out = out.to_str().expect("path");
    for args in [
        vec!["check", good, other],
        vec!["check", "--format", "json", good, other],
        vec!["generate", good, other, "--stdout"],
        vec!["plan", good, other, "-o", out],
    ] {
        let (code, _, stderr) = run(&args);
        assert!(code == 0 || code == 1, "{args:?}: {stderr}");
        for want in [kustomization, widgets] {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("warning: ") && l.ends_with(want)),
                "{args:?}: want `{want}` in:\n{stderr}"
            );
        }
    }
}

#[test]
fn a_config_map_of_very_many_keys_is_mapped_with_its_repeated_key_warned() {
    // 300,000 keys (5 MB): read with a scan per key, as once, this ran for many minutes.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("big.yaml");
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n",
    );
    for i in 0..300_000 {
        text.push_str(&format!("  k{i}: v{i}\n"));
    }
    text.push_str("  k3: again\n");
    text.push_str(&format!("---\n{}", good_pair()));
    std::fs::write(&file, text).expect("write");
    let (code, stdout, stderr) = run(&["map", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("big.yaml:300005: key `k3` is already defined on line 8"),
        "{stdout}"
    );
}
