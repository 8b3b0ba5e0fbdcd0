//! Rule MS303 `unknown-destination-host`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS303`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{cluster_local_name, destinations, resource_label};
use crate::check::macros::declare_rule;
use crate::check::visibility::{self, export_to, Visibility};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations (routes and mirrors) whose host names no Service
    /// and no ServiceEntry visible where the VirtualService applies, resolved as Istio
    /// resolves it: a short name is relative to the VirtualService's namespace, a name with a
    /// dot is taken as written (`orders.shop` is not the Service `orders` in `shop`; write
    /// `orders.shop.svc.cluster.local`), and a Service or ServiceEntry counts only where its
    /// `exportTo` exports it (the VirtualService's own `exportTo` says where it applies).
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
    ///
    /// ## istioctl
    /// `virtualservice.DestinationHostAnalyzer` (IST0101 "Referenced host not found", and
    /// "mirror host not found").
    pub struct UnknownDestinationHost {
        code: "MS303",
        name: "unknown-destination-host",
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
            let Some(host) = dest.at("host").as_str() else {
                continue;
            };
            if visible.lookup(&vs.namespace, &exported, host).is_some() {
                continue;
            }
            let why = why_missing(ctx, &visible, &vs.namespace, &exported, host);
            out.push(UnknownDestinationHost::META.finding(
                resource_label(vs),
                Some(vs.origin_at(dest.at("host"))),
                format!("{at}: host `{host}` does not exist ({why})"),
                "name an existing Service (short name, or `<name>.<namespace>.svc.cluster.local`), \
                 or declare the host with a ServiceEntry exported to this namespace",
            ));
        }
    }
}

/// Why `host` names nothing from `namespace`: a dotted short form of a Service, a Service or
/// ServiceEntry not exported there, or nothing at all.
pub fn why_missing(
    ctx: &Context,
    visible: &Visibility,
    namespace: &str,
    exported: &[&str],
    host: &str,
) -> String {
    let everywhere = ["*"];
    if let Some(target) = visible.lookup(namespace, &everywhere, host).or_else(|| {
        // Seen from the namespace itself (a resource exported elsewhere looks up from there).
        (!exported.is_empty())
            .then(|| visible.lookup(namespace, &[], host))
            .flatten()
    }) {
        return format!(
            "{} is not exported to {}",
            target.label(),
            if exported.is_empty() {
                format!("namespace {namespace}")
            } else {
                format!(
                    "the namespaces this resource is exported to ({})",
                    exported.join(", ")
                )
            }
        );
    }
    let fqdn = visibility::fqdn(namespace, host);
    let Some(id) = cluster_local_name(&fqdn, namespace) else {
        return "no Service or ServiceEntry declares it".into();
    };
    let exists = ctx.inventory.service(&id.namespace, &id.name).is_some();
    if exists && !fqdn.ends_with(".svc.cluster.local") {
        return format!(
            "Istio takes a name with a dot as written; the Service is \
             `{}.{}.svc.cluster.local`",
            id.name, id.namespace
        );
    }
    if fqdn.ends_with(".svc.cluster.local") {
        return format!("no Service {}/{}", id.namespace, id.name);
    }
    "no Service or ServiceEntry declares it".into()
}
