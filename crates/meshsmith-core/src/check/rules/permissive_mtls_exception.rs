//! Rule MS311 `permissive-mtls-exception`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS311`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::mtls::{plaintext_modes, REASON_ANNOTATION};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Lists every PeerAuthentication that lets plaintext in (PERMISSIVE or DISABLE, for the
    /// whole policy or a port) together with the reason written in its
    /// `meshsmith.dev/mtls-reason` annotation, so the exceptions to STRICT can be reviewed in one
    /// place.
    ///
    /// ## Why it matters
    /// Each exception is a hole in mutual TLS. Justified ones (a webhook receiver taking
    /// plaintext from a payment provider) should be few, scoped to one workload, and
    /// re-examined when the reason no longer holds.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     meshsmith.dev/mtls-reason: Stripe calls the webhook directly over the load balancer
    /// spec:
    ///   selector: {matchLabels: {app: stripe-webhook}}
    ///   mtls: {mode: PERMISSIVE}
    /// ```
    ///
    /// ## Fix
    /// Nothing, while the reason holds. Remove the exception when it no longer does.
    pub struct PermissiveMtlsException {
        code: "MS311",
        name: "permissive-mtls-exception",
        severity: Info,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for pa in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "PeerAuthentication")
    {
        let Some(reason) = pa
            .annotations
            .get(REASON_ANNOTATION)
            .filter(|r| !r.trim().is_empty())
        else {
            continue;
        };
        for (node, what) in plaintext_modes(pa) {
            out.push(PermissiveMtlsException::META.finding(
                resource_label(pa),
                Some(pa.origin_at(node)),
                format!("{what}; reason: {}", reason.trim()),
                "keep the exception scoped to one workload, and remove it once the reason is gone",
            ));
        }
    }
}
