//! `meshsmith gate`: each threshold and each verdict on Prometheus answers written as
//! Prometheus' HTTP API answers them, against a plan of the shopfront example.
//! Phase 3 onboards the shop services; every one of them gets healthy traffic in the
//! baseline, and the window changes one thing at a time.

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const SHOPFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shopfront");
const PHASE: u32 = 3;
const TARGET: &str = "order-service";

fn meshsmith(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshsmith")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plan of the shopfront, and the (name, namespace) of phase 3's services.
fn planned(dir: &Path) -> (PathBuf, Vec<(String, String)>, Value) {
    let out = dir.join("rollout");
    let (code, _, err) = meshsmith(
        dir,
        &["plan", SHOPFRONT, "-o", out.to_str().expect("utf-8")],
    );
    assert_eq!(code, 0, "{err}");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).expect("plan"))
            .expect("json");
    let phase = &plan["phases"][PHASE as usize - 1];
    let services = phase["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_string(),
                s["namespace"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect::<Vec<_>>();
    assert!(services.iter().any(|(n, _)| n == TARGET));
    (out.join("plan.json"), services, plan)
}

/// One series of an answer: labels and value.
type Series = (Value, f64);

fn answer(series: &[Series]) -> String {
    let result: Vec<Value> = series
        .iter()
        .map(|(m, v)| json!({"metric": m, "value": [1_767_225_600.0, v.to_string()]}))
        .collect();
    serde_json::to_string_pretty(
        &json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    )
    .expect("json")
}

fn edge(service: &(String, String), caller: &str, extra: Value) -> Value {
    let mut m = json!({
        "reporter": "source",
        "source_workload": caller,
        "source_workload_namespace": "edge",
        "destination_service_name": service.0,
        "destination_service_namespace": service.1,
    });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

/// What a side of the gate reads; each test changes one part of the healthy picture.
#[derive(Clone)]
struct Side {
    requests: Vec<Series>,
    latency: Vec<Series>,
    other: Vec<Series>,
}

/// Each service: 1000 OK and 2 503 from api-gateway; latency mostly under 25 ms.
fn healthy(services: &[(String, String)]) -> Side {
    let mut requests = Vec::new();
    let mut latency = Vec::new();
    for s in services {
        requests.push((
            edge(
                s,
                "api-gateway",
                json!({"response_code": "200", "response_flags": "-"}),
            ),
            1000.0,
        ));
        requests.push((
            edge(
                s,
                "api-gateway",
                json!({"response_code": "503", "response_flags": "UF"}),
            ),
            2.0,
        ));
        latency.extend(buckets(
            s,
            &[(5.0, 400.0), (10.0, 800.0), (25.0, 990.0), (50.0, 1002.0)],
        ));
    }
    Side {
        requests,
        latency,
        other: Vec::new(),
    }
}

fn buckets(s: &(String, String), cumulative: &[(f64, f64)]) -> Vec<Series> {
    let mut out: Vec<Series> = cumulative
        .iter()
        .map(|(le, n)| (edge(s, "api-gateway", json!({"le": le.to_string()})), *n))
        .collect();
    let total = cumulative.last().map_or(0.0, |c| c.1);
    out.push((edge(s, "api-gateway", json!({"le": "+Inf"})), total));
    out
}

fn write(dir: &Path, side: &Side) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("requests.json"), answer(&side.requests)).expect("write");
    std::fs::write(dir.join("latency.json"), answer(&side.latency)).expect("write");
    std::fs::write(dir.join("envoy.json"), answer(&side.other)).expect("write");
    dir.to_path_buf()
}

