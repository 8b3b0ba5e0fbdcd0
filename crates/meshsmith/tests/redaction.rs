//! No credential from the input appears in any output: manifests carry them in every form
//! (a Secret, a secret-named variable, a URL's user and password, a query parameter, a
//! ConfigMap key and file, container args, an annotation, shell commands that export a
//! password, send an `Authorization` header or pass `--token` and `-u user:pass`), and every
//! command's every output (text, JSON, SARIF, DOT, Mermaid, HTML, explain, generated files,
//! plans, the source lines `check` shows) is searched for them.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const SECRETS: [&str; 18] = [
    "secret-object-77",
    "tok-in-configmap-55",
    "amqp-secret-31",
    "file-secret-42",
    "redis-secret-12",
    "secret-ann-4",
    "arg-secret-88",
    "arg-redis-secret-19",
    "hunter2-env-literal",
    "pw-in-url-7f3",
    "qk-in-query-9x1",
    "web-basic-auth-63",
    "pgINITSECRET1",
    "eyJSECRETBEARERTOKEN",
    "amqpS3CRET",
    "m0ngoS3CRET",
    "curlUSERSECRET3",
    "tokFLAGSECRET4",
];

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secrets")
        .display()
        .to_string()
}

fn output(args: &[&str]) -> String {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    assert_ne!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn files_below(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    text
}

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows `{secret}`");
    }
}

#[test]
fn no_credential_reaches_any_output() {
    let input = fixture();
    let tmp = tempfile::tempdir().expect("temp dir");
    for format in ["text", "json", "dot", "mermaid", "html"] {
        assert_clean(
            &format!("map --format {format}"),
            &output(&["map", &input, "--format", format]),
        );
    }
    for format in ["text", "json", "sarif", "html"] {
        assert_clean(
            &format!("check --format {format}"),
            &output(&["check", &input, "--format", format]),
        );
    }
    for service in ["orders", "web", "pg", "api", "poller", "migrate"] {
        assert_clean("explain", &output(&["explain", service, &input]));
    }
    assert_clean(
        "generate --stdout --explain",
        &output(&["generate", &input, "--stdout", "--explain"]),
    );
    for command in ["generate", "plan", "onboard"] {
        let dir = tmp.path().join(command);
        let text = output(&[command, &input, "-o", dir.to_str().expect("path")]);
        assert_clean(command, &text);
        assert_clean(&format!("{command}'s files"), &files_below(&dir));
    }
    let report = tmp.path().join("report.html");
    let text = output(&["report", &input, "-o", report.to_str().expect("path")]);
    assert_clean("report", &text);
    assert_clean(
        "report's file",
        &std::fs::read_to_string(&report).expect("report written"),
    );
    // The evidence is still there, with the credentials masked.
    let map = output(&["map", &input, "--format", "json"]);
    assert!(map.contains("postgres://***@db.shop:5432/orders"), "{map}");
    assert!(map.contains("http://***@orders.shop:8080"), "{map}");
    assert!(
        map.contains("export PGPASSWORD=***; until nc -z pg 5432"),
        "{map}"
    );
    assert!(
        map.contains("curl -H 'Authorization: Bearer ***' http://api:8080/"),
        "{map}"
    );
    assert!(
        map.contains("curl -u ops:*** --token *** http://api:8080/health"),
        "{map}"
    );
    // `check` shows the lines it points at, masked.
    let check = output(&["check", &input, "--format", "text"]);
    assert!(check.contains("value: amqp://***@rabbit:5672/"), "{check}");
    assert!(
        check.contains("MONGO=mongodb://***@mongo:27017/db"),
        "{check}"
    );
}
