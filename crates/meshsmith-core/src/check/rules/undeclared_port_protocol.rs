//! Rule MS102 `undeclared-port-protocol`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS102`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::rules::namespace_not_injected::ignored_by_istio;
use crate::check::Context;
use crate::model::{Finding, Service, ServiceType};

declare_rule! {
    /// ## What it does
    /// Reports Service ports whose protocol Istio cannot tell from the Service: an
    /// `appProtocol` Istio does not know, or none and a name that does not start with a known
    /// protocol (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`, `udp`, `mongo`,
    /// `mysql`, `redis`), alone or followed by `-` (`http-api`). Ports 25, 53, 3306 and 27017
    /// are left alone (Istio takes them as plain TCP), as are UDP ports, ExternalName
    /// Services, the control plane's own Services (labelled `istio` or `release: istio`),
    /// gateways Istio deploys, and the namespaces Istio never reads (`kube-system`,
    /// `kube-public`, `kube-node-lease`, `local-path-storage`).
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
    ///
    /// ## istioctl
    /// `service.PortNameAnalyzer` (IST0118).
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

/// Ports Istio takes as TCP when nothing declares their protocol: SMTP, DNS, MySQL, MongoDB
/// (server-first protocols that sniffing would stall).
const TCP_BY_PORT: [u16; 4] = [25, 53, 3306, 27017];

/// `gateway.istio.io/managed` values of the gateways Istio deploys itself.
const ISTIO_MANAGED: [&str; 3] = [
    "istio.io-gateway-controller",
    "istio.io-mesh-controller",
    "istio.io-eastwest-controller",
];

/// True when Istio reads a protocol from this port name.
pub fn name_declares_protocol(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let prefix = lower.split('-').next().unwrap_or("");
    lower.starts_with("grpc-web") || PREFIXES.contains(&prefix)
}

/// True when Istio reads a protocol from this `appProtocol`: a name it reads from port
/// names, or one of Kubernetes' own (`kubernetes.io/h2c`, `kubernetes.io/ws`,
/// `kubernetes.io/wss`).
pub fn app_protocol_declares(value: &str) -> bool {
    matches!(
        value,
        "kubernetes.io/h2c" | "kubernetes.io/ws" | "kubernetes.io/wss"
    ) || name_declares_protocol(value)
}

/// Services Istio itself owns: the control plane's (labelled `istio`, or `release: istio`)
/// and the gateways it deploys.
fn owned_by_istio(svc: &Service) -> bool {
    svc.labels.get("istio").is_some()
        || svc.labels.get("release") == Some("istio")
        || svc
            .labels
            .get("gateway.istio.io/managed")
            .is_some_and(|v| ISTIO_MANAGED.contains(&v))
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let services = ctx.inventory.services.iter().filter(|s| {
        s.service_type != ServiceType::ExternalName
            && !ignored_by_istio(&s.namespace)
            && !owned_by_istio(s)
    });
    for svc in services {
        for port in &svc.ports {
            if port.transport.eq_ignore_ascii_case("UDP") {
                continue;
            }
            let message = match (&port.app_protocol, port.name.as_deref()) {
                (Some(app), _) if app_protocol_declares(app) => continue,
                (None, Some(name)) if name_declares_protocol(name) => continue,
                _ if TCP_BY_PORT.contains(&port.port) => continue,
                (Some(app), _) => format!(
                    "port {} has `appProtocol: {app}`, which Istio does not know; Istio will \
                     sniff it",
                    port.port
                ),
                (None, name) => format!(
                    "port {} `{}` declares no protocol; Istio will sniff it",
                    port.port,
                    name.unwrap_or("(unnamed)")
                ),
            };
            out.push(UndeclaredPortProtocol::META.finding(
                format!("Service {}/{}", svc.namespace, svc.name),
                Some(port.origin.clone()),
                message,
                "name the port `<protocol>[-suffix]` (e.g. `http-api`, `grpc`) or set `appProtocol`",
            ));
        }
    }
}
