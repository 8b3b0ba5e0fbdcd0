use super::*;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

fn line_of(text: &str, origin: &Origin) -> String {
    text.lines()
        .nth(origin.line as usize - 1)
        .unwrap_or("")
        .to_string()
}

fn topology(text: &str) -> Topology {
    let loaded = load_text("app.yaml", text, &Limits::default()).expect("fixture parses");
    infer(&inventory(&loaded.objects, "default"))
}

/// A Deployment `name` in `ns` with the given container body, plus a Service for it.
fn app(ns: &str, name: &str, port: u16, port_name: &str, container: &str) -> String {
    format!(
        r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: main
          image: registry.example/{name}:1
{container}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: {port_name}, port: {port}, targetPort: {port}}}]
"#
    )
}

fn edge_list(t: &Topology) -> Vec<String> {
    t.edges
        .iter()
        .map(|e| format!("{} -> {}:{}", e.from, e.to, e.port.unwrap_or(0)))
        .collect()
}

fn callees() -> String {
    [
        app("shop", "pay", 8080, "http", ""),
        app("shop", "users", 9090, "grpc", ""),
        app("data", "ledger", 8080, "http-api", ""),
        app("data", "store", 50051, "grpc", ""),
    ]
    .concat()
}

#[test]
fn env_values_in_every_host_form_become_edges_with_evidence() {
    let caller = app(
        "shop",
        "orders",
        8080,
        "http",
        r#"          env:
            - {name: PAY_URL, value: "http://pay:8080/v1"}
            - {name: USERS_ADDR, value: "users.shop.svc:9090"}
            - {name: LEDGER_HOST, value: ledger.data}
            - {name: LEDGER_PORT, value: "8080"}
            - {name: STORE_HOST, value: store.data.svc.cluster.local}
            - {name: STORE_TARGET, value: "dns:///$(STORE_HOST):50051"}
            - {name: SELF_URL, value: "http://orders.shop:8080"}
            - {name: LOG_LEVEL, value: info}
"#,
    );
    let t = topology(&(callees() + &caller));
    assert_eq!(
        edge_list(&t),
        vec![
            "orders.shop -> ledger.data:8080",
            "orders.shop -> store.data:50051",
            "orders.shop -> pay.shop:8080",
            "orders.shop -> users.shop:9090",
        ]
    );
    let ledger = &t.edges[0];
    assert_eq!(ledger.evidence[0].kind, HintKind::EnvHostPort);
    assert_eq!(ledger.confidence, Confidence::High);
    assert_eq!(&*ledger.evidence[0].origin.file, "app.yaml");
    let store = &t.edges[1];
    assert!(
        store
            .evidence
            .iter()
            .any(|e| e.detail.contains("STORE_TARGET")),
        "{store:?}"
    );
    assert_eq!(store.protocol, Protocol::Grpc);
}

#[test]
fn config_maps_args_init_waits_mounted_files_and_annotations() {
    let config = r#"---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-deps, namespace: shop}
data:
  PAY_URL: http://pay:8080
  users.addr: users:9090
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-files, namespace: shop}
data:
  app.yaml: |
    server:
      port: 8080
    ledger:
      host: ledger.data
"#;
    let caller = app(
        "shop",
        "orders",
        8080,
        "http",
        r#"          envFrom: [{configMapRef: {name: orders-deps}}]
          env:
            - name: USERS
              valueFrom: {configMapKeyRef: {name: orders-deps, key: users.addr}}
          args: ["--store-addr=store.data:50051"]
          volumeMounts: [{name: files, mountPath: /etc/orders}]
      initContainers:
        - name: wait
          image: busybox
          command: ["sh", "-c", "until nc -z store.data 50051; do sleep 1; done"]
      volumes: [{name: files, configMap: {name: orders-files}}]
"#,
    );
    let text = callees() + config + &caller;
    let t = topology(&text);
    assert_eq!(edge_list(&t).len(), 4, "{:?}", edge_list(&t));
    let kinds = |to: &str| -> Vec<HintKind> {
        let e = t.edges.iter().find(|e| e.to.name == to).expect("edge");
        e.evidence.iter().map(|v| v.kind).collect()
    };
    assert_eq!(kinds("pay"), vec![HintKind::EnvFromConfigMap]);
    assert!(
        kinds("users").contains(&HintKind::ConfigMapKeyRef),
        "{:?}",
        kinds("users")
    );
    assert!(kinds("store").contains(&HintKind::Args));
    assert!(kinds("store").contains(&HintKind::InitWait));
    let ledger = t
        .edges
        .iter()
        .find(|e| e.to.name == "ledger")
        .expect("ledger edge");
    assert_eq!(ledger.evidence[0].kind, HintKind::MountedConfigFile);
    // The evidence points at the line inside the mounted file, not at the ConfigMap.
    assert_eq!(
        line_of(&text, &ledger.evidence[0].origin).trim(),
        "host: ledger.data"
    );
}

