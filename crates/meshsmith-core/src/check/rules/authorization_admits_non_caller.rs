//! Rule MS323 `authorization-admits-non-caller`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS323`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{node_label, resource_label, workload_in_mesh};
use crate::check::macros::declare_rule;
use crate::check::population::{Member, Population};
use crate::check::reachability::{Evaluator, Identity, Verdict};
use crate::check::Context;
use crate::model::{Finding, IstioResource, MeshService, QualifiedName};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it does
    /// Evaluates, for each service with workloads whose callers are known, whether the
    /// other workloads of the inventory that do not call it (no edge in the service graph)
    /// are still allowed by the AuthorizationPolicies that apply to it, and reports the
    /// service with the workloads it admits. Workloads are compared, not principals: a
    /// workload that runs as the same ServiceAccount as a caller (often `default`) is
    /// admitted with it, and reported. With no ALLOW policy at all, every workload is
    /// admitted. Workloads without a sidecar enforce no policy and present no identity, so
    /// they are skipped on both sides. A workload named by a generated ServiceAccount is
    /// evaluated as that account.
    ///
    /// ## Why it matters
    /// Least privilege means every pair that is not an edge is denied. An over-broad policy
    /// (a namespace-wide rule, a `*` principal, a principal several workloads share, no
    /// policy at all) lets a compromised or buggy workload reach services it never needed,
    /// such as payments or the ledger.
    ///
    /// ## Example
    /// `payments` is called only by `orders`, but its policy allows the whole `shop`
    /// namespace, so `catalog` may call it too; or it allows `shop/sa/default`, which
    /// `orders` and `catalog` both run as.
    ///
    /// ## Fix
    /// Allow exactly the callers' principals, each caller running as a ServiceAccount of its
    /// own (`meshsmith generate` writes them, see MS324); give services nobody calls an
    /// allow-nothing policy (`spec: {}`).
    pub struct AuthorizationAdmitsNonCaller {
        code: "MS323",
        name: "authorization-admits-non-caller",
        severity: Warning,
        istio: None,
    }
}

/// How many admitted workloads a message names before summing up the rest.
const SHOWN: usize = 5;

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let evaluator = Evaluator::new(&ctx.index, ctx.config);
    let population = Population::new(ctx, true);
    for callee in ctx
        .topology
        .services
        .iter()
        // Whom a service whose callers are not known should admit is not known either: its
        // policy stays in dry-run on purpose (MS208-MS211 say why).
        .filter(|n| !n.workloads.is_empty() && n.callers.is_known())
    {
        let mut allowed: BTreeSet<&QualifiedName> = ctx
            .index
            .callers(&callee.id)
            .iter()
            .map(|e| &e.from)
            .collect();
        allowed.insert(&callee.id);
        let admitted = admitted(ctx, &evaluator, &population, callee, &allowed);
        if admitted.count > 0 {
            out.push(finding(callee, &admitted));
        }
    }
}

/// The workloads that never call `callee` but that its policies admit.
fn admitted<'a>(
    ctx: &Context<'a>,
    evaluator: &Evaluator<'_, 'a>,
    population: &Population<'a>,
    callee: &'a MeshService,
    allowed: &BTreeSet<&QualifiedName>,
) -> Admitted<'a> {
    let mut admitted = Admitted::default();
    let ns = callee.id.namespace.as_str();
    for w in callee
        .workloads
        .iter()
        .filter(|w| workload_in_mesh(&ctx.index, ns, w))
    {
        let applicable = evaluator.applicable(ns, &w.pod_labels);
        if applicable.is_empty() {
            // Nothing applies: everyone is admitted, no need to ask one by one.
            admitted.everyone_but(population, allowed);
            continue;
        }
        // Exact principals bound what ALLOW can admit; otherwise try every identity.
        let candidates: Vec<(&Identity, &Vec<Member>)> = match evaluator.admissible(&applicable) {
            Some(list) => list
                .iter()
                .filter_map(|id| population.by_identity.get_key_value(id))
                .collect(),
            None => population.by_identity.iter().collect(),
        };
        for (id, members) in candidates {
            if members.iter().all(|m| allowed.contains(m.node)) {
                continue;
            }
            if let Verdict::Allowed(policy) = evaluator.decide(&applicable, id, None) {
                admitted.add(id, members, allowed, policy);
            }
        }
    }
    admitted
}

