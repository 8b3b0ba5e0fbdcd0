//! Rule MS209 `hidden-outbound-calls`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS209`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::callers::report_reasons;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a service whose callers are only partly known because a workload that could
    /// reach it makes calls the manifests do not show: a registry or discovery client
    /// (Consul, Eureka, Spring Cloud, a `*_REGISTRY*` or `*DISCOVERY*` setting, a call to a
    /// registry-looking Service), a workload whose configuration is inside its image (its
    /// environment only selects a profile, such as `ASPNETCORE_ENVIRONMENT=Production`), or a
    /// proxy or exposed front end with no visible upstream (nginx routes in the image).
    ///
    /// ## Why it matters
    /// Such a workload may call any service it can reach. Enforcing a policy that leaves it
    /// out would deny a real call the moment the policy is applied.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - {name: EUREKA_CLIENT_SERVICEURL_DEFAULTZONE, value: "http://discovery:8761/eureka/"}
    /// ```
    ///
    /// ## Fix
    /// Collect traffic that shows that workload's calls (`meshsmith map --traffic`), or
    /// confirm the callee's callers in the policy file; until then its policy stays in dry-run.
    pub struct HiddenOutboundCalls {
        code: "MS209",
        name: "hidden-outbound-calls",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report_reasons(
        &HiddenOutboundCalls::META,
        ctx,
        "show that workload's calls with `meshsmith map --traffic`, or confirm the callers in the policy file",
        out,
    );
}
