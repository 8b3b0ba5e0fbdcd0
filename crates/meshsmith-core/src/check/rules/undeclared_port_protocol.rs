//! Rule MS102 `undeclared-port-protocol`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS102`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, ServiceType};

declare_rule! {
    /// ## What it does
    /// Reports Service ports whose protocol Istio cannot tell from the Service: no
    /// `appProtocol`, and a name that does not start with a known protocol (`http`, `http2`,
    /// `https`, `grpc`, `grpc-web`, `tcp`, `tls`, `udp`, `mongo`, `mysql`, `redis`), alone or
    /// followed by `-` (`http-api`).
    ///
    /// ## Why it matters
    /// Istio then sniffs the protocol from the first bytes. Server-first protocols (MySQL,
    /// SMTP...) hang under sniffing, and a port detected as TCP gets none of the HTTP policy
    /// (timeouts, retries, per-path authorization) written for it.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: web
    ///     port: 8080
    /// ```
    ///
    /// ## Fix
    /// Name the port after its protocol (`name: http-web`) or set `appProtocol: http`.
    pub struct UndeclaredPortProtocol {
        code: "MS102",
        name: "undeclared-port-protocol",
        severity: Warning,
        istio: Some("IST0118"),
    }
}

const PREFIXES: [&str; 12] = [
    "http",
    "http2",
    "https",
    "grpc",
    "grpc-web",
    "tcp",
    "tls",
    "udp",
    "mongo",
    "mysql",
    "redis",
    "http_proxy",
];

/// True when Istio reads a protocol from this port name.
pub fn name_declares_protocol(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let prefix = lower.split('-').next().unwrap_or("");
    lower.starts_with("grpc-web") || PREFIXES.contains(&prefix)
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let services = ctx.inventory.services.iter();
    for svc in services.filter(|s| s.service_type != ServiceType::ExternalName) {
        for port in &svc.ports {
            if port.transport.eq_ignore_ascii_case("UDP") || port.app_protocol.is_some() {
                continue;
            }
            if port.name.as_deref().is_some_and(name_declares_protocol) {
                continue;
            }
            let shown = port.name.as_deref().unwrap_or("(unnamed)");
            out.push(UndeclaredPortProtocol::META.finding(
                format!("Service {}/{}", svc.namespace, svc.name),
                Some(port.origin.clone()),
                format!(
                    "port {} `{shown}` declares no protocol; {}",
                    port.port,
                    match port.port {
                        // Istio skips sniffing for these server-first ports.
                        25 | 53 | 3306 | 27017 => "Istio assumes plain TCP from the port number",
                        _ => "Istio will sniff it",
                    }
                ),
                "name the port `<protocol>[-suffix]` (e.g. `http-api`, `grpc`) or set `appProtocol`",
            ));
        }
    }
}
