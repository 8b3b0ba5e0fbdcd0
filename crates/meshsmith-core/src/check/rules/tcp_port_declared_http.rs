//! Rule MS110 `tcp-port-declared-http`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS110`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::macros::declare_rule;
use crate::check::port_fix;
use crate::check::Context;
use crate::model::{Finding, Protocol};

declare_rule! {
    /// ## What it does
    /// Reports Service ports that serve a TCP protocol of their own by the evidence (a
    /// database, cache or broker image on its port, callers' `redis://`, `amqp://` or
    /// `postgres://` URLs) while their name or `appProtocol` declares HTTP, HTTP/2 or gRPC.
    ///
    /// ## Why it matters
    /// Istio parses the bytes as HTTP. Connections through the sidecar fail (Envoy answers
    /// 400 or resets them), and HTTP routes, retries and authorization rules written for the
    /// port cannot apply to a protocol that is not HTTP.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: http-cache    # runs redis:7
    ///     port: 6379
    /// ```
    ///
    /// ## Fix
    /// Declare the port as TCP: `appProtocol: tcp`. `meshsmith generate` writes the change as
    /// a merge patch (`service-<name>.patch.yaml`) that the plan applies in the service's
    /// first step; the generated configuration gives the port TCP settings only.
    pub struct TcpPortDeclaredHttp {
        code: "MS110",
        name: "tcp-port-declared-http",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        for port in &node.ports {
            if !(port.believed == Protocol::Tcp && port.declared.is_http_family()) {
                continue;
            }
            let (resource, origin) = port_fix::place(ctx, node, port);
            out.push(TcpPortDeclaredHttp::META.finding(
                resource,
                Some(origin),
                format!(
                    "port {} serves TCP ({}) but is declared {} ({}): Istio parses its bytes \
                     as HTTP and connections through the sidecar fail",
                    port.port,
                    port.reason,
                    port.declared.as_str(),
                    port.declared_reason
                ),
                port_fix::help(node, port, Protocol::Tcp),
            ));
        }
    }
}
