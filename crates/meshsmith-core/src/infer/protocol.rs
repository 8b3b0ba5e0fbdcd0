//! Per port, two facts kept apart. Declared: what Istio will do, by its own selection
//! (`appProtocol`, else the port-name prefix `name` or `name-suffix`, else sniffing, except
//! the ports Istio takes as TCP). Believed: what the evidence says the port speaks, strongest
//! first: a gRPC health probe, what callers use on it (URL schemes, client settings,
//! traffic), the catalogue of servers by image, an HTTP probe, a protocol word in a port name
//! that is not an Istio prefix, a port that alone identifies a server, and last the
//! declaration itself. No evidence is `unknown`, never a guess.

use super::catalogue;
use crate::model::*;

/// The prefixes Istio reads from a port name or `appProtocol`, and what each makes the port.
fn istio_prefix(name: &str) -> Option<Protocol> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("grpc-web") {
        return Some(Protocol::Grpc);
    }
    Some(match lower.split('-').next().unwrap_or("") {
        "grpc" => Protocol::Grpc,
        "http" | "http_proxy" => Protocol::Http,
        "http2" => Protocol::Http2,
        "https" | "tls" => Protocol::Tls,
        // Istio's MySQL, MongoDB and Redis filters are off unless pilot is told otherwise:
        // these ports are proxied as plain TCP.
        "tcp" | "mongo" | "mysql" | "redis" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    })
}

/// Ports Istio takes as TCP when nothing declares their protocol (SMTP, DNS, MySQL, MongoDB).
pub const TCP_WHEN_UNDECLARED: [u16; 4] = [25, 53, 3306, 27017];

/// What Istio will do with the port, and why.
pub fn declared(port: &ServicePort) -> (Protocol, String) {
    if port.transport.eq_ignore_ascii_case("UDP") {
        return (Protocol::Udp, "UDP port (not proxied)".into());
    }
    if let Some(app) = port.app_protocol.as_deref() {
        let known = match app {
            "kubernetes.io/h2c" => Some(Protocol::Http2),
            "kubernetes.io/ws" => Some(Protocol::Http),
            "kubernetes.io/wss" => Some(Protocol::Tls),
            other => istio_prefix(other),
        };
        if let Some(p) = known {
            return (p, format!("appProtocol `{app}`"));
        }
    } else if let Some(name) = port.name.as_deref() {
        if let Some(p) = istio_prefix(name) {
            return (p, format!("port name `{name}`"));
        }
    }
    let what = match (&port.app_protocol, &port.name) {
        (Some(app), _) => format!("appProtocol `{app}` is not one Istio knows"),
        (None, Some(name)) => format!("port name `{name}` has no Istio protocol prefix"),
        (None, None) => "unnamed port".to_string(),
    };
    if TCP_WHEN_UNDECLARED.contains(&port.port) {
        return (
            Protocol::Tcp,
            format!("{what}; Istio takes port {} as TCP", port.port),
        );
    }
    (Protocol::Unknown, format!("{what}; Istio will sniff it"))
}

/// What a port speaks by the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Belief {
    pub protocol: Protocol,
    pub reason: String,
    /// The server talks first (MySQL, SMTP, NATS): sniffing stalls it.
    pub server_first: bool,
    /// The catalogue names this port its server's main one.
    pub main: bool,
}

impl Belief {
    fn new(protocol: Protocol, reason: impl Into<String>) -> Self {
        Belief {
            protocol,
            reason: reason.into(),
            server_first: false,
            main: false,
        }
    }

    fn from_catalogue(m: catalogue::Match) -> Self {
        Belief {
            protocol: m.protocol,
            reason: m.reason,
            server_first: m.server_first,
            main: m.main,
        }
    }
}

/// What callers show about one port: the protocol and how it shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallerHint {
    /// Seen in traffic rather than read from configuration.
    pub observed: bool,
    pub protocol: Protocol,
    pub server_first: bool,
    /// E.g. `callers use http://`.
    pub how: String,
}

/// What the port speaks, and why. `hints` are what callers show about this port.
pub fn believed(
    port: &ServicePort,
    target: Option<u16>,
    workloads: &[&Workload],
    hints: &[CallerHint],
) -> Belief {
    let (declared, declared_why) = declared(port);
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
        return Belief::new(
            Protocol::Grpc,
            format!("gRPC health probe on port {target}"),
        );
    }
    if declared == Protocol::Udp {
        return Belief::new(Protocol::Udp, "UDP port");
    }
    if let Some(h) = strongest_hint(hints) {
        return Belief {
            server_first: h.server_first,
            ..Belief::new(h.protocol, h.how.clone())
        };
    }
    let by_image = serving().find_map(|c| {
        catalogue::by_image(&c.image, target).or_else(|| catalogue::by_image(&c.image, port.port))
    });
    if let Some(m) = by_image {
        return Belief::from_catalogue(m);
    }
    if http_probe(serving(), target) {
        return Belief::new(Protocol::Http, format!("HTTP probe on port {target}"));
    }
    let container_name = containers()
        .flat_map(|c| c.ports.iter())
        .find(|p| p.port == target)
        .and_then(|p| p.name.as_deref());
    // A Service port name that is Istio's prefix is the declaration, not evidence beside it.
    let service_name = port
        .name
        .as_deref()
        .filter(|n| port.app_protocol.is_some() || istio_prefix(n).is_none());
    let names = [service_name, container_name];
    if let Some(b) = names.into_iter().flatten().find_map(name_word) {
        return b;
    }
    if let Some(m) = catalogue::by_port(target).or_else(|| catalogue::by_port(port.port)) {
        return Belief::from_catalogue(m);
    }
    if declared != Protocol::Unknown {
        return Belief::new(
            declared,
            format!(
                "declared {} ({declared_why}); nothing contradicts it",
                declared.as_str()
            ),
        );
    }
    Belief::new(
        Protocol::Unknown,
        "no evidence: no probe, caller, known image, protocol word in its name or well-known port",
    )
}

