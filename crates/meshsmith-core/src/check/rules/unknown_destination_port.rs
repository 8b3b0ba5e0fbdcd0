//! Rule MS304 `unknown-destination-port`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS304`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resolve_host, resource_label, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations whose `port.number` is not a port of the Service
    /// they name.
    ///
    /// ## Why it matters
    /// Envoy looks for the cluster `outbound|<port>||<host>`; a port the Service does not
    /// expose has no such cluster, so the route answers 503 for every request.
    ///
    /// ## Example
    /// ```yaml
    /// destination:
    ///   host: orders          # the Service exposes 8080
    ///   port: {number: 80}
    /// ```
    ///
    /// ## Fix
    /// Use a port the Service lists under `spec.ports[].port` (not the container port).
    pub struct UnknownDestinationPort {
        code: "MS304",
        name: "unknown-destination-port",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        for (dest, at) in destinations(vs.spec()) {
            let port_node = dest.path(&["port", "number"]);
            let (Some(host), Some(port)) = (dest.at("host").as_str(), port_node.as_i64()) else {
                continue;
            };
            let HostRef::Service(svc) = resolve_host(&ctx.index, host, &vs.namespace) else {
                continue;
            };
            if svc.ports.iter().any(|p| i64::from(p.port) == port) {
                continue;
            }
            let ports: Vec<String> = svc.ports.iter().map(|p| p.port.to_string()).collect();
            out.push(UnknownDestinationPort::META.finding(
                resource_label(vs),
                Some(vs.origin_at(port_node)),
                format!(
                    "{at}: Service {}/{} has no port {port} (it has {})",
                    svc.namespace,
                    svc.name,
                    if ports.is_empty() {
                        "none".to_string()
                    } else {
                        ports.join(", ")
                    }
                ),
                "use one of the Service's ports",
            ));
        }
    }
}
