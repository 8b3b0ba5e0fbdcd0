//! Rule MS338 `ineffective-route-match`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS338`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::route_matches::{problems, Problem};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService matches that an earlier rule always takes first: a match equal
    /// to an earlier one (its `name` aside), or an HTTP `uri.prefix` match covered by an
    /// earlier prefix match (`/api` before `/api/v2`, with the same port, method, authority,
    /// headers and query parameters, or looser ones).
    ///
    /// ## Why it matters
    /// Requests meant for the later match get the earlier rule's destination, timeout and
    /// retries. The later settings look reviewed but never run.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    ///   - match: [{uri: {prefix: /api}}]
    ///     route: [{destination: {host: api}}]
    ///   - match: [{uri: {prefix: /api/v2}}]     # /api took these already
    ///     route: [{destination: {host: api-v2}}]
    /// ```
    ///
    /// ## Fix
    /// Order matches from the most specific to the least (`/api/v2` before `/api`), or
    /// remove the duplicate.
    ///
    /// ## istioctl
    /// `schema.ValidationAnalyzer.VirtualService` (IST0131), from the same checks istiod's
    /// validation warns with.
    pub struct IneffectiveRouteMatch {
        code: "MS338",
        name: "ineffective-route-match",
        severity: Info,
        istio: Some("IST0131"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx.index.istio_kind("VirtualService") {
        for (problem, node) in problems(vs.spec()) {
            let Problem::Ineffective {
                rule,
                matched,
                earlier,
            } = problem
            else {
                continue;
            };
            out.push(IneffectiveRouteMatch::META.finding(
                resource_label(vs),
                Some(vs.origin_at(node)),
                format!("{rule} {matched} is never used: {earlier} takes its requests first"),
                "put the more specific match first, or remove the duplicate",
            ));
        }
    }
}