/// The hint to believe when callers disagree: traffic first, then gRPC over HTTP over TCP
/// (a gRPC client's address often carries no scheme at all).
fn strongest_hint(hints: &[CallerHint]) -> Option<&CallerHint> {
    let rank = |h: &CallerHint| {
        let p = match h.protocol {
            Protocol::Grpc => 0,
            Protocol::Http | Protocol::Http2 => 1,
            _ => 2,
        };
        (!h.observed, p)
    };
    hints
        .iter()
        .filter(|h| h.protocol != Protocol::Unknown)
        .min_by_key(|h| rank(h))
}

fn http_probe<'a>(mut serving: impl Iterator<Item = &'a Container>, target: u16) -> bool {
    serving.any(|c| {
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
    })
}

/// Protocol words that say what a port speaks wherever they stand in its name
/// (`jaeger-grpc`, `rabbitmq-amqp`, `metrics-http`), and whether the server talks first.
/// `rpc`, `api`, `web` and `service` say nothing.
fn protocol_word(word: &str) -> Option<(Protocol, bool)> {
    Some(match word {
        "grpc" => (Protocol::Grpc, false),
        "http" | "http1" | "rest" => (Protocol::Http, false),
        "http2" | "h2c" => (Protocol::Http2, false),
        "tcp" | "amqp" | "amqps" | "mqtt" | "postgres" | "postgresql" | "pg" | "redis"
        | "mongo" | "mongodb" | "kafka" | "memcache" | "memcached" | "cql" | "zookeeper"
        | "thrift" | "tchannel" | "ldap" => (Protocol::Tcp, false),
        "mysql" | "mariadb" | "smtp" | "nats" | "ftp" | "imap" | "pop3" => (Protocol::Tcp, true),
        _ => return None,
    })
}

fn name_word(name: &str) -> Option<Belief> {
    let lower = name.to_ascii_lowercase();
    let (protocol, server_first, word) = lower
        .split(['-', '_', '.'])
        .find_map(|w| protocol_word(w).map(|(p, sf)| (p, sf, w.to_string())))?;
    Some(Belief {
        server_first,
        ..Belief::new(protocol, format!("port name `{name}` says {word}"))
    })
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

/// Whether a scheme names a protocol whose server talks first.
pub fn scheme_server_first(scheme: &str) -> bool {
    protocol_word(scheme).is_some_and(|(_, sf)| sf)
}

/// The port a scheme's protocol listens on by default, when a URL names none.
pub fn scheme_default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "amqp" => 5672,
        "amqps" => 5671,
        "redis" => 6379,
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "mongodb" => 27017,
        "nats" => 4222,
        "kafka" => 9092,
        "mqtt" => 1883,
        "memcached" => 11211,
        "sqlserver" => 1433,
        _ => return None,
    })
}

/// A client setting that names its protocol without a URL: a variable such as
/// `CATALOG_GRPC_ADDR`. Read from an evidence detail `env NAME=value` (or the ConfigMap
/// forms of it).
pub fn setting_protocol(detail: &str) -> Option<(Protocol, String)> {
    let assignment = detail.split_whitespace().find(|w| w.contains('='))?;
    let key = assignment.split('=').next()?;
    let grpc = key
        .split(['_', '-', '.'])
        .any(|w| w.eq_ignore_ascii_case("grpc"));
    grpc.then(|| {
        (
            Protocol::Grpc,
            format!("a caller's setting {key} names gRPC"),
        )
    })
}

/// Whether an image is one of the TCP datastores and brokers, by name (for roles).
pub fn image_is_tcp_datastore(image: &str) -> Option<&'static str> {
    TCP_IMAGES.iter().copied().find(|t| image_is(image, t))
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

/// Whether an image is `kind` by its name: `kind`, `kind-*` or `*-kind`, whatever its
/// registry, path, tag or digest (`docker.io/library/redis:7`, `bitnami/redis-cluster`).
pub(super) fn image_is(image: &str, kind: &str) -> bool {
    catalogue::image_matches(image, kind)
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
