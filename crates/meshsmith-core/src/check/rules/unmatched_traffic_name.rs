//! Rule MS212 `unmatched-traffic-name`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS212`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a workload, pod, principal or service named in the traffic (`--traffic`) that
    /// matches nothing in the manifests, or matches several things that cannot be told apart
    /// (a service account shared by several workloads).
    ///
    /// ## Why it matters
    /// meshsmith never invents a node for it, so its calls are not in the graph: the
    /// manifests given are not the whole application, or a name changed since the traffic
    /// was recorded. A shared identity hides which workload called.
    ///
    /// ## Example
    /// ```text
    /// istio_requests_total{source_workload="legacy-batch",destination_service_name="orders",...} 12
    /// ```
    ///
    /// ## Fix
    /// Add the missing manifests, or give each workload its own ServiceAccount.
    pub struct UnmatchedTrafficName {
        code: "MS212",
        name: "unmatched-traffic-name",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(traffic) = &ctx.topology.traffic else {
        return;
    };
    for u in &traffic.unmatched {
        out.push(UnmatchedTrafficName::META.finding(
            format!("traffic {} {}", u.side, u.name),
            Some(u.origin.clone()),
            format!(
                "the traffic names {} `{}` ({} request(s)), which matches nothing in the manifests: {}",
                u.side, u.name, u.requests, u.why
            ),
            "add the manifests that define it, or give each workload its own ServiceAccount",
        ));
    }
}
