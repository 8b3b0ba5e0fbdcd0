//! Rule MS406 `phase-lists-disagree-with-steps`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS406`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a phase whose `services` or `locked` list names a service its steps do not
    /// onboard or lock down, or leaves out one they do.
    ///
    /// ## Why it matters
    /// People read the lists (and ROLLOUT.md) to know what a phase changes; the steps are what
    /// runs. When they disagree, the review of the plan approves something other than what happens.
    ///
    /// ## Example
    /// ```json
    /// {"number": 1, "locked": [{"namespace": "shop", "name": "orders"}], "steps": [...]}
    /// ```
    /// (no step of phase 1 makes `shop/orders` STRICT or enforces its policy.)
    ///
    /// ## Fix
    /// Move the name together with its steps, or the steps together with the name, so each
    /// list says what the phase's steps do.
    pub struct PlanPhaseListsDisagreeWithSteps {
        code: "MS406",
        name: "phase-lists-disagree-with-steps",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanPhaseListsDisagreeWithSteps::META, ctx, out);
}