struct World {
    tmp: tempfile::TempDir,
    plan: PathBuf,
    services: Vec<(String, String)>,
    json: Value,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().expect("tmp");
        let (plan, services, json) = planned(tmp.path());
        World {
            tmp,
            plan,
            services,
            json,
        }
    }

    fn target(&self) -> (String, String) {
        self.services
            .iter()
            .find(|(n, _)| n == TARGET)
            .cloned()
            .expect("target")
    }

    /// Runs the gate with the healthy baseline and `window`, extra args appended.
    fn gate(&self, window: &Side, extra: &[&str]) -> (i32, String, String) {
        let base = write(&self.tmp.path().join("baseline"), &healthy(&self.services));
        let win = write(&self.tmp.path().join("window"), window);
        let phase = PHASE.to_string();
        let mut args = vec![
            "gate",
            self.plan.to_str().expect("utf-8"),
            "--phase",
            &phase,
            "--baseline",
            base.to_str().expect("utf-8"),
            "--window",
            win.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        meshsmith(self.tmp.path(), &args)
    }

    fn gate_json(&self, window: &Side) -> (i32, Value) {
        let (code, out, err) = self.gate(window, &["--format", "json"]);
        let doc = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, doc)
    }

    /// The phase's rollback commands, last step first.
    fn rollback(&self) -> Vec<String> {
        let steps = self.json["phases"][PHASE as usize - 1]["steps"]
            .as_array()
            .expect("steps");
        steps
            .iter()
            .rev()
            .flat_map(|s| {
                s["rollback"]["commands"]
                    .as_array()
                    .expect("commands")
                    .clone()
            })
            .map(|c| c.as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// The service row of `name` in a JSON report.
fn row<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["service"]["name"] == name && r["caller"].is_null())
        .unwrap_or_else(|| panic!("no row for {name}: {doc:#}"))
}

fn figures(doc: &Value, name: &str) -> Vec<String> {
    row(doc, name)["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["figure"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Asserts a roll back for TARGET on `figure` alone, with the phase's rollback commands.
fn assert_rolls_back(world: &World, window: &Side, figure: &str) -> Value {
    let (code, doc) = world.gate_json(window);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["verdict"], "roll-back", "{doc:#}");
    assert_eq!(figures(&doc, TARGET), vec![figure.to_string()], "{doc:#}");
    for (name, _) in world.services.iter().filter(|(n, _)| n != TARGET) {
        assert_eq!(row(&doc, name)["verdict"], "proceed", "{name}: {doc:#}");
    }
    let rollback: Vec<String> = doc["rollback"]
        .as_array()
        .expect("rollback")
        .iter()
        .map(|c| c.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(rollback, world.rollback());
    assert!(!rollback.is_empty());
    doc
}

#[test]
fn an_unchanged_window_proceeds_with_a_table_of_every_service() {
    let w = World::new();
    let (code, out, err) = w.gate(&healthy(&w.services), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with(&format!("Phase {PHASE}: ")), "{out}");
    assert!(
        out.lines().next().unwrap_or("").ends_with("PROCEED"),
        "{out}"
    );
    for (name, ns) in &w.services {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name}.{ns} (onboarded)")))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"));
        // 1002 requests over 4 h; 2 errors of 1002; p99 inside the (10, 25] bucket.
        assert!(line.contains("0.07 -> 0.07"), "{line}");
        assert!(line.contains("0.20% -> 0.20%"), "{line}");
        assert!(line.ends_with("proceed"), "{line}");
    }
    assert!(!out.contains("Roll back phase"), "{out}");
}

#[test]
fn an_error_rate_up_a_point_and_doubled_rolls_back_naming_the_figures() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window.requests.push((
        edge(
            &t,
            "api-gateway",
            json!({"response_code": "504", "response_flags": "UT"}),
        ),
        40.0,
    ));
    let doc = assert_rolls_back(&w, &window, "error-rate");
    let reason = &row(&doc, TARGET)["reasons"][0];
    assert_eq!(reason["window"], "4.03% (42 of 1042)");
    assert_eq!(reason["baseline"], "0.20% (2 of 1002)");
    // The caller's own row says the same.
    let caller = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["service"]["name"] == TARGET && r["caller"] == "api-gateway.edge")
        .expect("caller row");
    assert_eq!(caller["verdict"], "roll-back");
    let (_, text, _) = w.gate(&window, &[]);
    assert!(
        text.contains(&format!(
            "roll back {TARGET}.shop: error-rate 4.03% (42 of 1042) (baseline 0.20% (2 of 1002))"
        )),
        "{text}"
    );
    for c in w.rollback() {
        assert!(text.contains(&format!("  {c}\n")), "{c}: {text}");
    }
}

