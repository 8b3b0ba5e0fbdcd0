//! Rule MS208 `callers-unknown`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS208`, the SARIF rule metadata and the generated docs read it.

use crate::check::callers::report_reasons;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a Service that nothing in the manifests calls and nothing exposes (no Ingress,
    /// gateway route, LoadBalancer or NodePort), so its callers are unknown.
    ///
    /// ## Why it matters
    /// A Service exists to be called. When the manifests show no caller, the calls live
    /// somewhere they do not show: in code, in a config file baked into an image, or behind a
    /// service registry. An AuthorizationPolicy that allowed "nobody" would deny every one of
    /// them; meshsmith therefore generates it in dry-run (`istio.io/dry-run: "true"`).
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: reviews}   # productpage calls it, but only its code says so
    /// ```
    ///
    /// ## Fix
    /// Collect traffic during a monitoring window and feed it to meshsmith
    /// (`meshsmith map --traffic FILE`), or confirm the callers in the policy file
    /// (`services: {reviews: {callers: [productpage], reason: "..."}}`); then regenerate.
    pub struct CallersUnknown {
        code: "MS208",
        name: "callers-unknown",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    report_reasons(
        &CallersUnknown::META,
        ctx,
        "keep its AuthorizationPolicy in dry-run; learn its callers with `meshsmith map --traffic` or confirm them in the policy file",
        out,
    );
}
