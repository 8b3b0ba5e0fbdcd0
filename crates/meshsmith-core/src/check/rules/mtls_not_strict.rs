//! Rule MS310 `mtls-not-strict`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS310`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::mtls::effective_mode;
use crate::check::rules::namespace_not_injected::is_system_namespace;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports meshed workloads that no PeerAuthentication covers: no workload, namespace or
    /// mesh-wide (root namespace) policy sets a mode, so they run PERMISSIVE by default.
    /// Workloads kept out of the mesh (`sidecar.istio.io/inject: "false"`, or a namespace
    /// labelled `istio-injection=disabled`) are skipped. Explicit PERMISSIVE or DISABLE
    /// policies are reported by MS311 and MS312 instead.
    ///
    /// ## Why it matters
    /// A PERMISSIVE workload accepts plaintext from any pod, without identity, so
    /// principal-based authorization policies do not protect it against those callers.
    ///
    /// ## Example
    /// A cluster with no `PeerAuthentication` at all.
    ///
    /// ## Fix
    /// Apply STRICT mesh-wide once every client is meshed:
    /// `PeerAuthentication` `default` in `istio-system` with `mtls: {mode: STRICT}`.
    pub struct MtlsNotStrict {
        code: "MS310",
        name: "mtls-not-strict",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root = &ctx.config.root_namespace;
    for w in &inv.workloads {
        let opted_out =
            |m: &crate::model::StringMap| m.get("sidecar.istio.io/inject") == Some("false");
        let ns_disabled = inv
            .namespace(&w.namespace)
            .is_some_and(|ns| ns.labels.get("istio-injection") == Some("disabled"));
        if opted_out(&w.pod_annotations)
            || opted_out(&w.pod_labels)
            || ns_disabled
            || is_system_namespace(&w.namespace, root)
        {
            continue;
        }
        let effective = effective_mode(&ctx.index, root, &w.namespace, &w.pod_labels);
        if effective.policy.is_some() {
            continue;
        }
        out.push(MtlsNotStrict::META.finding(
            format!("{} {}/{}", w.kind.as_str(), w.namespace, w.name),
            Some(w.origin.clone()),
            format!(
                "no PeerAuthentication applies to {} {}: it accepts plaintext (PERMISSIVE by default)",
                w.kind.as_str(),
                w.name
            ),
            format!(
                "add a STRICT PeerAuthentication: mesh-wide in {root}, for namespace {}, or for the workload",
                w.namespace
            ),
        ));
    }
}
