//! Rule MS404 `service-in-no-phase`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS404`, the SARIF rule metadata and the generated docs read it. It
//! reports what `plan::verify` found in the plan given to `check --plan`.

use crate::check::macros::declare_rule;
use crate::check::plan_findings::report;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a service of the graph (one with workloads) that no phase onboards and that the
    /// plan does not list under `skipped`.
    ///
    /// ## Why it matters
    /// A service left out is never meshed, while the services it calls are locked down around
    /// it: its calls fail once they go STRICT, and nobody planned for it.
    ///
    /// ## Example
    /// ```json
    /// {"number": 1, "services": [{"namespace": "shop", "name": "orders"}]}
    /// ```
    /// (`shop/catalog` was deleted from every phase.)
    ///
    /// ## Fix
    /// Put the service back in a phase's `services` with its steps, or list it under `skipped`
    /// with the reason it stays out of the mesh.
    pub struct PlanServiceInNoPhase {
        code: "MS404",
        name: "service-in-no-phase",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report(&PlanServiceInNoPhase::META, ctx, out);
}
