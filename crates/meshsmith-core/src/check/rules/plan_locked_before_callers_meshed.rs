//! Rule MS401 `locked-before-callers-meshed`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS401`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a service the plan makes STRICT, or whose AuthorizationPolicy it enforces, in a
    /// phase that does not come after every caller's sidecar phase; and any call that the plan,
    /// walked step by step, breaks because its caller has no sidecar yet.
    ///
    /// ## Why it matters
    /// A caller without a sidecar sends plaintext without an identity. A STRICT receiver refuses
    /// the connection and an enforced policy finds no principal to admit, so the call fails in
    /// production until the phase that meshes the caller runs.
    ///
    /// ## Example
    /// ```json
    /// {"number": 2, "locked": [{"namespace": "shop", "name": "payments"}],
    ///  "steps": [{"action": "mtls-strict", "effects": [
    ///    {"effect": "mtls", "service": {"namespace": "shop", "name": "payments"}, "mode": "strict"}]}]}
    /// ```
    /// (`shop/orders`, a caller of `shop/payments`, gets its sidecar only in phase 2.)
    ///
    /// ## Fix
    /// Move the `mtls-strict` and `authorization-enforce` effects, and the name under `locked`,
    /// to a phase after the one that gives the last caller its sidecar.
    pub struct PlanLockedBeforeCallersMeshed {
        code: "MS401",
        name: "locked-before-callers-meshed",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanLockedBeforeCallersMeshed::META, ctx, out);
}
