//! `meshsmith map` as a person runs it: the example, every output format, and every class of
//! bad input (named by file and line, exit code 2, no panic).

use assert_cmd::Command;
use std::path::PathBuf;

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith() -> Command {
    Command::cargo_bin("meshsmith").expect("binary builds")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = meshsmith();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn text_output_shows_graph_protocols_and_audit_in_one_screen() {
    let r = run(&["map", &example()], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Protocols: 16 HTTP, 6 gRPC"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(
        "order-service          -> [inventory-service, order-store, pricing-service, shipping-service, payment-service, user-service]"
    ), "{}", r.stdout);
    let audit: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("  none") || l.starts_with("  too long") || l.starts_with("  reasonable")
        })
        .collect();
    assert!(audit[0].contains("    8  "), "{audit:?}");
    assert!(
        audit[1].contains("    5  ") && audit[1].contains("order-service"),
        "{audit:?}"
    );
    assert!(audit[2].contains("    9  "), "{audit:?}");
    assert!(r.stdout.contains("payment-service -> api.stripe.com:443"));
    assert!(
        r.stdout.lines().count() <= 60,
        "more than one screen: {} lines",
        r.stdout.lines().count()
    );
}

#[test]
fn json_follows_the_contract_and_is_byte_identical_on_rerun() {
    let a = run(&["map", "--format", "json", &example()], None);
    let b = run(&["map", "--format", "json", &example()], None);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    let doc: serde_json::Value = serde_json::from_str(&a.stdout).expect("valid JSON");
    let services = doc["services"].as_array().expect("services");
    assert_eq!(services.len(), 22);
    for s in services {
        for key in [
            "name",
            "namespace",
            "protocol",
            "declared_protocol",
            "ports",
            "role",
            "timeout_audit",
        ] {
            assert!(s.get(key).is_some(), "service lacks {key}: {s}");
        }
    }
    let edges = doc["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 28);
    let pay = edges
        .iter()
        .find(|e| e["from"] == "order-service.shop" && e["to"] == "payment-service.shop")
        .expect("order -> payment edge");
    assert_eq!(pay["port"], 8080);
    assert_eq!(pay["protocol"], "http");
    assert_eq!(pay["confidence"], "high");
    let ev = &pay["evidence"][0];
    assert!(
        ev["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("shop/order-service.yaml")),
        "{ev}"
    );
    assert!(ev["line"].as_u64().is_some_and(|l| l > 0));
    assert_eq!(doc["unresolved"].as_array().map(Vec::len), Some(0));
    assert_eq!(doc["external"].as_array().map(Vec::len), Some(3));
}

#[test]
fn dot_and_mermaid_draw_every_edge() {
    let dot = run(&["map", "--format", "dot", &example()], None);
    assert_eq!(dot.code, 0);
    assert!(dot.stdout.starts_with("digraph meshsmith {"));
    assert_eq!(dot.stdout.matches(" -> ").count(), 28 + 3);
    assert!(dot
        .stdout
        .contains("shop__order_service -> shop__payment_service"));
    let mermaid = run(&["map", "--format", "mermaid", &example()], None);
    assert_eq!(mermaid.code, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR"));
    assert_eq!(mermaid.stdout.matches("-->|").count(), 28);
}

#[test]
fn stdin_is_read_with_dash() {
    let yaml = b"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {selector: {app: a}, ports: [{name: http, port: 80}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec:\n  template:\n    metadata: {labels: {app: b}}\n    spec:\n      containers: [{name: c, image: x, env: [{name: A_URL, value: 'http://a'}]}]\n".to_vec();
    let r = run(&["map", "--format", "json", "-n", "team", "-"], Some(yaml));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(doc["edges"][0]["from"], "b.team");
    assert_eq!(doc["edges"][0]["to"], "a.team");
    assert_eq!(doc["edges"][0]["evidence"][0]["file"], "<stdin>");
}

fn bad_input(name: &str, bytes: &[u8]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    run(&["map", &path.display().to_string()], None)
}

fn assert_refused(r: &Run, file: &str, line: u32, words: &str) {
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "printed output despite bad input: {}",
        r.stdout
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let at = format!("{file}:{line}");
    assert!(r.stderr.contains(&at), "expected {at} in: {}", r.stderr);
    assert!(
        r.stderr.contains(words),
        "expected `{words}` in: {}",
        r.stderr
    );
}

#[test]
fn syntax_error_is_refused_with_file_and_line() {
    let r = bad_input(
        "broken.yaml",
        b"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {app: [x}\n",
    );
    assert_refused(&r, "broken.yaml", 5, "syntax error");
}

#[test]
fn non_utf8_is_refused_with_file_and_line() {
    let r = bad_input(
        "latin1.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n",
    );
    assert_refused(&r, "latin1.yaml", 4, "UTF-8");
}

#[test]
fn alias_bomb_is_refused_with_file_and_line() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let r = bad_input("bomb.yaml", text.as_bytes());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bomb.yaml:") && r.stderr.contains("alias"),
        "{}",
        r.stderr
    );
}

#[test]
fn deep_nesting_is_refused_with_file_and_line() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {}{}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    let r = bad_input("deep.yaml", text.as_bytes());
    assert_refused(&r, "deep.yaml", 4, "levels deep");
}

#[test]
fn every_bad_file_is_reported_not_just_the_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.yaml"), "x: [\n").expect("write");
    std::fs::write(dir.path().join("b.json"), "{\"a\":\n  [1,}\n").expect("write");
    std::fs::write(dir.path().join("c.yaml"), b"k: \xff\n").expect("write");
    let r = run(&["map", &dir.path().display().to_string()], None);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        3,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("b.json:2"), "{}", r.stderr);
    assert!(r.stderr.contains("c.yaml:1"), "{}", r.stderr);
}

#[test]
fn missing_path_and_bad_usage_exit_2() {
    let r = run(&["map", "/nonexistent/manifests"], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("/nonexistent/manifests: no such file"),
        "{}",
        r.stderr
    );
    let r = run(&["map", "--format", "xml", &example()], None);
    assert_eq!(r.code, 2);
    let r = run(&["frobnicate"], None);
    assert_eq!(r.code, 2);
}

#[test]
fn kustomization_and_chart_files_are_skipped_not_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- app.yaml\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("app.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n",
    )
    .expect("write");
    let r = run(&["map", &dir.path().display().to_string()], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("1 services"), "{}", r.stdout);
}

#[test]
fn oversized_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("huge.yaml");
    // A sparse file: the size limit is checked before a byte is read.
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(256 * 1024 * 1024 + 1).expect("set length");
    let r = run(&["map", &path.display().to_string()], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("huge.yaml: 268435457 bytes is more than the limit of 268435456 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `meshsmith map ... | head -1`: the reader closes before the graph is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .args(["map", "--format", "json"])
        .arg(example())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
