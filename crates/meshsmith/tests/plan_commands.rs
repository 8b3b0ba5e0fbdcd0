//! `meshsmith plan` commands a person runs against a cluster: smoke tests that match each
//! Service (TLS on the load balancer, its `.ip` or `.hostname`, the Gateway's host, a
//! throwaway pod with the caller's identity instead of the application's image), run from
//! their phase's `smoke.sh` against a fake `kubectl`, on the bundled example; and
//! online-boutique's shared namespace meshed workload by workload.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsmith").expect("binary builds");
    cmd.current_dir(dir);
    cmd
}

/// Runs `plan` on `input` into `dir/out` and returns the output folder.
fn planned(dir: &Path, input: &str) -> PathBuf {
    let out = dir.join("out");
    let run = meshsmith(dir)
        .args(["plan", input, "-o", out.to_str().unwrap_or_default()])
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("plan.json");
    serde_json::from_str(&text).expect("plan.json is JSON")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[path = "../../meshsmith-core/src/plan/fake_kubectl.rs"]
mod fake_kubectl;

/// What `sh SCRIPT ARGS...` printed, its exit status, and every command it ran, with a
/// fake `kubectl` and `curl` on PATH whose pods answer `answer`.
fn run_script(script: &Path, args: &[&str], answer: &'static str) -> fake_kubectl::Run {
    let fake = fake_kubectl::Fake {
        answer,
        ..fake_kubectl::Fake::default()
    };
    fake_kubectl::run(script, args, &fake)
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn smoke_tests_match_the_services_they_test() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path(), &example());
    let plan = read_json(&out.join("plan.json"));
    let tests: Vec<(u64, &Value)> = plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|p| {
            let n = p["number"].as_u64().unwrap_or(0);
            p["smoke_tests"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| (n, t))
        })
        .collect();
    // What a test's line in its phase's script runs, with pods that answer 200.
    let ran = |from: &str, to: &str| -> Vec<Vec<String>> {
        let (phase, test) = tests
            .iter()
            .find(|(_, t)| t["from"]["name"] == from && t["to"]["name"] == to)
            .unwrap_or_else(|| panic!("no smoke test {from} -> {to}"));
        let name = test["name"].as_str().expect("name");
        let script = format!("phase-{phase}/smoke.sh");
        assert_eq!(test["command"], format!("sh {script} {name}"));
        let run = run_script(&out.join(&script), &[name], "200");
        assert_eq!(run.code, Some(0));
        assert_eq!(run.stdout, format!("ok {name}\n"));
        run.calls
    };
    // stripe-webhook's NLB ends TLS on 443 (aws-load-balancer-ssl-cert, -ssl-ports: "443"),
    // and publishes a hostname.
    assert_eq!(
        ran("outside the mesh", "stripe-webhook"),
        [
            words(&["kubectl", "get", "service", "stripe-webhook", "-n", "edge", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}"]),
            words(&["curl", "-sS", "--insecure", "-o", "/dev/null", "-w", "%{http_code}\\n", "--max-time", "5", "https://lb.example.com:443/"]),
        ]
    );
    // The public Gateway serves shop.example.com over HTTPS on 443.
    let gateway = ran("istio-ingressgateway", "api-gateway");
    let check = gateway[0].last().expect("sh -c CHECK");
    assert!(
        check.ends_with("--connect-to shop.example.com:443:istio-ingressgateway.istio-system.svc.cluster.local:443 https://shop.example.com:443/"),
        "{check}"
    );
    // Nothing runs inside the application's images.
    let rollout = std::fs::read_to_string(out.join("ROLLOUT.md")).expect("ROLLOUT.md");
    assert!(!rollout.contains("kubectl exec"), "{rollout}");
    let call = ran("order-service", "payment-service");
    assert_eq!(call.len(), 1);
    assert_eq!(
        call[0][..9],
        words(&[
            "kubectl",
            "run",
            "smoke-order-service-payment-service",
            "-n",
            "shop",
            "--rm",
            "-i",
            "--restart=Never",
            "--image=curlimages/curl"
        ])
    );
    assert!(
        call[0].iter().any(|a| a.starts_with("--overrides=")
            && a.contains("\"serviceAccountName\":\"order-service\"")),
        "{call:?}"
    );
    // plan.json runs each test through its script.
    for (_, t) in &tests {
        assert!(
            t["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("sh phase-")),
            "{t}"
        );
    }
}

/// `shared/corpora/online-boutique`, when it is there.
fn online_boutique() -> Option<PathBuf> {
    let root = match std::env::var("MESHSMITH_SHARED") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let corpus = root.join("corpora/online-boutique/kubernetes-manifests");
    if corpus.is_dir() {
        return Some(corpus);
    }
    assert!(
        std::env::var("MESHSMITH_REQUIRE_SHARED").as_deref() != Ok("1"),
        "{} is missing and MESHSMITH_REQUIRE_SHARED=1",
        corpus.display()
    );
    eprintln!(
        "SKIPPED: online-boutique injection: {} not found",
        corpus.display()
    );
    None
}

#[test]
fn online_boutiques_shared_namespace_is_meshed_workload_by_workload() {
    let Some(corpus) = online_boutique() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = planned(tmp.path(), &corpus.display().to_string());
    let plan = read_json(&out.join("plan.json"));
    for phase in plan["phases"].as_array().expect("phases") {
        let onboarded = names(&phase["services"]);
        for step in phase["steps"].as_array().expect("steps") {
            let commands = step["commands"].as_array().into_iter().flatten();
            let rollback = step["rollback"]["commands"]
                .as_array()
                .into_iter()
                .flatten();
            for c in commands.chain(rollback).filter_map(Value::as_str) {
                assert!(!c.contains("label namespace default"), "{c}");
                // A workload's pod label changes only in the phase that onboards it.
                if let Some(rest) = c.strip_prefix("kubectl patch deployment/") {
                    let workload = rest.split_whitespace().next().unwrap_or_default();
                    assert!(onboarded.iter().any(|s| s == workload), "{c}");
                }
            }
        }
    }
    let rollout = std::fs::read_to_string(out.join("ROLLOUT.md")).expect("ROLLOUT.md");
    assert!(rollout.contains("kubectl patch deployment/loadgenerator -n default --type merge -p '{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"sidecar.istio.io/inject\":\"true\"}}}}}'"));
    assert!(rollout.contains("kubectl patch deployment/loadgenerator -n default --type merge -p '{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"sidecar.istio.io/inject\":null}}}}}'"));
}
