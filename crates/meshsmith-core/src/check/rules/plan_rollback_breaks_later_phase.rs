//! Rule MS403 `rollback-breaks-later-phase`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS403`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a step whose rollback, run at the end of its own phase or of any later one,
    /// breaks a call that worked before it.
    ///
    /// ## Why it matters
    /// Rollbacks are run under pressure, often after later phases are in place. One that removes
    /// a sidecar but leaves its service STRICT, or leaves an enforced policy that no longer sees
    /// the caller's identity, turns a partial incident into an outage.
    ///
    /// ## Example
    /// ```json
    /// {"action": "sidecars", "rollback": {"effects": [
    ///   {"effect": "no-sidecar", "service": {"namespace": "shop", "name": "orders"}}]}}
    /// ```
    /// (the rollback no longer returns the services the caller reaches to PERMISSIVE.)
    ///
    /// ## Fix
    /// Restore the rollback's effects and commands as generated (`meshsmith plan` writes them),
    /// so undoing a step also undoes what later steps assume about it.
    pub struct PlanRollbackBreaksLaterPhase {
        code: "MS403",
        name: "rollback-breaks-later-phase",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanRollbackBreaksLaterPhase::META, ctx, out);
}
