//! Rule MS303 `unknown-destination-host`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS303`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resolve_host, resource_label, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations whose host is neither a Service in the inventory
    /// (short names are relative to the VirtualService's namespace) nor declared by a
    /// ServiceEntry.
    ///
    /// ## Why it matters
    /// Envoy has no cluster for such a host: every request on that route fails with
    /// 503 `NR`/`UH`, while the route looks configured.
    ///
    /// ## Example
    /// ```yaml
    /// route:
    ///   - destination:
    ///       host: payment        # the Service is called `payments`
    /// ```
    ///
    /// ## Fix
    /// Use the Service's name (`payments`, or `payments.shop.svc.cluster.local` across
    /// namespaces), or add a ServiceEntry for an external host.
    pub struct UnknownDestinationHost {
        code: "MS303",
        name: "unknown-destination-host",
        severity: Error,
        istio: Some("IST0101"),
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
            let missing = match resolve_host(&ctx.index, host, &vs.namespace) {
                HostRef::MissingService(id) => format!("no Service {}/{}", id.namespace, id.name),
                HostRef::Unknown => "no Service or ServiceEntry declares it".to_string(),
                _ => continue,
            };
            out.push(UnknownDestinationHost::META.finding(
                resource_label(vs),
                Some(vs.origin_at(dest.at("host"))),
                format!("{at}: host `{host}` does not exist ({missing})"),
                "name an existing Service, or declare the host with a ServiceEntry",
            ));
        }
    }
}
