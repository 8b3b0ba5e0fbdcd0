//! The rules istiod's validating webhook adds to the CRD schemas, for the resources whose
//! shape is right (see `istio_types`): unique subset and port names, retry conditions
//! Envoy knows, hosts in the form each kind needs, certificates for TLS servers.
//!
//! ```text
//!  IstioResource ──webhook_rules──▶ (node, message) for every rule it breaks
//! ```

use crate::model::{IstioResource, Node};
use crate::policy::{is_http_status, RETRY_ON};
use std::collections::BTreeSet;

/// Calls `report` with the node at fault and a message for every webhook rule `res` breaks.
pub fn webhook_rules<'r>(res: &'r IstioResource, report: &mut impl FnMut(&'r Node, String)) {
    let spec = res.spec();
    match res.kind.as_str() {
        "PeerAuthentication" => peer_authentication(spec, report),
        "AuthorizationPolicy" => authorization_policy(spec, report),
        "VirtualService" => virtual_service(spec, report),
        "DestinationRule" => {
            unique(spec.at("subsets"), "name", "subset name", report);
        }
        "ServiceEntry" => service_entry(spec, report),
        "Sidecar" => sidecar(spec, report),
        "Gateway" => gateway(spec, report),
        _ => {}
    }
}

fn peer_authentication<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    if !spec.at("portLevelMtls").as_map().is_empty()
        && spec.path(&["selector", "matchLabels"]).as_map().is_empty()
    {
        report(
            spec.at("portLevelMtls"),
            "portLevelMtls requires a selector".into(),
        );
    }
}

fn authorization_policy<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    let action = spec.at("action").as_str().unwrap_or("ALLOW");
    if matches!(action, "DENY" | "CUSTOM") && spec.at("rules").as_seq().is_empty() {
        report(
            spec.at("action"),
            format!("a {action} policy needs `rules`"),
        );
    }
}

fn virtual_service<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    for kind in ["http", "tcp", "tls"] {
        for route in spec.at(kind).as_seq() {
            let destinations = route.at("route").as_seq();
            let total: i64 = destinations
                .iter()
                .filter_map(|d| d.at("weight").as_i64())
                .sum();
            // Weights are relative; only a split where every weight is 0 sends nothing.
            if destinations.len() > 1 && total == 0 {
                report(
                    route.at("route"),
                    "the destination weights add up to 0: give at least one a weight".into(),
                );
            }
        }
    }
    for route in spec.at("http").as_seq() {
        let retry_on = route.path(&["retries", "retryOn"]);
        let Some(text) = retry_on.as_str() else {
            continue;
        };
        // Split as istiod does: a space after a comma is part of the next condition.
        for condition in text.split(',').filter(|_| !text.is_empty()) {
            if !RETRY_ON.contains(&condition) && !is_http_status(condition) {
                report(
                    retry_on,
                    format!(
                        "`{condition}` is not a retryOn condition (one of {}, or an HTTP status code)",
                        RETRY_ON.join(", ")
                    ),
                );
            }
        }
    }
}

/// Reports the second and later items of `list` whose `key` repeats an earlier one.
fn unique<'r>(list: &'r Node, key: &str, what: &str, report: &mut impl FnMut(&'r Node, String)) {
    let mut seen = BTreeSet::new();
    for item in list.as_seq() {
        let value = item.at(key);
        if let Some(text) = value.as_str() {
            if !seen.insert(text) {
                report(value, format!("{what} `{text}` is used twice"));
            }
        }
    }
}

/// The protocols istiod recognises on a port (`protocol.Parse`, any case).
fn known_protocol(protocol: &str) -> bool {
    const KNOWN: &[&str] = &[
        "tcp",
        "udp",
        "grpc",
        "grpc-web",
        "http",
        "http_proxy",
        "http2",
        "https",
        "tls",
        "mongo",
        "redis",
        "mysql",
    ];
    KNOWN.contains(&protocol.to_ascii_lowercase().as_str())
}