#[test]
fn grpc_statuses_other_than_ok_are_errors() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window.requests.push((edge(&t, "api-gateway", json!({"response_code": "200", "request_protocol": "grpc", "grpc_response_status": "14"})), 40.0));
    window.requests.push((edge(&t, "api-gateway", json!({"response_code": "200", "request_protocol": "grpc", "grpc_response_status": "0"})), 400.0));
    assert_rolls_back(&w, &window, "error-rate");
}

#[test]
fn an_error_rate_under_either_threshold_proceeds() {
    let w = World::new();
    let t = w.target();
    // +0.8 points (x5): under the +1 point threshold.
    let mut window = healthy(&w.services);
    window.requests.push((
        edge(&t, "api-gateway", json!({"response_code": "500"})),
        8.0,
    ));
    assert_eq!(w.gate_json(&window).1["verdict"], "proceed");
}

#[test]
fn thresholds_come_from_the_policy_file_and_its_errors_name_file_and_line() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window.requests.push((
        edge(&t, "api-gateway", json!({"response_code": "504"})),
        40.0,
    ));
    std::fs::write(
        w.tmp.path().join("meshsmith.yaml"),
        "rollout:\n  gate:\n    errorRatePoints: 5\n",
    )
    .expect("write");
    let (code, doc) = w.gate_json(&window);
    assert_eq!(
        (code, doc["verdict"].as_str()),
        (0, Some("proceed")),
        "{doc:#}"
    );
    assert_eq!(doc["thresholds"]["error_rate_points"], 5.0);
    std::fs::write(
        w.tmp.path().join("meshsmith.yaml"),
        "rollout:\n  gate:\n    errorRatePoints: 5\n    p99Facter: 2\n",
    )
    .expect("write");
    let (code, _, err) = w.gate(&window, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("meshsmith.yaml:4") && err.contains("p99Facter"),
        "{err}"
    );
    std::fs::write(
        w.tmp.path().join("meshsmith.yaml"),
        "rollout:\n  gate:\n    p99Factor: fast\n",
    )
    .expect("write");
    let (code, _, err) = w.gate(&window, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("meshsmith.yaml:3") && err.contains("p99Factor"),
        "{err}"
    );
}

#[test]
fn a_p99_half_again_and_50_ms_slower_rolls_back() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window
        .latency
        .retain(|(m, _)| m["destination_service_name"] != TARGET);
    window.latency.extend(buckets(
        &t,
        &[
            (5.0, 400.0),
            (10.0, 800.0),
            (25.0, 900.0),
            (50.0, 950.0),
            (250.0, 1002.0),
        ],
    ));
    let doc = assert_rolls_back(&w, &window, "p99");
    let reason = &row(&doc, TARGET)["reasons"][0];
    // Rank 0.99 * 1002 = 991.98. Baseline: in (25, 50], 25 + 25 * 1.98 / 12; window: in
    // (50, 250], 50 + 200 * 41.98 / 52 (histogram_quantile's interpolation).
    assert_eq!(reason["baseline"], "29.1 ms");
    assert_eq!(reason["window"], "211 ms");
    // x1.5 alone is not enough: 47.5 ms (x1.6, +18 ms) proceeds.
    let mut small = healthy(&w.services);
    small
        .latency
        .retain(|(m, _)| m["destination_service_name"] != TARGET);
    small.latency.extend(buckets(
        &t,
        &[(5.0, 400.0), (10.0, 800.0), (25.0, 900.0), (50.0, 1002.0)],
    ));
    assert_eq!(w.gate_json(&small).1["verdict"], "proceed");
}

