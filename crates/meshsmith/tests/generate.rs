//! `meshsmith generate` on the bundled example, as a person runs it: what the issue promised
//! for each service, re-runs, hand edits, bad policy files and bad input.

use assert_cmd::Command;
use meshsmith_core::load::{load_text, Limits};
use meshsmith_core::model::Object;
use std::path::{Path, PathBuf};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsmith").expect("binary builds");
    // Run where no meshsmith.yaml is lying around, so the defaults apply.
    cmd.current_dir(dir);
    cmd
}

fn stream() -> Vec<Object> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = meshsmith(dir.path())
        .args(["generate", "--stdout", &example()])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    load_text("stream.yaml", &text, &Limits::default())
        .expect("the stream parses")
        .objects
}

fn find<'a>(objects: &'a [Object], kind: &str, ns: &str, name: &str) -> &'a Object {
    objects
        .iter()
        .find(|o| o.kind == kind && o.namespace.as_deref() == Some(ns) && o.name == name)
        .unwrap_or_else(|| panic!("no {kind} {ns}/{name}"))
}

fn secs(text: &str) -> f64 {
    meshsmith_core::infer::parse_duration(text, 1.0).unwrap_or(f64::NAN)
}

#[test]
fn one_of_each_kind_per_service_and_only_the_webhook_is_permissive() {
    let objects = stream();
    for kind in [
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "AuthorizationPolicy",
        "Sidecar",
    ] {
        assert_eq!(
            objects.iter().filter(|o| o.kind == kind).count(),
            22,
            "{kind}"
        );
    }
    assert_eq!(
        objects.iter().filter(|o| o.kind == "ServiceEntry").count(),
        3
    );
    let permissive: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            o.kind == "PeerAuthentication"
                && o.doc.path(&["spec", "mtls", "mode"]).as_str() == Some("PERMISSIVE")
        })
        .collect();
    let mut names: Vec<&str> = permissive.iter().map(|o| o.name.as_str()).collect();
    names.sort_unstable();
    // The webhook takes plain traffic from outside; the three workers whose Service nobody
    // calls have callers meshsmith does not know, so they stay PERMISSIVE too.
    assert_eq!(
        names,
        [
            "event-archiver",
            "image-resizer",
            "report-builder",
            "stripe-webhook"
        ]
    );
    let reason = |o: &Object| {
        o.doc
            .path(&["metadata", "annotations", "meshsmith.dev/mtls-reason"])
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    for o in permissive {
        let why = reason(o);
        if o.name == "stripe-webhook" {
            assert!(why.contains("outside the mesh"), "{why}");
        } else {
            assert!(
                why.starts_with("callers unknown: nothing in the manifests calls it"),
                "{why}"
            );
        }
    }
    // Their AuthorizationPolicies ship in dry-run with the reason; every other one is enforced.
    let dry_run: Vec<&str> = objects
        .iter()
        .filter(|o| {
            o.kind == "AuthorizationPolicy"
                && o.doc
                    .path(&["metadata", "annotations", "istio.io/dry-run"])
                    .as_str()
                    == Some("true")
        })
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        dry_run,
        ["event-archiver", "image-resizer", "report-builder"]
    );
    // Every Sidecar of the workers' namespace imports them: any workload there may call them.
    let sms = find(&objects, "Sidecar", "workers", "sms-worker");
    let hosts: Vec<&str> = sms.doc.path(&["spec", "egress"]).as_seq()[0]
        .at("hosts")
        .as_seq()
        .iter()
        .filter_map(|h| h.as_str())
        .collect();
    assert!(
        hosts.contains(&"workers/report-builder.workers.svc.cluster.local"),
        "{hosts:?}"
    );
}

#[test]
fn timeouts_and_retries_follow_the_roles() {
    let objects = stream();
    let route = |ns: &str, name: &str| {
        find(&objects, "VirtualService", ns, name)
            .doc
            .path(&["spec", "http"])
            .as_seq()[0]
            .clone()
    };
    let pay = route("shop", "payment-service");
    assert_eq!(pay.at("timeout").as_str(), Some("10s"));
    assert_eq!(pay.path(&["retries", "attempts"]).as_i64(), Some(1));
    assert_eq!(
        pay.path(&["retries", "retryOn"]).as_str(),
        Some("connect-failure,refused-stream")
    );
    // Timeouts are derived along the call graph, the role's value the starting point: the
    // aggregator order-service (5 s) waits on payment-service (10 s), so it gets 10 s, and so
    // does api-gateway above it. Before, both stayed at 5 s under a 10 s callee: a deadline
    // inversion meshsmith's own check reported (MS203).
    for (ns, name, timeout) in [
        ("shop", "order-service", "10s"),
        ("shop", "notification-service", "10s"),
        ("edge", "api-gateway", "10s"),
        ("edge", "stripe-webhook", "10s"),
        ("shop", "product-service", "5s"),
        ("internal", "ledger-service", "3s"),
    ] {
        assert_eq!(
            route(ns, name).at("timeout").as_str(),
            Some(timeout),
            "{ns}/{name}"
        );
    }
    // notification-service keeps its 2 retries on failures that never reached it, but no
    // 3.33 s per-try timeout: that would give up on a try its 10 s workers still work on.
    let notify = route("shop", "notification-service");
    assert_eq!(notify.path(&["retries", "attempts"]).as_i64(), Some(2));
    assert!(notify.path(&["retries", "perTryTimeout"]).is_null());
    let user = route("shop", "user-service");
    assert_eq!(user.at("timeout").as_str(), Some("3s"));
    let attempts = user.path(&["retries", "attempts"]).as_i64().unwrap_or(0) as f64;
    let per_try = secs(
        user.path(&["retries", "perTryTimeout"])
            .as_str()
            .unwrap_or(""),
    );
    assert!(
        per_try * (attempts + 1.0) <= 3.0,
        "{per_try} x {} tries > 3 s",
        attempts + 1.0
    );
    for (ns, grpc) in [
        ("shop", "user-service"),
        ("internal", "catalog-store"),
        ("internal", "profile-store"),
    ] {
        let on = route(ns, grpc)
            .path(&["retries", "retryOn"])
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            on.contains("unavailable") && on.contains("cancelled"),
            "{grpc}: {on}"
        );
    }
    let http_on = route("internal", "ledger-service")
        .path(&["retries", "retryOn"])
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!http_on.contains("unavailable"), "{http_on}");
}

