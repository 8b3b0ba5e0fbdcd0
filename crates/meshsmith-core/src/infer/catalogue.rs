//! The catalogue of servers (`data/servers.json`): databases, caches, brokers, search
//! engines, object stores and telemetry back-ends by image and port, each entry with the
//! documentation that gives its default ports. In: an image and a port; out: what that port
//! speaks, whether the server talks first, and why.

use crate::model::Protocol;
use serde::Deserialize;
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/servers.json");

#[derive(Debug, Deserialize)]
struct File {
    servers: Vec<Server>,
}

/// One server product.
#[derive(Debug, Deserialize)]
pub struct Server {
    pub name: String,
    images: Vec<String>,
    pub source: String,
    /// Every port of the image speaks this (exporters serve metrics over HTTP).
    #[serde(default)]
    any_port: Option<String>,
    /// Whether the server talks first on the ports `any_port` covers.
    #[serde(default)]
    server_first: bool,
    ports: Vec<ServerPort>,
}

/// One of a server's default ports.
#[derive(Debug, Deserialize)]
pub struct ServerPort {
    pub port: u16,
    protocol: String,
    pub what: String,
    /// The server talks first (MySQL, SMTP, NATS): Istio's sniffing waits for the client.
    #[serde(default)]
    pub server_first: bool,
    /// The port alone is evidence, without the image.
    #[serde(default)]
    pub distinctive: bool,
    /// The port callers use when nothing else shows which.
    #[serde(default)]
    pub main: bool,
}

impl ServerPort {
    pub fn protocol(&self) -> Protocol {
        parse_protocol(&self.protocol)
    }
}

fn parse_protocol(text: &str) -> Protocol {
    match text {
        "http" => Protocol::Http,
        "grpc" => Protocol::Grpc,
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => Protocol::Unknown,
    }
}

/// What the catalogue says about one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub protocol: Protocol,
    pub server_first: bool,
    pub main: bool,
    /// E.g. `MySQL image mysql:8 serves the MySQL protocol on 3306 (https://...)`.
    pub reason: String,
}

fn servers() -> &'static [Server] {
    static SERVERS: OnceLock<Vec<Server>> = OnceLock::new();
    SERVERS.get_or_init(|| {
        // The file is part of the build and a unit test parses it, so this cannot fail at
        // run time; an empty catalogue is the safe fallback all the same.
        serde_json::from_str::<File>(DATA)
            .map(|f| f.servers)
            .unwrap_or_default()
    })
}

/// Every server in the catalogue.
#[cfg(test)]
pub fn all() -> &'static [Server] {
    servers()
}

/// What a port of `image` speaks, when the image is a known server and the port one of its
/// own (or the server speaks one protocol on every port). An image may match several names
/// (`rabbitmq-exporter`): a listed port wins over a server's every-port protocol.
pub fn by_image(image: &str, port: u16) -> Option<Match> {
    let path = ImagePath::new(image);
    let matching = || {
        servers()
            .iter()
            .filter(|s| s.images.iter().any(|pattern| path.is(pattern)))
    };
    let listed = matching().find_map(|s| s.ports.iter().find(|p| p.port == port).map(|p| (s, p)));
    if let Some((server, p)) = listed {
        return Some(Match {
            protocol: p.protocol(),
            server_first: p.server_first,
            main: p.main,
            reason: format!(
                "{} image {image} serves {} on {port} ({})",
                server.name, p.what, server.source
            ),
        });
    }
    let (server, protocol) =
        matching().find_map(|s| s.any_port.as_deref().map(|p| (s, parse_protocol(p))))?;
    Some(Match {
        protocol,
        server_first: server.server_first,
        main: false,
        reason: format!(
            "{} image {image} serves {} on every port ({})",
            server.name,
            protocol.as_str(),
            server.source
        ),
    })
}

/// What a port number alone says: only ports no common application uses for anything else.
/// Servers that agree on a port (MySQL and MariaDB on 3306) say the same thing.
pub fn by_port(port: u16) -> Option<Match> {
    let (server, p) = servers().iter().find_map(|s| {
        s.ports
            .iter()
            .find(|p| p.port == port && p.distinctive)
            .map(|p| (s, p))
    })?;
    Some(Match {
        protocol: p.protocol(),
        server_first: p.server_first,
        main: p.main,
        reason: format!(
            "port {port} is {}'s {} ({})",
            server.name, p.what, server.source
        ),
    })
}

