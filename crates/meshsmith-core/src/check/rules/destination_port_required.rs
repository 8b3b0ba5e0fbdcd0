//! Rule MS305 `destination-port-required`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS305`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resource_label};
use crate::check::macros::declare_rule;
use crate::check::visibility::{export_to, Visibility};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations (routes and mirrors) without `port` whose host
    /// names a Service or ServiceEntry with more than one port.
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
    ///
    /// ## istioctl
    /// `virtualservice.DestinationHostAnalyzer` (IST0112).
    pub struct DestinationPortRequired {
        code: "MS305",
        name: "destination-port-required",
        severity: Error,
        istio: Some("IST0112"),
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
            let Some(host) = dest.at("host").as_str() else {
                continue;
            };
            if !dest.at("port").is_null() {
                continue;
            }
            let Some(target) = visible.lookup(&vs.namespace, &exported, host) else {
                continue;
            };
            let ports: Vec<String> = target.ports().iter().map(i64::to_string).collect();
            if ports.len() < 2 {
                continue;
            }
            out.push(DestinationPortRequired::META.finding(
                resource_label(vs),
                Some(vs.origin_at(dest)),
                format!(
                    "{at}: {} exposes ports {}; the destination must name one",
                    target.label(),
                    ports.join(", ")
                ),
                format!("add `port: {{number: {}}}` to the destination", ports[0]),
            ));
        }
    }
}
