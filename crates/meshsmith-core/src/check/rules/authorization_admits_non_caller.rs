//! Rule MS323 `authorization-admits-non-caller`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS323`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{node_label, resource_label};
use crate::check::macros::declare_rule;
use crate::check::reachability::{Evaluator, Identity, Verdict};
use crate::check::rules::authorization_blocks_edge::identities;
use crate::check::Context;
use crate::model::Finding;
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it does
    /// Evaluates, for each service with workloads, whether the identities of the other
    /// workloads in the inventory that do not call it (no edge in the service graph) are
    /// still allowed by the AuthorizationPolicies that apply to it, and reports the service
    /// with the identities it admits. With no ALLOW policy at all, every identity is admitted.
    ///
    /// ## Why it matters
    /// Least privilege means every pair that is not an edge is denied. An over-broad policy
    /// (a namespace-wide rule, a `*` principal, no policy at all) lets a compromised or buggy
    /// workload reach services it never needed, such as payments or the ledger.
    ///
    /// ## Example
    /// `payments` is called only by `orders`, but its policy allows the whole `shop`
    /// namespace, so `catalog` may call it too.
    ///
    /// ## Fix
    /// Allow exactly the callers' principals; give services nobody calls an allow-nothing
    /// policy (`spec: {}`).
    pub struct AuthorizationAdmitsNonCaller {
        code: "MS323",
        name: "authorization-admits-non-caller",
        severity: Warning,
        istio: None,
    }
}

/// How many admitted identities a message names before summing up the rest.
const SHOWN: usize = 5;

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let evaluator = Evaluator::new(ctx.inventory, ctx.config);
    let everyone: BTreeSet<Identity> = ctx.topology.services.iter().flat_map(identities).collect();
    for callee in ctx
        .topology
        .services
        .iter()
        .filter(|n| !n.workloads.is_empty())
    {
        let mut expected: BTreeSet<Identity> = identities(callee).into_iter().collect();
        for edge in ctx.topology.callers(&callee.id) {
            if let Some(caller) = ctx.topology.service(&edge.from) {
                expected.extend(identities(caller));
            }
        }
        let mut admitted = BTreeSet::new();
        let mut by = None;
        let mut no_allow_policy = false;
        for w in &callee.workloads {
            let applicable = evaluator.applicable(&callee.id.namespace, &w.pod_labels);
            for id in everyone.difference(&expected) {
                if let Verdict::Allowed(policy) = evaluator.decide(&applicable, id, None) {
                    admitted.insert(id.clone());
                    by = by.or(policy);
                    no_allow_policy |= policy.is_none();
                }
            }
        }
        if admitted.is_empty() {
            continue;
        }
        let mut names: Vec<String> = admitted
            .iter()
            .take(SHOWN)
            .map(Identity::to_string)
            .collect();
        if admitted.len() > SHOWN {
            names.push(format!("and {} more", admitted.len() - SHOWN));
        }
        let (resource, origin, why) = match by {
            Some(p) if !no_allow_policy => (
                resource_label(p),
                p.object.origin(),
                "its ALLOW rules admit",
            ),
            _ => (
                node_label(callee),
                callee.origin.clone(),
                "no ALLOW policy applies, so it admits",
            ),
        };
        out.push(AuthorizationAdmitsNonCaller::META.finding(
            resource,
            Some(origin),
            format!(
                "{why} {} that never call{} {}: {}",
                if admitted.len() == 1 {
                    "an identity".to_string()
                } else {
                    format!("{} identities", admitted.len())
                },
                if admitted.len() == 1 { "s" } else { "" },
                callee.id,
                names.join(", ")
            ),
            "allow exactly the callers' principals; a service nobody calls gets `spec: {}`",
        ));
    }
}
