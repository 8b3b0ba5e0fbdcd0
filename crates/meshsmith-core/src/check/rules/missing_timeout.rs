//! Rule MS205 `missing-timeout`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS205`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::routes::{PolicySource, RouteIndex};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports synchronous calls (HTTP, HTTP/2, gRPC) with no timeout at all: the callee has
    /// no VirtualService route timeout, and (without a VirtualService) the caller sets none
    /// of its own.
    ///
    /// ## Why it matters
    /// Istio disables the route timeout when none is set. A caller without a timeout waits as
    /// long as the callee hangs, holding a connection and a worker, so a slow service backs
    /// up every service above it.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    ///   - route:
    ///       - destination: {host: payments}
    ///     # no timeout
    /// ```
    ///
    /// ## Fix
    /// Set `timeout` on the callee's VirtualService route (e.g. `3s` for a synchronous API).
    pub struct MissingTimeout {
        code: "MS205",
        name: "missing-timeout",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let routes = RouteIndex::new(&ctx.index);
    for (edge, policy) in routes.synchronous_calls(ctx.topology) {
        if policy.timeout.is_some() {
            continue;
        }
        let why = match policy.source {
            PolicySource::VirtualService(vs, _) => {
                format!(
                    "VirtualService {}/{} sets no timeout",
                    vs.namespace, vs.name
                )
            }
            PolicySource::CurrentSettings(_) => {
                "there is no VirtualService and the caller sets no timeout".to_string()
            }
        };
        let resource = ctx
            .topology
            .service(&edge.from)
            .map_or_else(|| edge.from.to_string(), node_label);
        out.push(MissingTimeout::META.finding(
            resource,
            policy.source.origin(),
            format!(
                "calls from {} to {} have no timeout: {why}",
                edge.from, edge.to
            ),
            format!("set a `timeout` on the route for {}", edge.to),
        ));
    }
}
