//! Rule MS109 `http-port-declared-tcp`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS109`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::macros::declare_rule;
use crate::check::port_fix;
use crate::check::Context;
use crate::model::{Finding, Protocol};

declare_rule! {
    /// ## What it does
    /// Reports Service ports that speak HTTP or gRPC by the evidence (callers' URLs and
    /// client settings, gRPC or HTTP probes, the server's image) while their declaration
    /// makes Istio take them for opaque TCP: a `tcp-`, `tls-`, `https-`, `mongo-`, `mysql-`
    /// or `redis-` name, such an `appProtocol`, or no declaration on a port Istio takes as
    /// TCP (25, 53, 3306, 27017).
    ///
    /// ## Why it matters
    /// Istio proxies the port as bytes. The HTTP policy written for it does nothing, silently:
    /// no timeouts, no retries, no outlier detection on 5xx, no HTTP authorization (an ALLOW
    /// rule with paths or methods is dropped and admits less), no request metrics.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: tcp-service   # callers use http://orders:8080
    ///     port: 8080
    /// ```
    ///
    /// ## Fix
    /// Declare what the port speaks: `appProtocol: http` (or `grpc`). `meshsmith generate`
    /// writes the change as a merge patch (`service-<name>.patch.yaml`) that the plan applies
    /// in the service's first step; until it is applied the service gets no HTTP route.
    pub struct HttpPortDeclaredTcp {
        code: "MS109",
        name: "http-port-declared-tcp",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        for port in &node.ports {
            let taken_for_tcp = matches!(port.declared, Protocol::Tcp | Protocol::Tls);
            if !(port.believed.is_http_family() && taken_for_tcp) {
                continue;
            }
            let (resource, origin) = port_fix::place(ctx, node, port);
            out.push(HttpPortDeclaredTcp::META.finding(
                resource,
                Some(origin),
                format!(
                    "port {} speaks {} ({}) but Istio takes it for {} ({}): it proxies opaque \
                     bytes, so no timeouts, retries, HTTP authorization or request metrics apply",
                    port.port,
                    port.believed.as_str(),
                    port.reason,
                    port.declared.as_str(),
                    port.declared_reason
                ),
                port_fix::help(node, port, port.believed),
            ));
        }
    }
}