/// Whether an image is `pattern`: with a `/`, the end of the image's path; else its last path
/// segment is `pattern`, `pattern-*` or `*-pattern`, whatever the registry, tag or digest
/// (`docker.io/library/redis:7`, `bitnami/redis-cluster`).
pub fn image_matches(image: &str, pattern: &str) -> bool {
    ImagePath::new(image).is(pattern)
}

/// An image reduced to its lower-case path (no tag, no digest), read once for many patterns.
struct ImagePath(String);

impl ImagePath {
    fn new(image: &str) -> Self {
        let path = image.split('@').next().unwrap_or(image);
        let path = match path.rsplit_once(':') {
            Some((before, tag)) if !tag.contains('/') => before,
            _ => path,
        };
        ImagePath(path.to_ascii_lowercase())
    }

    fn is(&self, pattern: &str) -> bool {
        let path = self.0.as_str();
        if pattern.contains('/') {
            return path == pattern
                || path
                    .strip_suffix(pattern)
                    .is_some_and(|rest| rest.ends_with('/'));
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        name == pattern
            || name
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with('-'))
            || name
                .strip_suffix(pattern)
                .is_some_and(|rest| rest.ends_with('-'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_every_entry_has_a_source() {
        let file: File = serde_json::from_str(DATA).expect("servers.json parses");
        assert!(file.servers.len() >= 30);
        for s in &file.servers {
            assert!(s.source.starts_with("https://"), "{} has no source", s.name);
            assert!(!s.images.is_empty(), "{} matches no image", s.name);
            assert!(
                !s.ports.is_empty() || s.any_port.is_some(),
                "{} has no port",
                s.name
            );
            for p in &s.ports {
                assert_ne!(p.protocol(), Protocol::Unknown, "{} {}", s.name, p.port);
            }
            let mains = s.ports.iter().filter(|p| p.main).count();
            assert!(mains <= 1, "{} has {mains} main ports", s.name);
        }
    }

    #[test]
    fn distinctive_ports_agree_across_servers() {
        let mut seen: std::collections::BTreeMap<u16, Protocol> = Default::default();
        for s in all() {
            for p in s.ports.iter().filter(|p| p.distinctive) {
                let before = seen.insert(p.port, p.protocol());
                assert!(
                    before.is_none_or(|b| b == p.protocol()),
                    "port {} is distinctive with two protocols",
                    p.port
                );
            }
        }
    }

    #[test]
    fn images_match_by_name_or_path() {
        assert!(image_matches(
            "mcr.microsoft.com/mssql/server:2022-latest",
            "mssql/server"
        ));
        assert!(!image_matches("example.com/app/server:1", "mssql/server"));
        assert!(image_matches("docker.io/library/redis:7", "redis"));
        assert!(image_matches("bitnami/redis-cluster@sha256:abc", "redis"));
        assert!(image_matches("localhost:5000/mysql", "mysql"));
        assert!(!image_matches("myredisapp:1", "redis"));
    }

    #[test]
    fn a_management_port_speaks_http_and_the_wire_port_tcp() {
        let amqp = by_image("rabbitmq:3-management", 5672).unwrap();
        assert_eq!(amqp.protocol, Protocol::Tcp);
        assert!(amqp.main);
        let ui = by_image("rabbitmq:3-management", 15672).unwrap();
        assert_eq!(ui.protocol, Protocol::Http);
        assert!(by_image("rabbitmq:3-management", 8080).is_none());
        let exporter = by_image("kbudde/rabbitmq-exporter", 9090).unwrap();
        assert_eq!(exporter.protocol, Protocol::Http);
        assert!(by_image("mysql:8", 3306).unwrap().server_first);
        assert!(by_image("mysql:8", 3307).unwrap().server_first);
        assert_eq!(by_image("redis:7", 7000).unwrap().protocol, Protocol::Tcp);
        assert_eq!(
            by_image("mcr.microsoft.com/mssql/server:2022-latest", 1433)
                .unwrap()
                .protocol,
            Protocol::Tcp
        );
    }

    #[test]
    fn common_application_ports_say_nothing_alone() {
        for port in [80, 3000, 5000, 8080, 8086, 9000, 9090] {
            assert!(by_port(port).is_none(), "{port}");
        }
        assert_eq!(by_port(5432).unwrap().protocol, Protocol::Tcp);
        assert_eq!(by_port(4317).unwrap().protocol, Protocol::Grpc);
    }
}
