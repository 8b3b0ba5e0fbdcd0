//! Rule MS112 `undeclared-port-with-known-protocol`. The doc comment on its struct is the
//! rule's documentation: `meshsmith explain MS112`, the SARIF rule metadata and the generated
//! docs read it.

use crate::check::macros::declare_rule;
use crate::check::port_fix;
use crate::check::Context;
use crate::model::{Finding, Protocol};

declare_rule! {
    /// ## What it does
    /// Reports Service ports that declare no protocol (Istio sniffs them) while the evidence
    /// says what they speak: HTTP, gRPC or a client-first TCP protocol. It gives the exact
    /// declaration, which `meshsmith generate` writes; MS102 (IST0118) reports every
    /// undeclared port, this rule the ones whose fix meshsmith knows. Server-first protocols
    /// are MS111.
    ///
    /// ## Why it matters
    /// Sniffing decides per connection from the client's first bytes. HTTP/1.1 and HTTP/2
    /// clients are detected, but a connection that opens otherwise (TLS from the
    /// application, a slow first write, a protocol header) is proxied as opaque TCP: the
    /// timeouts, retries and HTTP authorization written for the port do not apply to it, and
    /// the request metrics the rollout watches miss it.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: web           # its pods answer an HTTP readiness probe on 8080
    ///     port: 8080
    /// ```
    ///
    /// ## Fix
    /// Declare what the port speaks: `appProtocol: http` (or `grpc`, `tcp`). `meshsmith
    /// generate` writes the change as a merge patch (`service-<name>.patch.yaml`) that the
    /// plan applies in the service's first step.
    pub struct UndeclaredPortWithKnownProtocol {
        code: "MS112",
        name: "undeclared-port-with-known-protocol",
        severity: Info,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        for port in &node.ports {
            let known = port.believed.is_http_family() || port.believed == Protocol::Tcp;
            if port.declared != Protocol::Unknown || !known || port.server_first {
                continue;
            }
            let (resource, origin) = port_fix::place(ctx, node, port);
            let detected = if port.believed.is_http_family() {
                "connections that do not open as HTTP get none of its HTTP policy"
            } else {
                "every connection waits for detection before it is proxied as TCP"
            };
            out.push(UndeclaredPortWithKnownProtocol::META.finding(
                resource,
                Some(origin),
                format!(
                    "port {} speaks {} ({}) but {}: {detected}",
                    port.port,
                    port.believed.as_str(),
                    port.reason,
                    port.declared_reason
                ),
                port_fix::help(node, port, port.believed),
            ));
        }
    }
}
