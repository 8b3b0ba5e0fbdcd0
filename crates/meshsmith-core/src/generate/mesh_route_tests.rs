//! A host the manifests' own VirtualService already routes for sidecars: a second
//! VirtualService for it would conflict (Istio's IST0109), so meshsmith writes none, unless
//! theirs only passes traffic through, which meshsmith's replaces under its name.

use super::*;
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

const WEB: &str = r#"
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
    metadata: {labels: {app: web}, annotations: {sidecar.istio.io/inject: "true"}}
    spec: {containers: [{name: web, image: web:1}]}
"#;

fn generated(theirs: &str) -> MeshConfig {
    let text = format!("{WEB}---\n{theirs}");
    let loaded = load_text("shop.yaml", &text, &Limits::default()).expect("manifests load");
    let topology = infer(&inventory(&loaded.objects, "default"));
    generate(&topology, &Policy::default(), &GenerateOptions::default())
}

fn virtual_services(mesh: &MeshConfig) -> Vec<String> {
    mesh.of_kind(Kind::VirtualService)
        .map(|r| format!("{}/{}", r.namespace, r.name))
        .collect()
}

#[test]
fn a_host_their_virtual_service_routes_gets_none_of_meshsmiths() {
    let mesh = generated(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web-canary, namespace: shop}\n\
         spec:\n  hosts: [web]\n  http:\n  - match: [{headers: {x-canary: {exact: \"1\"}}}]\n    route: [{destination: {host: web, subset: v2}}]\n  - route: [{destination: {host: web}}]\n",
    );
    assert!(
        virtual_services(&mesh).is_empty(),
        "{:?}",
        virtual_services(&mesh)
    );
    assert!(
        mesh.notes
            .iter()
            .any(|n| n.contains("VirtualService web-canary.shop")
                && n.contains("set the timeout and retries there")),
        "{:?}",
        mesh.notes
    );
}

#[test]
fn a_pass_through_virtual_service_is_replaced_under_its_own_name() {
    let mesh = generated(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web-route, namespace: shop}\n\
         spec:\n  hosts: [web.shop.svc.cluster.local]\n  http:\n  - route: [{destination: {host: web, port: {number: 80}}}]\n",
    );
    assert_eq!(virtual_services(&mesh), ["shop/web-route"]);
    assert!(
        mesh.notes
            .iter()
            .any(|n| n.contains("only passes web through")),
        "{:?}",
        mesh.notes
    );
}

#[test]
fn a_virtual_service_bound_to_a_gateway_only_is_no_conflict() {
    let mesh = generated(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web-edge, namespace: shop}\n\
         spec:\n  hosts: [shop.example.com]\n  gateways: [istio-system/public]\n  http:\n  - route: [{destination: {host: web}}]\n",
    );
    assert_eq!(virtual_services(&mesh), ["shop/web"]);
}
