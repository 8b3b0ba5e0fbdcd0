//! Rule MS321 `unknown-principal-account`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS321`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, Node};

declare_rule! {
    /// ## What it does
    /// Reports AuthorizationPolicy principals (`<trust-domain>/ns/<ns>/sa/<account>`, in
    /// `principals` or `notPrincipals`) that name a ServiceAccount missing from a namespace
    /// the inventory shows. Principals with wildcards, and namespaces the input does not
    /// contain (such as the ingress gateway's), are not judged.
    ///
    /// ## Why it matters
    /// No workload carries that identity, so the rule allows (or excludes) nobody: the real
    /// caller, running under another account, is denied, often because the policy names the
    /// Deployment instead of its ServiceAccount.
    ///
    /// ## Example
    /// ```yaml
    /// principals: ["cluster.local/ns/shop/sa/order-service"]   # the pods run as `orders`
    /// ```
    ///
    /// ## Fix
    /// Use the caller's `serviceAccountName` (`default` when it sets none).
    ///
    /// ## istioctl
    /// Not mapped. istioctl's `auth.AuthorizationPoliciesAnalyzer` checks the source
    /// namespaces a policy names (MS330), not its principals: it reports nothing for a
    /// principal of an account that does not exist.
    pub struct UnknownPrincipalAccount {
        code: "MS321",
        name: "unknown-principal-account",
        severity: Error,
        istio: None,
    }
}

/// `cluster.local/ns/shop/sa/orders` -> (`shop`, `orders`); `None` for wildcards and other forms.
pub fn principal_account(principal: &str) -> Option<(&str, &str)> {
    if principal.contains('*') {
        return None;
    }
    let (_, rest) = principal.split_once("/ns/")?;
    let (ns, sa) = rest.split_once("/sa/")?;
    (!ns.is_empty() && !sa.is_empty() && !sa.contains('/')).then_some((ns, sa))
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for ap in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "AuthorizationPolicy")
    {
        for rule in ap.spec().at("rules").as_seq() {
            for from in rule.at("from").as_seq() {
                let source = from.at("source");
                let listed = ["principals", "notPrincipals"]
                    .iter()
                    .flat_map(|k| source.at(k).as_seq());
                for node in listed {
                    check_principal(ctx, ap, node, out);
                }
            }
        }
    }
}

fn check_principal(
    ctx: &Context,
    ap: &crate::model::IstioResource,
    node: &Node,
    out: &mut Vec<Finding>,
) {
    let Some(principal) = node.as_str() else {
        return;
    };
    let Some((ns, sa)) = principal_account(principal) else {
        return;
    };
    // Every namespace has a `default` account, created by Kubernetes.
    if sa == "default" || !ctx.index.namespace_known(ns) || ctx.index.has_service_account(ns, sa) {
        return;
    }
    out.push(UnknownPrincipalAccount::META.finding(
        resource_label(ap),
        Some(ap.origin_at(node)),
        format!("principal `{principal}` names ServiceAccount {ns}/{sa}, which does not exist"),
        format!("use the serviceAccountName the calling pods in {ns} run as"),
    ));
}
