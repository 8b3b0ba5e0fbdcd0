//! Rule MS211 `dry-run-would-deny`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS211`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::callers::service_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports requests that a dry-run AuthorizationPolicy would have denied, as the traffic
    /// given with `--traffic` shows them (Envoy's RBAC shadow result, in Istio's metrics or
    /// access logs).
    ///
    /// ## Why it matters
    /// Enforcing that policy as it is would deny those requests: each is a real call the
    /// policy leaves out. A call from an identified workload becomes an edge of the graph, so
    /// the regenerated policy admits it; a caller the traffic does not identify keeps the
    /// service's callers partly unknown.
    ///
    /// ## Example
    /// ```text
    /// {"authority":"ledger:8080","dry_run_result":"denied","downstream_peer_uri_san":"spiffe://cluster.local/ns/shop/sa/api"}
    /// ```
    ///
    /// ## Fix
    /// Regenerate with the traffic (`meshsmith generate --traffic ...`) and apply the new
    /// policy in dry-run again before enforcing it; find the unidentified caller from the
    /// callee's access log (its peer address and SNI).
    pub struct DryRunWouldDeny {
        code: "MS211",
        name: "dry-run-would-deny",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(traffic) = &ctx.topology.traffic else {
        return;
    };
    for d in &traffic.shadow_denied {
        let caller = d
            .caller
            .as_deref()
            .map_or("a caller the traffic does not identify".to_string(), |c| {
                c.to_string()
            });
        out.push(DryRunWouldDeny::META.finding(
            service_label(ctx, &d.service),
            Some(d.origin.clone()),
            format!(
                "a dry-run AuthorizationPolicy of {} would have denied {} request(s) from {caller}",
                d.service, d.requests
            ),
            "regenerate with this traffic so the policy admits the caller, and keep it in dry-run until no denial is left",
        ));
    }
}
