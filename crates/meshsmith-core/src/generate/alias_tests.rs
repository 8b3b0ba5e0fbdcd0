//! Every Service is a host: a second Service on a node's pods (an alias, a headless twin)
//! gets its own route and circuit breaker, and appears in the Sidecar egress of the
//! callers that use its name; the result passes meshsmith's own check.

use super::self_check_tests::{self_check_loaded, INPUT_CAUSED};
use super::*;
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

/// `web` behind two Services (its own on 8080, `web-alias` on 80 -> 8080 and an admin port
/// 9090 that web's own does not expose); `api` calls it
/// as `http://web-alias`; `search` has an HTTP headless twin `search-nodes` that `api` calls
/// by a pod's name; `db` has a TCP headless twin that a CronJob calls.
const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: api, namespace: shop}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: search, namespace: shop}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: db, namespace: shop}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: nightly, namespace: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {sidecar.istio.io/inject: "true"}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: example/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-alias, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http-web, port: 80, targetPort: 8080}, {name: http-admin, port: 9090, targetPort: 9090}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}, annotations: {sidecar.istio.io/inject: "true"}}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: example/api:1
          env:
            - {name: WEB_URL, value: "http://web-alias"}
            - {name: WEB_TIMEOUT_MS, value: "2000"}
            - {name: SEARCH_URL, value: "http://search-0.search-nodes.shop.svc.cluster.local:9200"}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: search, namespace: shop}
spec:
  serviceName: search-nodes
  selector: {matchLabels: {app: search}}
  template:
    metadata: {labels: {app: search}, annotations: {sidecar.istio.io/inject: "true"}}
    spec:
      serviceAccountName: search
      containers: [{name: search, image: example/search:1}]
---
apiVersion: v1
kind: Service
metadata: {name: search, namespace: shop}
spec:
  selector: {app: search}
  ports: [{name: http, port: 9200, targetPort: 9200}]
---
apiVersion: v1
kind: Service
metadata: {name: search-nodes, namespace: shop}
spec:
  clusterIP: None
  selector: {app: search}
  ports: [{name: http, port: 9200, targetPort: 9200}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db-headless
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}, annotations: {sidecar.istio.io/inject: "true"}}
    spec:
      serviceAccountName: db
      containers: [{name: db, image: postgres:16}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports: [{name: tcp-pg, port: 5432, targetPort: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: db-headless, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp-pg, port: 5432, targetPort: 5432}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}, annotations: {sidecar.istio.io/inject: "true"}}
        spec:
          serviceAccountName: nightly
          containers:
            - name: nightly
              image: example/nightly:1
              env: [{name: DB_URL, value: "postgresql://db-headless:5432/shop"}]
"#;

fn world() -> (Topology, MeshConfig) {
    let loaded = load_text("shop.yaml", MANIFESTS, &Limits::default()).expect("manifests load");
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let options = GenerateOptions {
        namespace_labels: inv.namespace_labels(),
        ..GenerateOptions::default()
    };
    let mesh = generate(&topology, &Policy::default(), &options);
    (topology, mesh)
}

fn vs<'a>(c: &'a MeshConfig, name: &str) -> &'a VirtualServiceSpec {
    match c.find(Kind::VirtualService, "shop", name).map(|r| &r.spec) {
        Some(Spec::VirtualService(s)) => s,
        other => panic!("no VirtualService {name}: {other:?}"),
    }
}

fn dr<'a>(c: &'a MeshConfig, name: &str) -> &'a DestinationRuleSpec {
    match c.find(Kind::DestinationRule, "shop", name).map(|r| &r.spec) {
        Some(Spec::DestinationRule(s)) => s,
        other => panic!("no DestinationRule {name}: {other:?}"),
    }
}

fn egress(c: &MeshConfig, workload: &str) -> Vec<String> {
    match c.find(Kind::Sidecar, "shop", workload).map(|r| &r.spec) {
        Some(Spec::Sidecar(s)) => s.egress[0].hosts.clone(),
        other => panic!("no Sidecar {workload}: {other:?}"),
    }
}