/// A DNS-1123 label: lower-case letters, digits and inner `-`, at most 63 characters.
fn dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn service_entry<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    let hosts = spec.at("hosts");
    if matches!(hosts.value, crate::model::Value::Seq(_)) && hosts.as_seq().is_empty() {
        report(hosts, "a ServiceEntry needs at least one host".into());
    }
    for port in spec.at("ports").as_seq() {
        if let Some(name) = port.at("name").as_str() {
            if !dns_label(name) {
                report(
                    port.at("name"),
                    format!(
                        "port name `{name}` is not a DNS label (lower-case letters, digits, `-`)"
                    ),
                );
            }
        }
        protocol_rule(port.at("protocol"), report);
    }
    unique(spec.at("ports"), "name", "port name", report);
    unique(spec.at("ports"), "number", "port number", report);
}

fn protocol_rule<'r>(protocol: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    if let Some(p) = protocol.as_str().filter(|p| !p.is_empty()) {
        if !known_protocol(p) {
            report(
                protocol,
                format!("`{p}` is not a protocol Istio knows (HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, REDIS, MYSQL)"),
            );
        }
    }
}

fn sidecar<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    for egress in spec.at("egress").as_seq() {
        let hosts = egress.at("hosts");
        if matches!(hosts.value, crate::model::Value::Seq(_)) && hosts.as_seq().is_empty() {
            report(hosts, "an egress listener needs at least one host".into());
        }
        for host in hosts.as_seq() {
            if let Some(problem) = host.as_str().and_then(egress_host_problem) {
                report(host, problem);
            }
        }
    }
}

/// What is wrong with a Sidecar egress host (`namespace/dnsName`), if anything.
fn egress_host_problem(host: &str) -> Option<String> {
    let Some((namespace, name)) = host.split_once('/') else {
        return Some(format!(
            "`{host}` is not of the form namespace/dnsName (e.g. `./*`, `istio-system/*`)"
        ));
    };
    let namespace = namespace.strip_prefix('~').unwrap_or(namespace);
    if !matches!(namespace, "" | "*" | ".") && !dns_label(namespace) {
        return Some(format!(
            "`{host}`: `{namespace}` is not `*`, `.` or a namespace"
        ));
    }
    if !wildcard_fqdn(&name.to_ascii_lowercase()) {
        return Some(format!("`{host}`: `{name}` is not `*` or a fully qualified DNS name (optionally `*.`-prefixed)"));
    }
    None
}

/// `*`, or a name with a dot whose first label may be `*` and whose labels are DNS labels.
fn wildcard_fqdn(name: &str) -> bool {
    if name == "*" {
        return true;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let Some((first, rest)) = name.split_once('.') else {
        return false;
    };
    name.len() <= 255 && (first == "*" || dns_label(first)) && rest.split('.').all(dns_label)
}

fn gateway<'r>(spec: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    for server in spec.at("servers").as_seq() {
        let hosts = server.at("hosts");
        if matches!(hosts.value, crate::model::Value::Seq(_)) && hosts.as_seq().is_empty() {
            report(hosts, "a server needs at least one host".into());
        }
        let protocol = server.path(&["port", "protocol"]);
        protocol_rule(protocol, report);
        let tls = server.at("tls");
        let secure = protocol
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("tls"));
        if secure && tls.is_null() {
            report(
                protocol,
                "an HTTPS or TLS server needs `tls` settings".into(),
            );
        }
        server_certificates(tls, report);
    }
}

/// SIMPLE and MUTUAL servers need a certificate: a `credentialName` (a Secret) or the
/// certificate and key files; MUTUAL ones with files also need the client CA bundle.
fn server_certificates<'r>(tls: &'r Node, report: &mut impl FnMut(&'r Node, String)) {
    let mode = tls.at("mode");
    let Some(name) = mode.as_str() else {
        return;
    };
    if !matches!(name, "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL") {
        return;
    }
    let set = |node: &Node, key: &str| node.at(key).as_str().is_some_and(|t| !t.is_empty());
    if set(tls, "credentialName") || !tls.at("credentialNames").as_seq().is_empty() {
        return;
    }
    let pairs: Vec<&Node> = match tls.at("tlsCertificates").as_seq() {
        [] => vec![tls],
        certs => certs.iter().collect(),
    };
    if pairs
        .iter()
        .any(|c| !set(c, "serverCertificate") || !set(c, "privateKey"))
    {
        report(
            mode,
            format!(
                "a {name} server needs `credentialName`, or `serverCertificate` and `privateKey`"
            ),
        );
    }
    if name != "SIMPLE" && !set(tls, "caCertificates") {
        report(
            mode,
            format!("a {name} server without `credentialName` needs `caCertificates`"),
        );
    }
}
