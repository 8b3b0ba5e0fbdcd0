//! Rule MS207 `timeout-too-long`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS207`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::routes::RouteIndex;
use crate::check::Context;
use crate::model::{Finding, TOO_LONG_TIMEOUT_SECONDS};

declare_rule! {
    /// ## What it does
    /// Reports synchronous calls (HTTP, HTTP/2, gRPC) whose timeout is 30 s or more, whether
    /// the callee's VirtualService sets it or (without a VirtualService) the caller's own
    /// configuration does, e.g. `PAYMENT_TIMEOUT=30s`.
    ///
    /// ## Why it matters
    /// While a callee is slow, every caller holds a connection and a worker for the whole
    /// timeout. At 30 s a slow dependency exhausts the caller's pool within seconds and the
    /// outage climbs the call graph: the failure mode a timeout is there to stop.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: PAYMENT_TIMEOUT
    ///     value: 30s
    /// ```
    ///
    /// ## Fix
    /// Give the callee a VirtualService route timeout sized to its role (3 s for a synchronous
    /// API, 10 s for an external integration), and let the caller fail fast.
    pub struct TimeoutTooLong {
        code: "MS207",
        name: "timeout-too-long",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let routes = RouteIndex::new(&ctx.index);
    for (edge, policy) in routes.synchronous_calls(ctx.topology) {
        let Some(timeout) = policy.timeout.filter(|t| *t >= TOO_LONG_TIMEOUT_SECONDS) else {
            continue;
        };
        let resource = ctx
            .topology
            .service(&edge.from)
            .map_or_else(|| edge.from.to_string(), node_label);
        out.push(TimeoutTooLong::META.finding(
            resource,
            policy.source.origin(),
            format!(
                "calls from {} to {} wait up to {timeout}s ({}): a slow {} holds {}'s connections that long",
                edge.from,
                edge.to,
                policy.source.describe(),
                edge.to.name,
                edge.from.name
            ),
            format!("set a route timeout for {} sized to its role, well under 30s", edge.to),
        ));
    }
}