#[test]
fn a_caller_of_an_alias_gets_its_route_its_circuit_breaker_and_its_egress() {
    let (topology, c) = world();
    // The call is recorded with the name it used, on web's own port behind the alias's 80.
    let edge = topology
        .edges
        .iter()
        .find(|e| e.from.name == "api" && e.to.name == "web")
        .expect("api -> web");
    assert_eq!(edge.via, ["web-alias"]);
    assert_eq!(edge.port, Some(8080));
    assert_eq!(edge.protocol, Protocol::Http);

    // Its own route on each of its own ports: the alias's host, web's timeout and retries.
    let own = vs(&c, "web");
    let alias = vs(&c, "web-alias");
    assert_eq!(alias.hosts, ["web-alias.shop.svc.cluster.local"]);
    let ports: Vec<(u16, Option<u16>)> = alias
        .http
        .iter()
        .map(|h| {
            let to = h.route[0].destination.port.as_ref().map(|p| p.number);
            (h.matches[0].port, to)
        })
        .collect();
    assert_eq!(ports, [(80, Some(80)), (9090, Some(9090))]);
    let route = &alias.http[0];
    assert_eq!(
        route.route[0].destination.host,
        "web-alias.shop.svc.cluster.local"
    );
    assert_eq!(route.timeout, own.http[0].timeout);
    assert!(route.timeout.is_some());
    assert_eq!(
        route.retries.as_ref().map(|r| r.attempts),
        own.http[0].retries.as_ref().map(|r| r.attempts)
    );

    // Its own circuit breaker, with web's settings.
    let rule = dr(&c, "web-alias");
    assert_eq!(rule.host, "web-alias.shop.svc.cluster.local");
    assert_eq!(rule.traffic_policy, dr(&c, "web").traffic_policy);
    assert_eq!(
        rule.traffic_policy.outlier_detection.consecutive_5xx_errors,
        5
    );
    assert!(rule.traffic_policy.connection_pool.http.is_some());

    // In api's egress by that name (and web's own), so the call does not leave in plain text.
    let hosts = egress(&c, "api");
    assert!(
        hosts.contains(&"shop/web-alias.shop.svc.cluster.local".to_string()),
        "{hosts:?}"
    );
    assert!(hosts.contains(&"shop/web.shop.svc.cluster.local".to_string()));
    // Nobody calls web by search-nodes' or db's names: no such hosts in web's or api's egress.
    assert!(!egress(&c, "web").iter().any(|h| h.contains("web-alias")));
    // All of it lives in web's folder, its own resources first.
    let owned: Vec<(&str, &str)> = c
        .resources
        .iter()
        .filter(|r| r.owner.name == "web" && r.kind == Kind::VirtualService)
        .map(|r| (r.kind.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        owned,
        [("VirtualService", "web"), ("VirtualService", "web-alias")]
    );
}

#[test]
fn headless_twins_get_a_circuit_breaker_and_http_ones_a_route() {
    let (topology, c) = world();
    // A TCP headless twin: a DestinationRule (Istio applies it to headless Services too),
    // no route, and the CronJob that calls it by that name imports it.
    let twin = dr(&c, "db-headless");
    assert_eq!(twin.host, "db-headless.shop.svc.cluster.local");
    assert!(twin.traffic_policy.connection_pool.http.is_none());
    let why = &c
        .find(Kind::DestinationRule, "shop", "db-headless")
        .expect("rule")
        .reasons;
    assert!(
        why.iter().any(|r| r.why.contains("original-destination")),
        "{why:?}"
    );
    assert!(c
        .find(Kind::VirtualService, "shop", "db-headless")
        .is_none());
    assert!(egress(&c, "nightly").contains(&"shop/db-headless.shop.svc.cluster.local".to_string()));

    // An HTTP headless twin called by a pod's name: a route with its node's timeout (Istio
    // matches `*.search-nodes...` to it), its own rule, and the egress entry.
    let edge = topology
        .edges
        .iter()
        .find(|e| e.from.name == "api" && e.to.name == "search")
        .expect("api -> search");
    assert_eq!(edge.via, ["search-nodes"]);
    let route = vs(&c, "search-nodes");
    assert_eq!(route.hosts, ["search-nodes.shop.svc.cluster.local"]);
    assert_eq!(route.http[0].timeout, vs(&c, "search").http[0].timeout);
    let reasons = &c
        .find(Kind::VirtualService, "shop", "search-nodes")
        .expect("route")
        .reasons;
    assert!(
        reasons.iter().any(|r| r.why.contains("headless")),
        "{reasons:?}"
    );
    dr(&c, "search-nodes");
    assert!(egress(&c, "api").contains(&"shop/search-nodes.shop.svc.cluster.local".to_string()));
}

#[test]
fn every_name_of_a_service_with_unknown_callers_is_imported_everywhere() {
    let (mut topology, _) = world();
    let web = topology
        .services
        .iter_mut()
        .find(|s| s.id.name == "web")
        .expect("web");
    web.callers = CallerKnowledge {
        level: Completeness::Unknown,
        reasons: Vec::new(),
        basis: String::new(),
    };
    let c = generate(&topology, &Policy::default(), &GenerateOptions::default());
    for workload in ["api", "search", "db", "nightly"] {
        let hosts = egress(&c, workload);
        for name in ["web", "web-alias"] {
            let wanted = format!("shop/{name}.shop.svc.cluster.local");
            assert!(
                hosts.contains(&wanted),
                "{workload} lacks {wanted}: {hosts:?}"
            );
        }
    }
    // Its own Sidecar needs neither.
    assert!(!egress(&c, "web").iter().any(|h| h.contains("web")));
}

#[test]
fn check_stays_clean_on_the_aliases() {
    let loaded = load_text("shop.yaml", MANIFESTS, &Limits::default()).expect("manifests load");
    let found = self_check_loaded(loaded, "shop.yaml", &Policy::default());
    // Only findings about the manifests themselves, none pointing at a generated file: no
    // route, rule or egress host of an alias fails to resolve.
    for (code, findings) in &found {
        for f in findings {
            let generated = f
                .origin
                .as_ref()
                .is_some_and(|o| o.file.starts_with("<generated>"));
            assert!(
                !generated && INPUT_CAUSED.iter().any(|(c, _)| c == code),
                "{code} {}: {}",
                f.resource,
                f.message
            );
        }
    }
}

#[test]
fn a_route_for_another_name_of_the_callee_does_not_govern_the_call() {
    // Hand-written: a route for `web` only, and api (calling `web-alias`) has no timeout of
    // its own. Istio applies no route to api's calls, and check says so.
    let text = MANIFESTS.replace(
        "            - {name: WEB_TIMEOUT_MS, value: \"2000\"}\n",
        "",
    ) + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web, namespace: shop}\nspec:\n  hosts: [web.shop.svc.cluster.local]\n  http: [{timeout: 2s, route: [{destination: {host: web.shop.svc.cluster.local}}]}]\n";
    let loaded = load_text("shop.yaml", &text, &Limits::default()).expect("manifests load");
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let missing: Vec<String> = crate::check::check(&inv, &topology, &Default::default())
        .into_iter()
        .filter(|f| f.code == "MS205")
        .map(|f| f.message)
        .collect();
    assert!(
        missing
            .iter()
            .any(|m| m.contains("api.shop") && m.contains("web.shop")),
        "{missing:?}"
    );
}
