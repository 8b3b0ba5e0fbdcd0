//! Rule MS324 `shared-identity-weakens-policy`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS324`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::workload_in_mesh;
use crate::check::macros::declare_rule;
use crate::check::population::{Member, Population};
use crate::check::reachability::{Evaluator, Identity, Verdict};
use crate::check::Context;
use crate::model::{EdgeIndex, Finding, IstioResource, MeshService, Origin, QualifiedName};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it does
    /// Finds ServiceAccounts that workloads of different services share, and reports each
    /// one that an AuthorizationPolicy admits for a caller while another workload running as
    /// it does not call that service. It compares workloads, not principals, and names the
    /// policies the shared identity weakens. Dry-run policies count (they are meant to be
    /// enforced), and so do workloads without a sidecar today (their pods carry the
    /// account's token and present it as soon as they are meshed). A workload named by a
    /// generated ServiceAccount is counted as that account.
    ///
    /// ## Why it matters
    /// Istio knows a workload only by its ServiceAccount. A policy that admits
    /// `cluster.local/ns/shop/sa/default` for `orders` admits every pod running as `default`
    /// in `shop`: least privilege holds only when each caller has an identity of its own.
    ///
    /// ## Example
    /// `orders` and `catalog` both run as `shop/default`. `payments` admits
    /// `cluster.local/ns/shop/sa/default` because `orders` calls it, so `catalog` may call
    /// `payments` too.
    ///
    /// ## Fix
    /// Give each caller a ServiceAccount of its own and name those in the policies.
    /// `meshsmith generate` writes them (`service-account.yaml`) with a merge patch of each
    /// workload's `serviceAccountName`, and the plan applies both before the callee is
    /// locked down.
    pub struct SharedIdentityWeakensPolicy {
        code: "MS324",
        name: "shared-identity-weakens-policy",
        severity: Warning,
        istio: None,
    }
}

/// How many workloads or policies a message names before summing up the rest.
const SHOWN: usize = 5;

/// One policy the shared identity weakens: the policy, the callers that are why the
/// identity is admitted, and the workloads admitted with them.
struct Weakened<'a> {
    policy: &'a IstioResource,
    callers: Vec<&'a QualifiedName>,
    others: Vec<Member<'a>>,
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let evaluator = Evaluator::new(&ctx.index, ctx.config).including_dry_run();
    let population = Population::new(ctx, false);
    let edges = ctx.topology.edge_index();
    for (id, members) in &population.by_identity {
        let nodes: BTreeSet<&QualifiedName> = members.iter().map(|m| m.node).collect();
        if nodes.len() < 2 {
            continue;
        }
        let weakened = weakened(ctx, &evaluator, &edges, id, members);
        if !weakened.is_empty() {
            out.push(finding(ctx, id, members, &weakened));
        }
    }
}

/// The policies that admit `id` for a caller running as it while other workloads running
/// as it never call that service.
fn weakened<'a>(
    ctx: &Context<'a>,
    evaluator: &Evaluator<'_, 'a>,
    edges: &EdgeIndex<'a>,
    id: &Identity,
    members: &[Member<'a>],
) -> Vec<Weakened<'a>> {
    let callees: BTreeSet<&QualifiedName> = members
        .iter()
        .flat_map(|m| edges.callees(m.node).iter().map(|e| &e.to))
        .collect();
    let mut found = Vec::new();
    for callee in callees.into_iter().filter_map(|c| ctx.topology.service(c)) {
        let callers: BTreeSet<&QualifiedName> =
            edges.callers(&callee.id).iter().map(|e| &e.from).collect();
        let others: Vec<Member> = members
            .iter()
            .filter(|m| m.node != &callee.id && !callers.contains(m.node))
            .copied()
            .collect();
        if others.is_empty() {
            continue;
        }
        let Some(policy) = admitting_policy(ctx, evaluator, callee, id) else {
            continue;
        };
        let mut why: Vec<&QualifiedName> = members
            .iter()
            .map(|m| m.node)
            .filter(|n| callers.contains(n))
            .collect();
        why.dedup();
        found.push(Weakened {
            policy,
            callers: why,
            others,
        });
    }
    found
}

/// The ALLOW policy of one of `callee`'s workloads that admits `id`, if one does; a callee
/// without any ALLOW policy admits everyone, which is MS323's finding, not this one's.
fn admitting_policy<'a>(
    ctx: &Context<'a>,
    evaluator: &Evaluator<'_, 'a>,
    callee: &MeshService,
    id: &Identity,
) -> Option<&'a IstioResource> {
    let ns = callee.id.namespace.as_str();
    callee
        .workloads
        .iter()
        .filter(|w| workload_in_mesh(&ctx.index, ns, w))
        .find_map(|w| {
            let applicable = evaluator.applicable(ns, &w.pod_labels);
            match evaluator.decide(&applicable, id, None) {
                Verdict::Allowed(policy) => policy,
                Verdict::Denied(_) => None,
            }
        })
}

fn finding(ctx: &Context, id: &Identity, members: &[Member], weakened: &[Weakened]) -> Finding {
    let policies: Vec<String> = weakened
        .iter()
        .take(SHOWN)
        .map(|w| {
            let callers: Vec<String> = w.callers.iter().map(|c| c.to_string()).collect();
            format!(
                "{}/{} (for {} {}; it also admits {})",
                w.policy.namespace,
                w.policy.name,
                if callers.len() == 1 {
                    "caller"
                } else {
                    "callers"
                },
                callers.join(", "),
                workloads(&w.others)
            )
        })
        .collect();
    let more = match weakened.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let (resource, origin) = place(ctx, id, members);
    SharedIdentityWeakensPolicy::META.finding(
        resource,
        Some(origin),
        format!(
            "{} workloads run as ServiceAccount {}/{}; it is admitted for its callers by {}{more}: {}",
            members.len(),
            id.namespace,
            id.service_account,
            if weakened.len() == 1 {
                "1 AuthorizationPolicy".to_string()
            } else {
                format!("{} AuthorizationPolicies", weakened.len())
            },
            policies.join("; ")
        ),
        "give each caller a ServiceAccount of its own and name those in the policies \
         (`meshsmith generate` writes them, with a patch of each workload's serviceAccountName)",
    )
}

/// `Deployment catalog, Deployment cart and 3 more`.
fn workloads(members: &[Member]) -> String {
    let mut names: Vec<String> = members
        .iter()
        .take(SHOWN)
        .map(|m| format!("{} {}", m.workload.kind.as_str(), m.workload.name))
        .collect();
    if members.len() > SHOWN {
        names.push(format!("and {} more", members.len() - SHOWN));
    }
    names.join(", ")
}

/// The ServiceAccount as written, or the first workload running as it (its manifest is
/// what gives the identity).
fn place(ctx: &Context, id: &Identity, members: &[Member]) -> (String, Origin) {
    let resource = format!("ServiceAccount {}/{}", id.namespace, id.service_account);
    let written = ctx
        .index
        .inventory
        .service_accounts
        .binary_search_by(|a| {
            (a.namespace.as_str(), a.name.as_str())
                .cmp(&(id.namespace.as_str(), id.service_account.as_str()))
        })
        .ok()
        .map(|i| ctx.index.inventory.service_accounts[i].origin.clone());
    let origin = written
        .or_else(|| members.first().map(|m| m.workload.origin.clone()))
        .unwrap_or_else(|| Origin::new(&std::sync::Arc::from(""), 0));
    (resource, origin)
}
