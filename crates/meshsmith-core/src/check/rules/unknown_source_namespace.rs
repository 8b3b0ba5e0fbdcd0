//! Rule MS330 `unknown-source-namespace`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS330`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::rules::namespace_not_injected::ignored_by_istio;
use crate::check::Context;
use crate::model::{Finding, Node};

declare_rule! {
    /// ## What it does
    /// Reports AuthorizationPolicy sources (`from[].source.namespaces` and `notNamespaces`)
    /// that match no namespace the input shows: an exact name, or a pattern with `*` at the
    /// start or end. The root namespace and Kubernetes' own namespaces count as there.
    ///
    /// ## Why it matters
    /// No caller comes from that namespace, so the rule admits (or excludes) nobody; the
    /// callers it was written for are denied, usually because of a typo or a namespace that
    /// was renamed.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - from:
    ///       - source: {namespaces: [fronend]}      # the namespace is `frontend`
    /// ```
    ///
    /// ## Fix
    /// Name an existing namespace; prefer `principals` (a caller's identity) to a whole
    /// namespace.
    ///
    /// ## istioctl
    /// `auth.AuthorizationPoliciesAnalyzer` (IST0101 "Referenced namespace not found"),
    /// which knows the Namespace objects of the cluster.
    pub struct UnknownSourceNamespace {
        code: "MS330",
        name: "unknown-source-namespace",
        severity: Error,
        istio: Some("IST0101"),
    }
}

/// Whether namespace `ns` fits `pattern` as Istio reads a source namespace: `*` alone,
/// `*suffix`, `prefix*`, or the name itself (case aside).
pub fn namespace_fits(ns: &str, pattern: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        ns.ends_with(suffix)
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        ns.starts_with(prefix)
    } else {
        ns.eq_ignore_ascii_case(pattern)
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let mut known: Vec<&str> = ctx
        .inventory
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .chain(ctx.inventory.workloads.iter().map(|w| w.namespace.as_str()))
        .chain(ctx.inventory.services.iter().map(|s| s.namespace.as_str()))
        .chain(ctx.inventory.istio.iter().map(|r| r.namespace.as_str()))
        .chain([ctx.config.root_namespace.as_str(), "default"])
        .chain(["kube-system", "kube-public", "kube-node-lease"])
        .collect();
    known.sort_unstable();
    known.dedup();
    for policy in ctx.index.istio_kind("AuthorizationPolicy") {
        for rule in policy.spec().at("rules").as_seq() {
            for from in rule.at("from").as_seq() {
                let source = from.at("source");
                let listed = source.at("namespaces").as_seq().iter();
                for pattern in listed.chain(source.at("notNamespaces").as_seq()) {
                    report(policy, pattern, &known, out);
                }
            }
        }
    }
}

fn report(
    policy: &crate::model::IstioResource,
    pattern: &Node,
    known: &[&str],
    out: &mut Vec<Finding>,
) {
    let Some(text) = pattern.as_str() else {
        return;
    };
    if known.iter().any(|ns| namespace_fits(ns, text)) || ignored_by_istio(text) {
        return;
    }
    out.push(UnknownSourceNamespace::META.finding(
        resource_label(policy),
        Some(policy.origin_at(pattern)),
        format!("source namespace `{text}` matches no namespace in the input"),
        "name an existing namespace, or the callers' principals",
    ));
}