#[test]
fn init_container_waits_and_calls_annotation() {
    let caller = app(
        "shop",
        "orders",
        8080,
        "http",
        r#"      initContainers:
        - name: wait
          image: busybox
          command: ["sh", "-c", "until nc -z pay 8080; do sleep 1; done"]
"#,
    )
    .replace(
        "labels: {app: orders}",
        "labels: {app: orders}, annotations: {meshsmith.dev/calls: \"ledger.data:8080\"}",
    );
    let t = topology(&(callees() + &caller));
    let kinds: Vec<(String, HintKind)> = t
        .edges
        .iter()
        .map(|e| (e.to.name.to_string(), e.evidence[0].kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ledger".to_string(), HintKind::Annotation),
            ("pay".to_string(), HintKind::InitWait)
        ]
    );
}

#[test]
fn commands_quoted_as_evidence_keep_their_targets_and_lose_their_credentials() {
    let caller = app(
        "shop",
        "orders",
        8080,
        "http",
        r#"      initContainers:
        - name: wait
          image: busybox
          command: ["sh", "-c", "export PGPASSWORD=pgS3CRET; until nc -z pay 8080; do sleep 1; done"]
        - name: call
          image: curl
          args: ["sh", "-c", "curl -H 'Authorization: Bearer eyJS3CRET' http://users:9090/"]
"#,
    );
    let t = topology(&(callees() + &caller));
    let details: Vec<&str> = t
        .edges
        .iter()
        .flat_map(|e| e.evidence.iter().map(|ev| ev.detail.as_str()))
        .collect();
    assert_eq!(
        details,
        vec![
            "init container wait `export PGPASSWORD=***; until nc -z pay 8080; do sleep 1; done`",
            "init container call `curl -H 'Authorization: Bearer ***' http://users:9090/`",
        ]
    );
}

#[test]
fn unresolved_external_and_self_references() {
    let caller = app(
        "shop",
        "orders",
        8080,
        "http",
        r#"          env:
            - {name: GHOST_ADDR, value: "ghost:7070"}
            - {name: STRIPE_API_BASE, value: "https://api.stripe.com"}
            - {name: PUBLIC_URL, value: "http://orders.shop.svc.cluster.local:8080"}
            - {name: DB_HOST, value: localhost}
"#,
    );
    let t = topology(&(callees() + &caller));
    assert!(t.edges.is_empty(), "{:?}", edge_list(&t));
    assert_eq!(t.unresolved.len(), 1);
    assert_eq!(
        (t.unresolved[0].host.as_str(), t.unresolved[0].port),
        ("ghost", Some(7070))
    );
    assert_eq!(t.external.len(), 1);
    let x = &t.external[0];
    assert_eq!(
        (x.host.as_str(), x.port, x.tls),
        ("api.stripe.com", Some(443), true)
    );
}

#[test]
fn a_config_map_shared_by_many_workloads_gives_low_confidence() {
    let shared = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: all-addresses, namespace: shop}\ndata:\n  PAY_URL: http://pay:8080\n";
    let using = "          envFrom: [{configMapRef: {name: all-addresses}}]\n";
    let text = callees()
        + shared
        + &app("shop", "a", 80, "http", using)
        + &app("shop", "b", 80, "http", using)
        + &app("shop", "c", 80, "http", using);
    let t = topology(&text);
    assert_eq!(t.edges.len(), 3);
    assert!(t.edges.iter().all(|e| e.confidence == Confidence::Low));
}

#[test]
fn protocols_declared_and_believed() {
    let redis =
        app("shop", "cache", 6379, "http", "").replace("registry.example/cache:1", "redis:7");
    let grpc_probe = app(
        "shop",
        "search",
        7000,
        "tcp-search",
        "          readinessProbe: {grpc: {port: 7000}}\n",
    );
    let plain = app("shop", "web", 80, "web", "");
    let t = topology(&(redis + &grpc_probe + &plain));
    let port = |name: &str| t.find(name).expect("node").ports[0].clone();
    let cache = port("cache");
    assert_eq!(
        (cache.declared, cache.believed),
        (Protocol::Http, Protocol::Tcp)
    );
    assert!(cache.reason.contains("redis"), "{}", cache.reason);
    let search = port("search");
    assert_eq!(
        (search.declared, search.believed),
        (Protocol::Tcp, Protocol::Grpc)
    );
    // No evidence is no guess: Istio sniffs it and meshsmith does not know.
    let web = port("web");
    assert_eq!(
        (web.declared, web.believed),
        (Protocol::Unknown, Protocol::Unknown)
    );
    assert!(web.reason.starts_with("no evidence"), "{}", web.reason);
    assert_eq!(t.find("search").map(|s| s.protocol), Some(Protocol::Grpc));
}

