//! Rule MS111 `server-first-port-sniffed`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS111`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::macros::declare_rule;
use crate::check::port_fix;
use crate::check::Context;
use crate::model::{Finding, Protocol};

declare_rule! {
    /// ## What it does
    /// Reports Service ports that serve a protocol whose server talks first (MySQL and
    /// MariaDB, SMTP, NATS, FTP, IMAP, POP3; known from the server's image and port or the
    /// callers' URLs) and that declare no protocol, so Istio sniffs them. Ports Istio takes
    /// as TCP without a declaration (25, 53, 3306, 27017) are left alone.
    ///
    /// ## Why it matters
    /// Protocol sniffing waits for the client's first bytes to tell HTTP from TCP, while the
    /// client waits for the server's greeting: every connection stalls until the detection
    /// times out (or forever when the timeout is off), then goes through as TCP. Clients see
    /// connect timeouts that vanish without the sidecar.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: db            # runs mysql:8, listening on 3307
    ///     port: 3307
    /// ```
    ///
    /// ## Fix
    /// Declare the port as TCP: `appProtocol: tcp` (or a `tcp-` name). `meshsmith generate`
    /// writes the change as a merge patch (`service-<name>.patch.yaml`) that the plan applies
    /// in the service's first step.
    pub struct ServerFirstPortSniffed {
        code: "MS111",
        name: "server-first-port-sniffed",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        for port in &node.ports {
            if !(port.server_first && port.declared == Protocol::Unknown) {
                continue;
            }
            let (resource, origin) = port_fix::place(ctx, node, port);
            out.push(ServerFirstPortSniffed::META.finding(
                resource,
                Some(origin),
                format!(
                    "port {} serves a protocol whose server talks first ({}) and {}: every \
                     connection stalls until sniffing gives up",
                    port.port, port.reason, port.declared_reason
                ),
                port_fix::help(node, port, Protocol::Tcp),
            ));
        }
    }
}
