//! Rule MS210 `low-confidence-caller`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS210`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::callers::report_reasons;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a caller read only from low-confidence evidence: an address in a ConfigMap
    /// shared by three or more workloads, or in config that nothing in the pod spec ties to
    /// the caller (a ConfigMap looked up by name at run time).
    ///
    /// ## Why it matters
    /// Such evidence says a call may happen, not who makes it. The callee's callers are only
    /// partly known, so its AuthorizationPolicy stays in dry-run.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ConfigMap
    /// metadata: {name: shared-endpoints}   # loaded by five workloads
    /// data: {ORDERS_URL: "http://orders:8080"}
    /// ```
    ///
    /// ## Fix
    /// Give each workload its own setting, confirm the callers in the policy file, or show
    /// the calls with traffic (`meshsmith map --traffic`): an observed call is certain, and a
    /// low-confidence call the traffic never shows is left out of the enforced policy.
    pub struct LowConfidenceCaller {
        code: "MS210",
        name: "low-confidence-caller",
        severity: Info,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report_reasons(
        &LowConfidenceCaller::META,
        ctx,
        "confirm the caller in the policy file or with traffic (`meshsmith map --traffic`)",
        out,
    );
}
