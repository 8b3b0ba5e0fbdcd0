//! Rule MS341 `object-defined-twice`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS341`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports an Istio resource defined twice across the inputs (same kind, namespace and
    /// name) with different content: say a hand-written DestinationRule and one generated
    /// into `out/config` from older manifests. The same object read twice (the output of a
    /// re-run read beside the one before) is not reported, nor the VirtualService meshsmith
    /// replaces on purpose (one that only passed its host's traffic through).
    ///
    /// ## Why it matters
    /// `kubectl apply` of both leaves only the later one: the earlier object's settings are
    /// silently gone, and deleting the later one (a rollback, a clean-up) deletes what
    /// looked like the earlier one too.
    ///
    /// ## Example
    /// ```yaml
    /// # app.yaml
    /// kind: DestinationRule
    /// metadata: {name: api, namespace: shop}
    /// spec: {host: api, trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}}
    /// ---
    /// # out/config/shop/api/destination-rule.yaml
    /// kind: DestinationRule
    /// metadata: {name: api, namespace: shop}
    /// spec: {host: api, trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}}
    /// ```
    ///
    /// ## Fix
    /// Keep one object per kind, namespace and name: merge the settings into one, or give
    /// one a name of its own if both may apply (an AuthorizationPolicy may; two
    /// DestinationRules for one host may not). Generate again from the current manifests:
    /// meshsmith writes none over an object the manifests hold.
    ///
    /// ## istioctl
    /// Not mapped. `istioctl analyze` reads the objects after one replaced the other.
    pub struct ObjectDefinedTwice {
        code: "MS341",
        name: "object-defined-twice",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for d in &ctx.inventory.duplicates {
        if d.generated && d.pass_through {
            continue;
        }
        out.push(ObjectDefinedTwice::META.finding(
            format!("{} {}/{}", d.kind, d.namespace, d.name),
            Some(d.origin.clone()),
            format!(
                "{} {}/{} is defined again, with other content, at {}; applying both, that \
                 one silently replaces this one",
                d.kind, d.namespace, d.name, d.kept
            ),
            "keep one object per kind, namespace and name (merge them, or rename one where both may apply)",
        ));
    }
}
