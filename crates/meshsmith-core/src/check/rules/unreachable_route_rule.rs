//! Rule MS337 `unreachable-route-rule`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS337`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::route_matches::{problems, Problem};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService rules (`http`, `tcp`, `tls`) that no request can reach: a rule
    /// after one without `match`, or a rule whose every match repeats one of an earlier rule.
    ///
    /// ## Why it matters
    /// Envoy takes the first rule that fits. The timeout, retries, fault or destination
    /// written in the unreachable rule never apply, while the file reads as if they did;
    /// usually a catch-all rule was added above the specific ones.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    ///   - route: [{destination: {host: orders}}]          # matches everything
    ///   - match: [{uri: {prefix: /admin}}]                 # never reached
    ///     route: [{destination: {host: orders-admin}}]
    /// ```
    ///
    /// ## Fix
    /// Put specific rules first and the rule without `match` last; remove rules that repeat
    /// an earlier rule's matches.
    ///
    /// ## istioctl
    /// `schema.ValidationAnalyzer.VirtualService` (IST0130), from the same checks istiod's
    /// validation warns with.
    pub struct UnreachableRouteRule {
        code: "MS337",
        name: "unreachable-route-rule",
        severity: Warning,
        istio: Some("IST0130"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx.index.istio_kind("VirtualService") {
        for (problem, node) in problems(vs.spec()) {
            let Problem::Unreachable { rule, reason } = problem else {
                continue;
            };
            out.push(UnreachableRouteRule::META.finding(
                resource_label(vs),
                Some(vs.origin_at(node)),
                format!("{rule} is never reached: {reason}"),
                "move the rule above the one that takes its traffic, or remove it",
            ));
        }
    }
}
