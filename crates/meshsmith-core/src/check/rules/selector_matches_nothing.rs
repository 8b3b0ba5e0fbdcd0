//! Rule MS320 `selector-matches-nothing`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS320`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{policy_selector, resource_label, selector_matches};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports AuthorizationPolicies and PeerAuthentications whose `selector.matchLabels`
    /// matches the pod labels of no workload in the inventory: in their own namespace, or in
    /// any namespace for an AuthorizationPolicy in the root namespace. An AuthorizationPolicy
    /// without a selector outside the root namespace applies to its whole namespace, and is
    /// reported when that namespace runs no workload.
    ///
    /// ## Why it matters
    /// The policy protects nothing. Usually a label was renamed or mistyped, and the workload
    /// it was written for runs without the access control or mTLS mode the review assumed.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   selector:
    ///     matchLabels: {app: order}    # the pods are labelled app: orders
    /// ```
    ///
    /// ## Fix
    /// Match the labels of the pod template (`spec.template.metadata.labels`), not of the
    /// Deployment itself.
    ///
    /// ## istioctl
    /// `auth.AuthorizationPoliciesAnalyzer` (IST0127) for AuthorizationPolicies; istioctl
    /// does not check PeerAuthentication selectors, so those findings carry no IST code.
    pub struct SelectorMatchesNothing {
        code: "MS320",
        name: "selector-matches-nothing",
        severity: Warning,
        istio: Some("IST0127"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let kinds = ["AuthorizationPolicy", "PeerAuthentication"];
    for policy in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| kinds.contains(&r.kind.as_str()))
    {
        let is_authz = policy.kind == "AuthorizationPolicy";
        let mesh_wide = is_authz && policy.namespace == ctx.config.root_namespace;
        let Some(selector) = policy_selector(policy.spec()) else {
            if is_authz && !mesh_wide && ctx.index.workloads_in(&policy.namespace).is_empty() {
                out.push(SelectorMatchesNothing::META.finding(
                    resource_label(policy),
                    Some(policy.origin_at(policy.spec())),
                    format!(
                        "the policy applies to every workload of namespace {}, which runs none",
                        policy.namespace
                    ),
                    "put the policy in the namespace of the workloads it is for",
                ));
            }
            continue;
        };
        let matched = if mesh_wide {
            let mut all = ctx.inventory.workloads.iter();
            all.any(|w| selector_matches(&selector, &w.pod_labels))
        } else {
            let local = ctx.index.workloads_in(&policy.namespace).iter();
            local
                .copied()
                .any(|w| selector_matches(&selector, &w.pod_labels))
        };
        if matched {
            continue;
        }
        let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut finding = SelectorMatchesNothing::META.finding(
            resource_label(policy),
            Some(policy.origin_at(policy.spec().at("selector"))),
            format!(
                "selector {} matches no workload in {}",
                labels.join(","),
                if mesh_wide {
                    "the mesh".to_string()
                } else {
                    format!("namespace {}", policy.namespace)
                }
            ),
            "match the pod template labels of the workload the policy is for",
        );
        if !is_authz {
            finding.istio_code = None;
        }
        out.push(finding);
    }
}
