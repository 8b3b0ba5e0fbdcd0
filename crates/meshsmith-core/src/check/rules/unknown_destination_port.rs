//! Rule MS304 `unknown-destination-port`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS304`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resource_label};
use crate::check::macros::declare_rule;
use crate::check::visibility::{export_to, Visibility};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations (routes and mirrors) whose `port.number` is not a
    /// port of the Service or ServiceEntry their host names (resolved as MS303 resolves it).
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
    ///
    /// ## istioctl
    /// `virtualservice.DestinationHostAnalyzer` (IST0101 "Referenced host:port not found").
    pub struct UnknownDestinationPort {
        code: "MS304",
        name: "unknown-destination-port",
        severity: Error,
        istio: Some("IST0101"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let visible = Visibility::new(ctx.inventory);
    for vs in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        let exported = export_to(vs.spec());
        for (dest, at) in destinations(vs.spec()) {
            let port_node = dest.path(&["port", "number"]);
            let (Some(host), Some(port)) = (dest.at("host").as_str(), port_node.as_i64()) else {
                continue;
            };
            let Some(target) = visible.lookup(&vs.namespace, &exported, host) else {
                continue;
            };
            let ports = target.ports();
            if ports.contains(&port) {
                continue;
            }
            let listed: Vec<String> = ports.iter().map(i64::to_string).collect();
            out.push(UnknownDestinationPort::META.finding(
                resource_label(vs),
                Some(vs.origin_at(port_node)),
                format!(
                    "{at}: {} has no port {port} (it has {})",
                    target.label(),
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    }
                ),
                "use one of its ports",
            ));
        }
    }
}