fn principals(o: &Object) -> Vec<String> {
    o.doc
        .path(&["spec", "rules"])
        .as_seq()
        .iter()
        .flat_map(|r| r.at("from").as_seq().iter())
        .flat_map(|f| f.path(&["source", "principals"]).as_seq().iter())
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

#[test]
fn authorization_allows_exactly_the_callers() {
    let objects = stream();
    let pay = find(&objects, "AuthorizationPolicy", "shop", "payment-service");
    assert_eq!(
        principals(pay),
        [
            "cluster.local/ns/edge/sa/stripe-webhook",
            "cluster.local/ns/shop/sa/order-service"
        ]
    );
    let gateway = find(&objects, "AuthorizationPolicy", "edge", "api-gateway");
    assert_eq!(
        principals(gateway),
        ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
    );
    for (ns, uncalled) in [
        ("workers", "report-builder"),
        ("workers", "image-resizer"),
        ("workers", "event-archiver"),
    ] {
        let ap = find(&objects, "AuthorizationPolicy", ns, uncalled);
        assert!(
            ap.doc.path(&["spec", "rules"]).is_null(),
            "{uncalled} allows something"
        );
        assert!(ap
            .doc
            .path(&["spec", "action"])
            .as_str()
            .is_none_or(|a| a == "ALLOW"));
    }
    for ap in objects.iter().filter(|o| o.kind == "AuthorizationPolicy") {
        assert!(
            principals(ap).iter().all(|p| !p.contains('*')),
            "{} has a wildcard principal",
            ap.name
        );
    }
}

#[test]
fn rerun_is_byte_identical_and_an_edited_file_survives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let input = example();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "-o",
            out.to_str().expect("path"),
            input.as_str(),
        ];
        args.extend_from_slice(extra);
        meshsmith(dir.path()).args(&args).output().expect("runs")
    };
    assert!(run(&[]).status.success());
    let snapshot = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).expect("read dir").flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    files.push((e.path(), std::fs::read(e.path()).expect("read")));
                }
            }
        }
        files.sort();
        files
    };
    let first = snapshot(&out);
    assert!(first.len() > 100);
    assert!(run(&[]).status.success());
    assert_eq!(first, snapshot(&out), "second run changed files");

    let edited = out.join("shop/payment-service/virtual-service.yaml");
    let mine = std::fs::read_to_string(&edited)
        .expect("read")
        .replace("timeout: 10s", "timeout: 12s");
    std::fs::write(&edited, &mine).expect("edit");
    let again = run(&[]);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(&edited).expect("read"),
        mine,
        "the edit was overwritten"
    );
    let said = String::from_utf8_lossy(&again.stdout).to_string()
        + &String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("shop/payment-service/virtual-service.yaml"),
        "did not say which file it kept: {said}"
    );
    assert!(run(&["--force"]).status.success());
    assert!(std::fs::read_to_string(&edited)
        .expect("read")
        .contains("timeout: 10s"));
}

#[test]
fn a_bad_policy_file_is_an_error_with_its_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("meshsmith.yaml"),
        "trustDomain: cluster.local\nroles:\n  sync-api:\n    timeout: soon\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let r = meshsmith(dir.path())
        .args(["generate", "-o", out.to_str().expect("path"), &example()])
        .output()
        .expect("runs");
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("meshsmith.yaml:"), "{err}");
    assert!(!out.exists(), "wrote output despite a bad policy");
}

#[test]
fn an_input_error_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::write(input.join("good.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {selector: {app: a}, ports: [{name: http, port: 80}]}\n").expect("write");
    std::fs::write(input.join("bad.yaml"), "kind: [\n").expect("write");
    let out = dir.path().join("out");
    let r = meshsmith(dir.path())
        .args([
            "generate",
            "-o",
            out.to_str().expect("path"),
            input.to_str().expect("path"),
        ])
        .output()
        .expect("runs");
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("bad.yaml:"));
    assert!(!out.exists(), "wrote output despite an input error");
}
