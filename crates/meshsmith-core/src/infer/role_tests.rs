//! Roles on small manifests: front doors against webhook receivers, user interfaces,
//! datastores by port, and the annotation that overrides them all.

use super::*;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

fn topology(text: &str) -> Topology {
    let loaded = load_text("app.yaml", text, &Limits::default()).expect("fixture parses");
    infer(&inventory(&loaded.objects, "default"))
}

/// A Deployment with one container and a Service of `kind` on `port` for it.
fn app(name: &str, image: &str, kind: &str, port: u16, env: &str) -> String {
    format!(
        r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: main
          image: {image}
          env: [{env}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  type: {kind}
  selector: {{app: {name}}}
  ports: [{{port: {port}}}]
"#
    )
}

fn backends() -> String {
    [
        app("pay", "registry.example/pay:1", "ClusterIP", 8080, ""),
        app("users", "registry.example/users:1", "ClusterIP", 8080, ""),
    ]
    .concat()
}

const CALLS_ONE: &str = "{name: PAY_URL, value: \"http://pay:8080\"}";
const CALLS_TWO: &str =
    "{name: PAY_URL, value: \"http://pay:8080\"}, {name: USERS_URL, value: \"http://users:8080\"}";

fn role_of(t: &Topology, name: &str) -> (Role, String) {
    let s = t.find(name).unwrap_or_else(|| panic!("no node {name}"));
    (s.role, s.role_reason.clone())
}

#[test]
fn an_exposed_service_that_calls_others_is_a_front_door_never_a_webhook_receiver() {
    let t = topology(
        &[
            backends(),
            app(
                "frontend",
                "registry.example/frontend:1",
                "LoadBalancer",
                80,
                CALLS_TWO,
            ),
            // Named as a receiver, but a receiver calls at most one service.
            app(
                "stripe-callback",
                "registry.example/cb:1",
                "LoadBalancer",
                443,
                CALLS_TWO,
            ),
            app(
                "hook",
                "registry.example/hook:1",
                "LoadBalancer",
                443,
                CALLS_ONE,
            ),
            app(
                "inbound",
                "registry.example/inbound:1",
                "NodePort",
                8080,
                "",
            ),
        ]
        .concat(),
    );
    let (role, why) = role_of(&t, "frontend");
    assert_eq!(role, Role::Gateway);
    assert_eq!(
        why,
        "exposed by its own LoadBalancer Service and calls 2 services: a front door"
    );
    assert_eq!(role_of(&t, "stripe-callback").0, Role::Gateway);
    let (role, why) = role_of(&t, "hook");
    assert_eq!(role, Role::WebhookReceiver);
    assert!(
        why.starts_with("its own LoadBalancer Service takes plain traffic from outside the mesh")
            && why.contains("calls 1 service (a webhook receiver calls at most 1"),
        "{why}"
    );
    assert_eq!(role_of(&t, "inbound").0, Role::WebhookReceiver);
}

#[test]
fn an_exposed_user_interface_is_a_front_door_although_its_calls_are_hidden() {
    let t = topology(
        &[
            app(
                "front-end",
                "weaveworksdemos/front-end:0.3.12",
                "NodePort",
                80,
                "",
            ),
            app("shop-ui", "registry.example/shop:1", "LoadBalancer", 80, ""),
            app("edge", "nginx:1.27", "LoadBalancer", 80, ""),
            app(
                "store",
                "registry.example/storefront:2",
                "LoadBalancer",
                80,
                "",
            ),
            app(
                "admin-api",
                "registry.example/admin-api:1",
                "LoadBalancer",
                80,
                "",
            ),
        ]
        .concat(),
    );
    let (role, why) = role_of(&t, "front-end");
    assert_eq!(role, Role::Gateway);
    assert_eq!(
        why,
        "exposed by its own NodePort Service and serves a user interface (named front-end): \
         a front door, whose calls live in its code or configuration"
    );
    assert_eq!(role_of(&t, "shop-ui").0, Role::Gateway);
    assert!(role_of(&t, "edge")
        .1
        .contains("web server image nginx:1.27"));
    assert!(role_of(&t, "store")
        .1
        .contains("image registry.example/storefront:2"));
    // `admin` next to `api` names an API: exposed and calling nothing, a receiver.
    assert_eq!(role_of(&t, "admin-api").0, Role::WebhookReceiver);
}

#[test]
fn datastores_are_known_by_their_port_as_well_as_by_their_image() {
    let t = topology(
        &[
            app(
                "catalogue-db",
                "weaveworksdemos/catalogue-db:0.3.0",
                "ClusterIP",
                3306,
                "",
            ),
            app(
                "user-db",
                "weaveworksdemos/user-db:0.3.0",
                "ClusterIP",
                27017,
                "",
            ),
            app("cache", "redis:7", "ClusterIP", 7000, ""),
            app("api", "registry.example/api:1", "ClusterIP", 8080, ""),
        ]
        .concat(),
    );
    assert_eq!(
        role_of(&t, "catalogue-db"),
        (
            Role::Datastore,
            "serves TCP on the well-known datastore port 3306".to_string()
        )
    );
    assert_eq!(role_of(&t, "user-db").0, Role::Datastore);
    assert_eq!(
        role_of(&t, "cache").1,
        "serves TCP and runs the datastore image redis:7"
    );
    assert_eq!(role_of(&t, "api").0, Role::SyncApi);
}

#[test]
fn the_role_annotation_comes_first_and_reasons_name_no_file() {
    let annotated = app(
        "portal",
        "registry.example/portal:1",
        "LoadBalancer",
        80,
        CALLS_TWO,
    )
    .replace(
        "labels: {app: portal}}",
        "labels: {app: portal}, annotations: {meshsmith.dev/role: webhook-receiver}}",
    );
    let t = topology(&[backends(), annotated].concat());
    let (role, why) = role_of(&t, "portal");
    assert_eq!(role, Role::WebhookReceiver);
    assert!(why.starts_with("annotation meshsmith.dev/role"), "{why}");
    for s in &t.services {
        assert!(
            !s.role_reason.contains("app.yaml"),
            "{}: {}",
            s.id,
            s.role_reason
        );
    }
}