#[test]
fn roles_follow_the_evidence() {
    let gateway_vs = r#"---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: public, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [public-gateway]
  http: [{route: [{destination: {host: front.shop.svc.cluster.local}}]}]
"#;
    let text = [
        callees(),
        gateway_vs.to_string(),
        app(
            "shop",
            "front",
            80,
            "http",
            "          env: [{name: PAY_URL, value: \"http://pay:8080\"}]\n",
        ),
        app(
            "shop",
            "hook",
            80,
            "http",
            "          env: [{name: PAY_URL, value: \"http://pay:8080\"}]\n",
        )
        .replace(
            "ports: [{name: http",
            "type: LoadBalancer\n  ports: [{name: http",
        ),
        app(
            "shop",
            "agg",
            80,
            "http",
            "          env: [{name: A, value: \"pay:8080\"}, {name: B, value: \"users:9090\"}]\n",
        ),
        app(
            "shop",
            "ext",
            80,
            "http",
            "          env: [{name: API, value: \"https://api.stripe.com\"}]\n",
        ),
        app(
            "shop",
            "mailer",
            80,
            "http",
            "          env: [{name: JOB_QUEUE, value: mails}]\n",
        ),
        app("shop", "pinned", 80, "http", "").replace(
            "labels: {app: pinned}",
            "labels: {app: pinned}, annotations: {meshsmith.dev/role: datastore}",
        ),
    ]
    .concat();
    let t = topology(&text);
    let role = |n: &str| t.find(n).map(|s| s.role);
    assert_eq!(role("front"), Some(Role::Gateway));
    assert_eq!(role("hook"), Some(Role::WebhookReceiver));
    assert_eq!(role("agg"), Some(Role::Aggregator));
    assert_eq!(role("ext"), Some(Role::ExternalIntegration));
    assert_eq!(role("mailer"), Some(Role::Worker));
    assert_eq!(role("pinned"), Some(Role::Datastore));
    assert_eq!(role("pay"), Some(Role::SyncApi));
    assert!(t
        .find("pinned")
        .is_some_and(|s| s.role_reason.contains("annotation")));
    assert!(t
        .find("hook")
        .is_some_and(|s| s.role_reason.contains("LoadBalancer")));
}

#[test]
fn timeout_audit_classifies_today_settings() {
    let text = [
        app("shop", "none", 80, "http", ""),
        app("shop", "long", 80, "http", "          env: [{name: PAY_TIMEOUT_MS, value: \"30000\"}, {name: PAY_RETRIES, value: \"3\"}]\n"),
        app("shop", "fine", 80, "http", "          env: [{name: PAY_TIMEOUT, value: 2500ms}, {name: DB_TIMEOUT_SECONDS, value: \"5\"}]\n"),
        app("shop", "forever", 80, "http", "          env: [{name: UPSTREAM_TIMEOUT, value: \"0\"}]\n"),
    ]
    .concat();
    let t = topology(&text);
    let audit = |n: &str| t.find(n).map(|s| s.timeout_audit);
    assert_eq!(audit("none"), Some(TimeoutAudit::None));
    assert_eq!(audit("long"), Some(TimeoutAudit::TooLong));
    assert_eq!(audit("fine"), Some(TimeoutAudit::Reasonable));
    assert_eq!(audit("forever"), Some(TimeoutAudit::TooLong));
    let long = t.find("long").expect("node");
    assert_eq!(long.longest_timeout(), Some(30.0));
    assert!(long
        .settings
        .iter()
        .any(|s| !s.is_timeout && s.value == 3.0));
}

#[test]
fn a_headless_twin_is_an_alias_and_unselected_workloads_are_their_own_nodes() {
    let text = app("data", "db", 5432, "tcp-pg", "").replace("registry.example/db:1", "postgres:16")
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: db-headless, namespace: data}\nspec:\n  clusterIP: None\n  selector: {app: db}\n  ports: [{port: 5432}]\n"
        + "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: data}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: x, env: [{name: DB_URL, value: \"postgresql://db-headless:5432/x\"}]}]\n";
    let t = topology(&text);
    let names: Vec<String> = t.services.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(names, vec!["db.data", "nightly.data"]);
    let aliases: Vec<&str> = t.services[0]
        .aliases
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(aliases, vec!["db-headless"]);
    assert!(t.services[0].aliases[0].headless);
    assert_eq!(t.services[0].role, Role::Datastore);
    assert_eq!(t.services[1].role, Role::Worker);
    assert_eq!(edge_list(&t), vec!["nightly.data -> db.data:5432"]);
    assert_eq!(t.edges[0].protocol, Protocol::Tcp);
}

#[test]
fn fuzz_regressions_give_unique_sorted_nodes_and_no_self_edges() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("regressions folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        let Ok(loaded) = crate::load::load_bytes("fuzz.yaml", &bytes, &Limits::default()) else {
            continue;
        };
        let t = infer(&inventory(&loaded.objects, "default"));
        assert!(
            t.services.windows(2).all(|w| w[0].id < w[1].id),
            "{}",
            file.display()
        );
        assert!(t.edges.iter().all(|e| e.from != e.to), "{}", file.display());
    }
}
