//! Input that is not manifests gets a clear error, exit 2 and nothing written: an empty folder,
//! a text file, a Helm template; the same object read twice is a warning naming both places.

use assert_cmd::Command;

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

#[test]
fn no_kubernetes_objects_is_an_error_and_onboard_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let text = dir.path().join("notes.yaml");
    std::fs::write(&text, "just some words\n").expect("write");
    for input in [&empty, &text] {
        let input = input.to_str().expect("path");
        for command in ["map", "check", "generate", "plan", "onboard"] {
            let out = dir.path().join(format!("out-{command}"));
            let out = out.to_str().expect("path");
            let mut args = vec![command, input];
            if matches!(command, "generate" | "plan" | "onboard") {
                args.extend(["-o", out]);
            }
            let (code, stdout, stderr) = run(&args);
            assert_eq!(code, 2, "{command} {input}: {stdout}{stderr}");
            assert!(
                stderr.contains(&format!("no Kubernetes objects found in {input}")),
                "{command}: {stderr}"
            );
            assert!(!std::path::Path::new(out).exists(), "{command} wrote {out}");
        }
    }
}

#[test]
fn a_helm_template_is_recognised_and_the_error_says_to_render_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("deployment.yaml");
    std::fs::write(
        &chart,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"app.fullname\" . }}\n  \
         labels:\n    {{- include \"app.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
    )
    .expect("write");
    let (code, _, stderr) = run(&["map", chart.to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("deployment.yaml:4: this is a template"),
        "{stderr}"
    );
    assert!(stderr.contains("helm template"), "{stderr}");
    assert!(
        !stderr.contains("mapping keys must be plain text"),
        "{stderr}"
    );
}

#[test]
fn a_go_template_inside_a_config_map_is_data_not_a_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("alerts.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: alert-templates}\ndata:\n  slack.tmpl: |\n    \
         {{ define \"slack.title\" }}{{ range .Alerts }}{{ .Labels.alertname }}{{ end }}{{ end }}\n",
    )
    .expect("write");
    let (code, _, stderr) = run(&["map", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_same_object_read_twice_is_a_warning_naming_both_places() {
    let dir = tempfile::tempdir().expect("temp dir");
    let object = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  \
                  selector: {app: web}\n  ports: [{name: http, port: 80}]\n";
    std::fs::write(dir.path().join("all-in-one.yaml"), object).expect("write");
    std::fs::write(dir.path().join("web.yaml"), object).expect("write");
    let (code, stdout, stderr) = run(&["map", dir.path().to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    let warning = stdout
        .lines()
        .find(|l| l.contains("Service shop/web is defined again"))
        .unwrap_or_else(|| panic!("no warning:\n{stdout}"));
    assert!(warning.contains("all-in-one.yaml:1:"), "{warning}");
    assert!(
        warning.contains("defined again at") && warning.contains("web.yaml:1"),
        "{warning}"
    );
}
