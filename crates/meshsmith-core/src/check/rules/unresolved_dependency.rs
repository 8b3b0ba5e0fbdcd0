//! Rule MS206 `unresolved-dependency`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS206`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports in-cluster host names a workload is configured to call (in environment
    /// variables, ConfigMaps, arguments...) that match no Service.
    ///
    /// ## Why it matters
    /// Either the call fails today (a typo, a renamed or deleted Service), or it goes to
    /// something the manifests do not show. Either way the call gets no timeout, retry or
    /// authorization policy, and a Sidecar scoped to the known dependencies cuts it off.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: PAYMENTS_URL
    ///     value: http://paymnts.shop:8080     # the Service is `payments`
    /// ```
    ///
    /// ## Fix
    /// Correct the host, add the missing Service, or declare an external host with a
    /// ServiceEntry.
    pub struct UnresolvedDependency {
        code: "MS206",
        name: "unresolved-dependency",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for dangling in &ctx.topology.unresolved {
        let resource = ctx
            .topology
            .service(&dangling.from)
            .map_or_else(|| dangling.from.to_string(), node_label);
        let port = dangling.port.map_or_else(String::new, |p| format!(":{p}"));
        let evidence = dangling.evidence.first();
        out.push(UnresolvedDependency::META.finding(
            resource,
            evidence.map(|e| e.origin.clone()),
            format!(
                "{} calls `{}{port}`, which matches no Service{}",
                dangling.from,
                dangling.host,
                evidence.map_or_else(String::new, |e| format!(" ({})", e.detail))
            ),
            "correct the host, add the Service, or declare an external host with a ServiceEntry",
        ));
    }
}