#[test]
fn any_403_from_an_enforced_policy_on_an_edge_of_the_graph_rolls_back() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window.requests.push((
        edge(
            &t,
            "api-gateway",
            json!({"reporter": "destination", "response_code": "403", "response_flags": "RBAC"}),
        ),
        1.0,
    ));
    assert_rolls_back(&w, &window, "denials");
    // A caller the baseline never showed (not an edge of the graph) refused: the policy works.
    let mut stranger = healthy(&w.services);
    stranger.requests.push((
        edge(
            &t,
            "debug-shell",
            json!({"reporter": "destination", "response_code": "403", "response_flags": "RBAC"}),
        ),
        5.0,
    ));
    let (code, doc) = w.gate_json(&stranger);
    assert_eq!(
        (code, doc["verdict"].as_str()),
        (0, Some("proceed")),
        "{doc:#}"
    );
}

#[test]
fn any_plaintext_refusal_or_dry_run_denial_rolls_back() {
    let w = World::new();
    let t = w.target();
    let pod = format!("{}-7d4b9c8f6d-x2x9q", t.0);
    let mut window = healthy(&w.services);
    window.other.push((
        json!({"pod": pod, "namespace": t.1, "listener_address": "0.0.0.0_15006"}),
        3.0,
    ));
    assert_rolls_back(&w, &window, "plaintext-refusals");
    let mut window = healthy(&w.services);
    window.other.push((
        json!({"pod": pod, "namespace": t.1, "authz_dry_run_result": "denied"}),
        2.0,
    ));
    assert_rolls_back(&w, &window, "dry-run-denials");
    // Allowed results of the dry-run policy are no denial.
    let mut window = healthy(&w.services);
    window.other.push((
        json!({"pod": pod, "namespace": t.1, "authz_dry_run_result": "allowed"}),
        2.0,
    ));
    assert_eq!(w.gate_json(&window).1["verdict"], "proceed");
}

#[test]
fn new_outlier_ejections_and_tcp_failures_roll_back() {
    let w = World::new();
    let t = w.target();
    let cluster = format!("outbound|8080||{}.{}.svc.cluster.local", t.0, t.1);
    let mut window = healthy(&w.services);
    window.other.push((json!({"cluster_name": cluster}), 4.0));
    assert_rolls_back(&w, &window, "outlier-ejections");
    let mut window = healthy(&w.services);
    window.other.push((
        edge(&t, "api-gateway", json!({"response_flags": "-"})),
        200.0,
    ));
    window.other.push((
        edge(&t, "api-gateway", json!({"response_flags": "UF"})),
        20.0,
    ));
    assert_rolls_back(&w, &window, "tcp-failures");
}

#[test]
fn too_little_traffic_holds_with_the_numbers() {
    let w = World::new();
    let t = w.target();
    let mut window = healthy(&w.services);
    window
        .requests
        .retain(|(m, _)| m["destination_service_name"] != TARGET);
    window.requests.push((
        edge(&t, "api-gateway", json!({"response_code": "200"})),
        12.0,
    ));
    let (code, doc) = w.gate_json(&window);
    assert_eq!(
        (code, doc["verdict"].as_str()),
        (1, Some("hold")),
        "{doc:#}"
    );
    let reason = &row(&doc, TARGET)["reasons"][0];
    assert_eq!(reason["figure"], "traffic");
    assert_eq!(reason["window"], "12 requests");
    assert_eq!(reason["baseline"], "1002 requests");
    assert_eq!(doc["rollback"], json!([]));
    let (_, text, _) = w.gate(&window, &[]);
    assert!(
        text.lines().next().unwrap_or("").ends_with("HOLD"),
        "{text}"
    );
    assert!(text.contains("hold order-service.shop: traffic 12 requests (baseline 1002 requests); needs at least 100 requests"), "{text}");
}