fn finding(callee: &MeshService, admitted: &Admitted) -> Finding {
    let mut names: Vec<String> = admitted.names.values().cloned().collect();
    if admitted.count > names.len() {
        names.push(format!("and {} more", admitted.count - names.len()));
    }
    let (resource, origin, why) = match admitted.by {
        Some(p) if !admitted.without_policy => {
            (resource_label(p), p.origin(), "its ALLOW rules admit")
        }
        _ => (
            node_label(callee),
            callee.origin.clone(),
            "no ALLOW policy applies, so it admits",
        ),
    };
    let who = if admitted.count == 1 {
        "a workload that never calls".to_string()
    } else {
        format!("{} workloads that never call", admitted.count)
    };
    AuthorizationAdmitsNonCaller::META.finding(
        resource,
        Some(origin),
        format!("{why} {who} {}: {}", callee.id, names.join(", ")),
        "allow exactly the callers' principals, each caller with a ServiceAccount of its own; \
         a service nobody calls gets `spec: {}`",
    )
}

/// The workloads a service admits: how many, the first few by name, and the policy that
/// admitted them (none when no ALLOW policy applies).
#[derive(Default)]
struct Admitted<'a> {
    count: usize,
    /// (node, workload) already counted.
    seen: BTreeSet<(&'a QualifiedName, &'a str)>,
    /// The first few, in order, with how they are admitted.
    names: BTreeMap<(&'a QualifiedName, &'a str), String>,
    by: Option<&'a IstioResource>,
    without_policy: bool,
    /// Every non-caller is admitted; nothing can add to that.
    all: bool,
}

impl<'a> Admitted<'a> {
    fn add(
        &mut self,
        id: &Identity,
        members: &[Member<'a>],
        allowed: &BTreeSet<&QualifiedName>,
        policy: Option<&'a IstioResource>,
    ) {
        if self.all {
            return;
        }
        // A caller running as the same account is why the account is admitted.
        let shared_with = members
            .iter()
            .find(|m| allowed.contains(m.node))
            .map(|m| format!(", shared with caller {}", m.node));
        for m in members.iter().filter(|m| !allowed.contains(m.node)) {
            if !self.seen.insert((m.node, &m.workload.name)) {
                continue;
            }
            self.count += 1;
            let text = format!(
                "{} {}/{} (as {id}{})",
                m.workload.kind.as_str(),
                m.node.namespace,
                m.workload.name,
                shared_with.as_deref().unwrap_or("")
            );
            self.remember((m.node, &m.workload.name), text);
        }
        self.by = self.by.or(policy);
        self.without_policy |= policy.is_none();
    }

    /// Every workload except the allowed nodes', counted without listing them all.
    fn everyone_but(&mut self, population: &Population<'a>, allowed: &BTreeSet<&QualifiedName>) {
        let inside: usize = allowed
            .iter()
            .filter_map(|n| population.per_node.get(n))
            .sum();
        self.count = population.total - inside;
        self.all = true;
        self.without_policy = true;
        self.names.clear();
        let outside = population
            .by_identity
            .iter()
            .flat_map(|(id, members)| members.iter().map(move |m| (id, m)))
            .filter(|(_, m)| !allowed.contains(m.node));
        for (id, m) in outside.take(SHOWN) {
            let text = format!(
                "{} {}/{} (as {id})",
                m.workload.kind.as_str(),
                m.node.namespace,
                m.workload.name
            );
            self.names.insert((m.node, &m.workload.name), text);
        }
    }

    /// Keeps the first few names in order.
    fn remember(&mut self, key: (&'a QualifiedName, &'a str), text: String) {
        self.names.insert(key, text);
        if self.names.len() > SHOWN {
            if let Some(last) = self.names.keys().next_back().copied() {
                self.names.remove(&last);
            }
        }
    }
}
