//! Rule MS312 `permissive-mtls-without-reason`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS312`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::mtls::{plaintext_modes, REASON_ANNOTATION};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports PeerAuthentications that let plaintext in (PERMISSIVE or DISABLE, for the
    /// whole policy or a port) without saying why in a `meshsmith.dev/mtls-reason` annotation.
    ///
    /// ## Why it matters
    /// An unexplained exception cannot be reviewed and is never removed: PERMISSIVE left over
    /// from a migration keeps accepting unauthenticated plaintext long after every client is
    /// meshed.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PeerAuthentication
    /// spec:
    ///   mtls: {mode: PERMISSIVE}
    /// ```
    ///
    /// ## Fix
    /// Set `mode: STRICT`, or, if plaintext is really needed, scope the policy to the one
    /// workload with a selector and write the reason in `meshsmith.dev/mtls-reason`.
    pub struct PermissiveMtlsWithoutReason {
        code: "MS312",
        name: "permissive-mtls-without-reason",
        severity: Error,
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
        if pa
            .annotations
            .get(REASON_ANNOTATION)
            .is_some_and(|r| !r.trim().is_empty())
        {
            continue;
        }
        for (node, what) in plaintext_modes(pa) {
            out.push(PermissiveMtlsWithoutReason::META.finding(
                resource_label(pa),
                Some(pa.origin_at(node)),
                format!("{what} without a reason"),
                format!(
                    "set STRICT, or write why plaintext is needed in the `{REASON_ANNOTATION}` annotation"
                ),
            ));
        }
    }
}
