//! The manifests' own Istio objects: nothing generated replaces one or conflicts with one,
//! each object left out is listed with what it would have set, and the pass-through
//! VirtualService meshsmith replaces on purpose is kept as it was for the rollback.

use super::*;
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

const SHOP: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1, env: [{name: API_URL, value: "http://api:80"}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api:1}]}
"#;

fn generated(theirs: &str) -> MeshConfig {
    let text = format!("{SHOP}---\n{theirs}");
    let loaded = load_text("shop.yaml", &text, &Limits::default()).expect("manifests load");
    let topology = infer(&inventory(&loaded.objects, "default"));
    generate(&topology, &Policy::default(), &GenerateOptions::default())
}

fn names(mesh: &MeshConfig, kind: Kind) -> Vec<String> {
    mesh.of_kind(kind)
        .map(|r| format!("{}/{}", r.namespace, r.name))
        .collect()
}

#[test]
fn a_peer_authentication_of_theirs_for_the_workload_is_kept_under_any_name() {
    let mesh = generated(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: api-mtls, namespace: shop}\n\
         spec: {selector: {matchLabels: {app: api}}, mtls: {mode: PERMISSIVE}}\n",
    );
    assert_eq!(names(&mesh, Kind::PeerAuthentication), ["shop/web"]);
    let [kept] = &mesh.kept[..] else {
        panic!("{:?}", mesh.kept)
    };
    assert_eq!(kept.object, QualifiedName::new("shop", "api-mtls"));
    assert_eq!(kept.instead_of, QualifiedName::new("shop", "api"));
    assert_eq!(kept.would_set, "mtls.mode STRICT");
    // Placed at their object: its first line in the input.
    let at = format!("{SHOP}---\n").lines().count();
    assert_eq!(kept.origin.line as usize, at + 1);
}

#[test]
fn a_destination_rule_of_theirs_for_the_host_is_kept() {
    let mesh = generated(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api-pool, namespace: shop}\n\
         spec: {host: api.shop, trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}}\n",
    );
    assert_eq!(names(&mesh, Kind::DestinationRule), ["shop/web"]);
    assert_eq!(mesh.kept.len(), 1, "{:?}", mesh.kept);
    assert!(mesh.kept[0]
        .would_set
        .contains("connectionPool.tcp.maxConnections 100"));
    assert!(mesh.kept[0].why.contains("same host"));
}

#[test]
fn an_object_of_theirs_with_the_name_meshsmith_would_use_is_never_replaced() {
    // Selects other pods, so nothing conflicts but the name.
    let mesh = generated(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: api, namespace: shop}\n\
         spec: {selector: {matchLabels: {app: other}}, rules: [{}]}\n",
    );
    assert_eq!(names(&mesh, Kind::AuthorizationPolicy), ["shop/web"]);
    assert!(mesh.kept[0].why.contains("same kind, namespace and name"));
    assert!(mesh.replaced.is_empty());
}

#[test]
fn a_replaced_pass_through_virtual_service_is_kept_as_it_was() {
    let mesh = generated(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: api-route, namespace: shop}\n\
         spec:\n  hosts: [api]\n  http:\n  - route: [{destination: {host: api}}]\n",
    );
    assert!(names(&mesh, Kind::VirtualService).contains(&"shop/api-route".to_string()));
    let [replaced] = &mesh.replaced[..] else {
        panic!("{:?}", mesh.replaced)
    };
    let original: serde_json::Value = serde_json::from_str(&replaced.original).expect("JSON text");
    assert_eq!(original["metadata"]["name"], "api-route");
    assert_eq!(original["spec"]["hosts"][0], "api");
    assert!(mesh.kept.is_empty(), "{:?}", mesh.kept);
}

#[test]
fn without_objects_of_theirs_nothing_is_kept() {
    let mesh = generated("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n");
    assert!(mesh.kept.is_empty() && mesh.replaced.is_empty());
    assert_eq!(
        names(&mesh, Kind::PeerAuthentication),
        ["shop/api", "shop/web"]
    );
}
