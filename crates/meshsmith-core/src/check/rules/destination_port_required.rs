//! Rule MS305 `destination-port-required`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS305`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resolve_host, resource_label, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations without `port` that name a Service exposing more
    /// than one port.
    ///
    /// ## Why it matters
    /// Istio cannot tell which port the route is for; it is rejected by `istioctl analyze`
    /// and traffic to the other ports may be routed by the wrong rule.
    ///
    /// ## Example
    /// ```yaml
    /// destination:
    ///   host: orders          # exposes 8080 (http) and 9090 (grpc)
    /// ```
    ///
    /// ## Fix
    /// Add `port: {number: 8080}` to the destination.
    pub struct DestinationPortRequired {
        code: "MS305",
        name: "destination-port-required",
        severity: Error,
        istio: Some("IST0112"),
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
            let Some(host) = dest.at("host").as_str() else {
                continue;
            };
            if !dest.at("port").is_null() {
                continue;
            }
            let HostRef::Service(svc) = resolve_host(&ctx.index, host, &vs.namespace) else {
                continue;
            };
            if svc.ports.len() < 2 {
                continue;
            }
            let ports: Vec<String> = svc.ports.iter().map(|p| p.port.to_string()).collect();
            out.push(DestinationPortRequired::META.finding(
                resource_label(vs),
                Some(vs.origin_at(dest)),
                format!(
                    "{at}: Service {}/{} exposes ports {}; the destination must name one",
                    svc.namespace,
                    svc.name,
                    ports.join(", ")
                ),
                format!("add `port: {{number: {}}}` to the destination", ports[0]),
            ));
        }
    }
}
