//! Rule MS104 `namespace-not-injected`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS104`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports Namespace objects that carry neither `istio-injection` nor `istio.io/rev`, so
    /// whether their pods get a sidecar is left to the mesh defaults. The root namespace
    /// (`istio-system`), ambient namespaces (`istio.io/dataplane-mode: ambient`) and the
    /// namespaces Istio never reads (`kube-system`, `kube-public`, `kube-node-lease`,
    /// `local-path-storage`) are left alone.
    ///
    /// ## Why it matters
    /// Pods without a sidecar are outside the mesh: once their callees go STRICT they can no
    /// longer call them, and no timeout, retry or authorization policy applies to them.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    /// ```
    ///
    /// ## Fix
    /// `kubectl label namespace shop istio-injection=enabled` (or `istio.io/rev=<revision>`),
    /// or `istio-injection=disabled` to keep it out of the mesh on purpose.
    ///
    /// ## istioctl
    /// `injection.Analyzer` (IST0102, reported by istioctl at level Info).
    pub struct NamespaceNotInjected {
        code: "MS104",
        name: "namespace-not-injected",
        severity: Warning,
        istio: Some("IST0102"),
    }
}

/// Namespaces of the control plane and of Kubernetes itself, never injected.
pub fn is_system_namespace(name: &str, root_namespace: &str) -> bool {
    name == root_namespace || name.starts_with("kube-")
}

/// Namespaces whose objects Istio never reads (its injector and analyzers skip them).
pub fn ignored_by_istio(name: &str) -> bool {
    matches!(
        name,
        "kube-system" | "kube-public" | "kube-node-lease" | "local-path-storage"
    )
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for ns in &ctx.inventory.namespaces {
        if ns.name == ctx.config.root_namespace
            || ignored_by_istio(&ns.name)
            || ns.labels.get("istio.io/dataplane-mode") == Some("ambient")
            || ns.labels.contains_key("istio-injection")
            || ns.labels.contains_key("istio.io/rev")
        {
            continue;
        }
        out.push(NamespaceNotInjected::META.finding(
            format!("Namespace {}", ns.name),
            Some(ns.origin.clone()),
            format!(
                "namespace {} has no injection label; its pods may run without a sidecar",
                ns.name
            ),
            format!(
                "label it: `kubectl label namespace {0} istio-injection=enabled`, or \
                 `istio-injection=disabled` to keep it out of the mesh on purpose",
                ns.name
            ),
        ));
    }
}