#[test]
fn missing_metrics_name_what_is_missing_and_exit_2() {
    let w = World::new();
    let mut window = healthy(&w.services);
    window.latency.clear();
    let (code, out, err) = w.gate(&window, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert!(
        err.contains("window: no `istio_request_duration_milliseconds_bucket` series"),
        "{err}"
    );
    assert!(!err.contains("baseline:"), "{err}");
    // A file that is no Prometheus answer is named too.
    let win = w.tmp.path().join("window");
    std::fs::write(
        win.join("latency.json"),
        "{\"elements\": {\"nodes\": [], \"edges\": []}}\n",
    )
    .expect("write");
    let (code, _, err) = w.gate(&healthy(&w.services), &[]);
    assert_eq!(code, 0, "{err}");
    let bad = w.tmp.path().join("access.log");
    std::fs::write(&bad, "[2026-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 200 - via_upstream - \"-\" 0 2 1 1 \"-\" \"curl\" \"id\" \"a\" \"127.0.0.1:80\" inbound|80|| 127.0.0.1:1 10.0.0.1:80 10.0.0.2:5 - default\n").expect("write");
    let phase = PHASE.to_string();
    let (code, _, err) = meshsmith(
        w.tmp.path(),
        &[
            "gate",
            w.plan.to_str().unwrap_or(""),
            "--phase",
            &phase,
            "--baseline",
            bad.to_str().unwrap_or(""),
            "--window",
            win.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("access.log: not a Prometheus answer"), "{err}");
    let (code, _, err) = meshsmith(
        w.tmp.path(),
        &[
            "gate",
            w.plan.to_str().unwrap_or(""),
            "--phase",
            "9",
            "--baseline",
            win.to_str().unwrap_or(""),
            "--window",
            win.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no phase 9"), "{err}");
}

#[test]
fn json_output_follows_its_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gate-report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("json");
    let validator = jsonschema::options().build(&schema).expect("compiles");
    let w = World::new();
    let t = w.target();
    let mut bad = healthy(&w.services);
    bad.requests.push((
        edge(&t, "api-gateway", json!({"response_code": "504"})),
        40.0,
    ));
    let mut thin = healthy(&w.services);
    thin.requests
        .retain(|(m, _)| m["destination_service_name"] != TARGET);
    for window in [healthy(&w.services), bad, thin] {
        let (_, doc) = w.gate_json(&window);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

#[test]
fn the_plan_carries_the_gate_of_each_phase() {
    let w = World::new();
    for phase in w.json["phases"].as_array().expect("phases") {
        let n = phase["number"].as_u64().expect("number");
        let gate = &phase["gate"];
        assert_eq!(gate["command"], format!("meshsmith gate plan.json --phase {n} --baseline gate/phase-{n}/baseline --window gate/phase-{n}/window"));
        for (side, time) in [
            ("baseline", "\"time=$PHASE_START\""),
            ("window", "\"time=$((PHASE_START + 14400))\""),
        ] {
            let commands = gate[side].as_array().expect("commands");
            let queries = gate["queries"].as_array().expect("queries");
            assert_eq!(commands.len(), queries.len() + 1);
            for (c, q) in commands[1..].iter().zip(queries) {
                let c = c.as_str().unwrap_or("");
                assert!(
                    c.starts_with("curl -fsSG \"$PROMETHEUS/api/v1/query\""),
                    "{c}"
                );
                assert!(
                    c.contains(&format!("'query={}'", q["query"].as_str().unwrap_or(""))),
                    "{c}"
                );
                assert!(c.contains(time), "{c}");
            }
        }
    }
    let md = std::fs::read_to_string(w.plan.with_file_name("ROLLOUT.md")).expect("md");
    assert_eq!(
        md.matches("### Gate at the end of the window").count(),
        w.json["phases"].as_array().map_or(0, Vec::len)
    );
    assert!(md.contains("meshsmith gate plan.json --phase 3 --baseline gate/phase-3/baseline --window gate/phase-3/window"));
}
