//! Believed and declared protocols, end to end from manifests.

use super::*;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};

fn topology(text: &str) -> Topology {
    let loaded = load_text("app.yaml", text, &Limits::default()).expect("fixture parses");
    infer(&inventory(&loaded.objects, "default"))
}

/// A Deployment running `image` with `env` and `ports` (a flow list) on its Service, or no
/// Service when `ports` is empty.
fn workload(name: &str, image: &str, env: &str, ports: &str) -> String {
    let service = if ports.is_empty() {
        String::new()
    } else {
        format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n\
             spec:\n  selector: {{app: {name}}}\n  ports: {ports}\n"
        )
    };
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  \
         template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n        \
         - name: main\n          image: {image}\n          env: [{env}]\n{service}"
    )
}

fn service<'a>(t: &'a Topology, name: &str) -> &'a MeshService {
    t.services.iter().find(|s| s.id.name == name).expect(name)
}

#[test]
fn callers_urls_win_over_a_tcp_declaration_which_stays_what_istio_does() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "web",
            "example/web:1",
            "{name: API_URL, value: 'http://api:8080/v1'}",
            ""
        ),
        workload(
            "api",
            "example/api:1",
            "",
            "[{name: tcp-service, port: 8080}]"
        ),
    ));
    let api = service(&t, "api");
    assert_eq!(api.protocol, Protocol::Http);
    assert_eq!(api.protocol_reason, "callers use http://");
    assert_eq!(api.declared_protocol, Protocol::Tcp);
    assert_eq!(api.declared_reason, "port name `tcp-service`");
}

#[test]
fn a_grpc_client_setting_is_evidence_of_grpc() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "web",
            "example/web:1",
            "{name: CATALOG_GRPC_ADDR, value: 'catalog:5000'}",
            ""
        ),
        workload(
            "catalog",
            "example/catalog:1",
            "",
            "[{name: tcp-service, port: 5000}]"
        ),
    ));
    let catalog = service(&t, "catalog");
    assert_eq!(catalog.protocol, Protocol::Grpc);
    assert!(catalog.protocol_reason.contains("CATALOG_GRPC_ADDR"));
}

#[test]
fn port_names_with_a_protocol_word_are_evidence_and_rpc_is_not() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "tracing",
            "example/tracer:1",
            "",
            "[{name: jaeger-grpc, port: 14251}]"
        ),
        workload(
            "backend",
            "example/backend:1",
            "",
            "[{name: rpc, port: 7000}]"
        ),
    ));
    assert_eq!(service(&t, "tracing").protocol, Protocol::Grpc);
    let backend = service(&t, "backend");
    assert_eq!(backend.protocol, Protocol::Unknown);
    assert!(backend.protocol_reason.starts_with("no evidence"));
    assert_eq!(backend.declared_protocol, Protocol::Unknown);
    assert!(backend.declared_reason.ends_with("Istio will sniff it"));
}

#[test]
fn servers_are_known_by_image_and_port() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "sql",
            "mcr.microsoft.com/mssql/server:2022-latest",
            "",
            "[{port: 1433}]"
        ),
        workload(
            "broker",
            "rabbitmq:3-management",
            "",
            "[{name: management, port: 15672}, {name: amqp-port, port: 5672}]"
        ),
    ));
    let sql = service(&t, "sql");
    assert_eq!(sql.protocol, Protocol::Tcp);
    assert!(
        sql.protocol_reason.contains("SQL Server"),
        "{}",
        sql.protocol_reason
    );
    let broker = service(&t, "broker");
    assert_eq!(broker.protocol, Protocol::Tcp, "{}", broker.protocol_reason);
    assert_eq!(broker.port(15672).unwrap().believed, Protocol::Http);
    assert!(broker
        .protocol_reason
        .starts_with("port 5672 (its server's main port)"));
}

#[test]
fn callers_decide_a_multi_port_services_main_protocol_port_by_port() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "worker",
            "example/worker:1",
            "{name: BROKER, value: 'amqp://queue'}",
            ""
        ),
        workload(
            "queue",
            "example/queue:1",
            "",
            "[{name: ui, port: 15672}, {name: wire, port: 5672}]"
        ),
    ));
    let queue = service(&t, "queue");
    assert_eq!(queue.port(5672).unwrap().believed, Protocol::Tcp);
    assert_eq!(queue.port(5672).unwrap().reason, "callers use amqp://");
    assert_eq!(queue.protocol, Protocol::Tcp);
    assert!(queue.protocol_reason.contains("the port its callers use"));
}

#[test]
fn a_client_with_no_service_has_no_server_protocol() {
    let t = topology(&format!(
        "{}{}{}",
        workload("idle", "example/idle:1", "", ""),
        workload(
            "poller",
            "example/poller:1",
            "{name: API, value: 'http://api'}",
            ""
        ),
        workload("api", "example/api:1", "", "[{name: http, port: 80}]"),
    ));
    let idle = service(&t, "idle");
    assert_eq!(idle.protocol, Protocol::Unknown);
    assert!(idle.ports.is_empty());
    assert_eq!(service(&t, "poller").protocol, Protocol::Http);
    assert!(service(&t, "poller")
        .protocol_reason
        .starts_with("no Service"));
}

#[test]
fn istio_takes_appprotocol_over_the_name_and_some_ports_as_tcp() {
    let t = topology(&format!(
        "{}{}",
        workload(
            "db",
            "example/db:1",
            "",
            "[{name: http, appProtocol: tcp, port: 5000}]"
        ),
        workload(
            "sqlish",
            "example/sqlish:1",
            "",
            "[{name: sql, port: 3306}]"
        ),
    ));
    let db = service(&t, "db").port(5000).unwrap().clone();
    assert_eq!(
        (db.declared, db.declared_reason.as_str()),
        (Protocol::Tcp, "appProtocol `tcp`")
    );
    let sql = service(&t, "sqlish").port(3306).unwrap().clone();
    assert_eq!(sql.declared, Protocol::Tcp);
    assert!(sql.declared_reason.contains("Istio takes port 3306 as TCP"));
    assert!(sql.server_first, "3306 is MySQL's, which talks first");
    // Names that are not Istio's prefixes declare nothing, whatever they say.
    let t = topology(&workload(
        "pg",
        "example/pg:1",
        "",
        "[{name: postgres, port: 6000}]",
    ));
    let pg = service(&t, "pg").port(6000).unwrap().clone();
    assert_eq!(pg.declared, Protocol::Unknown);
    assert_eq!(pg.believed, Protocol::Tcp);
}
