//! Rule MS407 `enforced-policy-denies-a-call`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS407`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports an AuthorizationPolicy the plan enforces that does not admit a caller the service
    /// graph knows about.
    ///
    /// ## Why it matters
    /// An enforced ALLOW policy denies every principal it does not list: the caller left out gets
    /// `RBAC: access denied` (HTTP 403) from the moment the step runs.
    ///
    /// ## Example
    /// ```json
    /// {"effect": "authorization", "service": {"namespace": "shop", "name": "payments"},
    ///  "state": "enforced", "principals": []}
    /// ```
    ///
    /// ## Fix
    /// Restore the caller's principal (`<trust-domain>/ns/<namespace>/sa/<account>`) in the
    /// effect and in the policy, or remove the edge from the graph if the call is gone.
    pub struct PlanEnforcedPolicyDeniesACall {
        code: "MS407",
        name: "enforced-policy-denies-a-call",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanEnforcedPolicyDeniesACall::META, ctx, out);
}
