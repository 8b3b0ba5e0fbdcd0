//! Rule MS405 `virtual-service-before-destination-rule`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS405`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a service whose VirtualService (timeouts, retries) the plan applies before its
    /// DestinationRule (circuit breaker, connection pool).
    ///
    /// ## Why it matters
    /// Retries without the circuit breaker they were sized with multiply the load on a failing
    /// service; the order of the steps is what keeps them safe.
    ///
    /// ## Example
    /// ```json
    /// {"number": 1, "steps": [{"action": "virtual-services"}, {"action": "destination-rules"}]}
    /// ```
    ///
    /// ## Fix
    /// Apply the `destination-rules` step before the `virtual-services` step, in the same phase
    /// or an earlier one.
    pub struct PlanVirtualServiceBeforeDestinationRule {
        code: "MS405",
        name: "virtual-service-before-destination-rule",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanVirtualServiceBeforeDestinationRule::META, ctx, out);
}
