//! Rule MS402 `enforced-without-dry-run`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS402`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports an AuthorizationPolicy the plan enforces with no dry-run of it
    /// (`istio.io/dry-run: "true"`) in an earlier phase.
    ///
    /// ## Why it matters
    /// A dry-run logs what the policy would deny without denying it. Enforcing without one means
    /// the first sign of a missing principal is a refused request.
    ///
    /// ## Example
    /// ```json
    /// {"number": 1, "steps": [{"action": "authorization-dry-run", "effects": []}]}
    /// ```
    /// (the dry-run effect of `shop/catalog` was deleted; phase 2 still enforces its policy.)
    ///
    /// ## Fix
    /// Keep an `authorization` effect with `"state": "dry-run"` for the service in a phase
    /// before the one that enforces it, and watch the dry-run denials during the window.
    pub struct PlanEnforcedWithoutDryRun {
        code: "MS402",
        name: "enforced-without-dry-run",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanEnforcedWithoutDryRun::META, ctx, out);
}
