//! Per port: what Istio will do (declared by `appProtocol` or the port-name prefix) and what
//! the evidence says the port speaks (gRPC probes, datastore images, well-known ports, the
//! schemes callers use, HTTP probes).

use crate::model::*;

/// What `appProtocol` or an Istio port-name prefix declares.
pub fn declared(port: &ServicePort) -> (Protocol, &'static str) {
    if port.transport.eq_ignore_ascii_case("UDP") {
        return (Protocol::Udp, "UDP port");
    }
    if let Some(p) = port.app_protocol.as_deref().and_then(from_name) {
        return (p, "appProtocol");
    }
    if let Some(p) = port
        .name
        .as_deref()
        .and_then(|n| from_name(n.split('-').next().unwrap_or(n)))
    {
        return (p, "port name prefix");
    }
    (
        Protocol::Unknown,
        "no appProtocol or recognised port-name prefix (Istio will sniff)",
    )
}

fn from_name(name: &str) -> Option<Protocol> {
    Some(match name.to_ascii_lowercase().as_str() {
        "grpc" | "grpc-web" => Protocol::Grpc,
        "http" => Protocol::Http,
        "http2" | "h2c" | "kubernetes.io/h2c" => Protocol::Http2,
        "https" | "tls" => Protocol::Tls,
        "tcp" | "mongo" | "mongodb" | "mysql" | "redis" | "postgres" | "postgresql" | "amqp"
        | "kafka" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    })
}

/// Datastore and broker images speak their own TCP protocols.
const TCP_IMAGES: [&str; 16] = [
    "redis",
    "postgres",
    "mysql",
    "mariadb",
    "mongo",
    "memcached",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "cassandra",
    "nats",
    "etcd",
    "elasticsearch-transport",
    "couchbase",
    "cockroach",
    "documentdb",
];

/// Ports that belong to a TCP datastore or broker whatever the image.
const TCP_PORTS: [u16; 14] = [
    6379, 5432, 3306, 27017, 27018, 9042, 11211, 5672, 9092, 2181, 4222, 2379, 26257, 10260,
];

/// Whether `port` is a well-known datastore or broker port.
pub fn is_datastore_port(port: u16) -> bool {
    TCP_PORTS.contains(&port)
}

pub fn image_is_tcp_datastore(image: &str) -> Option<&'static str> {
    TCP_IMAGES.iter().copied().find(|t| image_is(image, t))
}

/// Whether an image is `kind` by its name: `kind`, `kind-*` or `*-kind`, whatever its
/// registry, path, tag or digest (`docker.io/library/redis:7`, `bitnami/redis-cluster`).
pub(super) fn image_is(image: &str, kind: &str) -> bool {
    let name = image.rsplit('/').next().unwrap_or(image);
    let name = name
        .split([':', '@'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    name == kind || name.starts_with(&format!("{kind}-")) || name.ends_with(&format!("-{kind}"))
}

/// What the port speaks, and why. `callers` are the schemes callers used for this port.
pub fn believed(
    port: &ServicePort,
    target: Option<u16>,
    workloads: &[&Workload],
    caller_schemes: &[&str],
) -> (Protocol, String) {
    let (declared, _) = declared(port);
    let target = target.unwrap_or(port.port);
    let containers = || {
        workloads
            .iter()
            .flat_map(|w| w.containers.iter())
            .filter(|c| !c.init)
    };
    let serving =
        || containers().filter(|c| c.ports.is_empty() || c.ports.iter().any(|p| p.port == target));
    if serving().any(|c| {
        c.probes
            .iter()
            .any(|p| matches!(p, Probe::Grpc { port } if *port == target))
    }) {
        return (
            Protocol::Grpc,
            format!("gRPC health probe on port {target}"),
        );
    }
    if declared == Protocol::Udp {
        return (Protocol::Udp, "UDP port".into());
    }
    if let Some((image, kind)) =
        serving().find_map(|c| image_is_tcp_datastore(&c.image).map(|k| (c.image.clone(), k)))
    {
        // A datastore image may also serve an HTTP admin port; its wire port is TCP whatever
        // the port is called.
        let wire_port = TCP_PORTS.contains(&port.port) || TCP_PORTS.contains(&target);
        let http_admin = declared.is_http_family() || port_name_says_http(port);
        if wire_port || !http_admin {
            return (Protocol::Tcp, format!("{kind} image {image}"));
        }
    }
    if declared != Protocol::Unknown {
        return (declared, format!("declared as {}", declared.as_str()));
    }
    if TCP_PORTS.contains(&port.port) || TCP_PORTS.contains(&target) {
        return (
            Protocol::Tcp,
            format!("well-known datastore port {}", port.port),
        );
    }
    for scheme in caller_schemes {
        if let Some(p) = scheme_protocol(scheme) {
            return (p, format!("callers use {scheme}://"));
        }
    }
    let http_probe = serving().any(|c| {
        c.probes.iter().any(|p| match p {
            Probe::Http {
                port: PortRef::Number(n),
            } => *n == target,
            Probe::Http {
                port: PortRef::Name(name),
            } => c
                .ports
                .iter()
                .any(|cp| cp.name.as_deref() == Some(name) && cp.port == target),
            _ => false,
        })
    });
    if http_probe {
        return (Protocol::Http, format!("HTTP probe on port {target}"));
    }
    (
        Protocol::Http,
        "no evidence either way; most unnamed ports serve HTTP".into(),
    )
}

fn port_name_says_http(port: &ServicePort) -> bool {
    port.name
        .as_deref()
        .is_some_and(|n| n.contains("http") || n.contains("admin") || n.contains("management"))
}

/// The protocol a URL scheme implies. A scheme that is not HTTP's or gRPC's names a protocol
/// of its own (`redis://`, `amqp://`, `proxy://`), which the mesh can only treat as TCP.
pub fn scheme_protocol(scheme: &str) -> Option<Protocol> {
    Some(match scheme {
        "http" | "https" | "ws" | "wss" => Protocol::Http,
        "grpc" | "grpcs" | "dns" | "xds" => Protocol::Grpc,
        "" => return None,
        _ => Protocol::Tcp,
    })
}

/// The container port a Service port targets (a named target resolved on the workloads).
pub fn target_port(port: &ServicePort, workloads: &[&Workload]) -> Option<u16> {
    match &port.target_port {
        None => Some(port.port),
        Some(PortRef::Number(n)) => Some(*n),
        Some(PortRef::Name(name)) => workloads
            .iter()
            .flat_map(|w| w.containers.iter())
            .flat_map(|c| c.ports.iter())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.port),
    }
}
