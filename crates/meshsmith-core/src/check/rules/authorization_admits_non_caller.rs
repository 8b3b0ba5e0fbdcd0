//! Rule MS323 `authorization-admits-non-caller`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS323`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{node_label, resource_label, workload_in_mesh};
use crate::check::macros::declare_rule;
use crate::check::reachability::{Evaluator, Identity, Verdict};
use crate::check::rules::authorization_blocks_edge::identities;
use crate::check::Context;
use crate::model::{Finding, IstioResource, WorkloadRef};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it does
    /// Evaluates, for each service with workloads, whether the identities of the other
    /// workloads in the inventory that do not call it (no edge in the service graph) are
    /// still allowed by the AuthorizationPolicies that apply to it, and reports the service
    /// with the identities it admits. With no ALLOW policy at all, every identity is admitted.
    /// Workloads without a sidecar enforce no policy and are skipped.
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
    let evaluator = Evaluator::new(&ctx.index, ctx.config);
    let everyone: BTreeSet<Identity> = ctx.topology.services.iter().flat_map(identities).collect();
    for callee in ctx
        .topology
        .services
        .iter()
        // Whom a service whose callers are not known should admit is not known either: its
        // policy stays in dry-run on purpose (MS208-MS211 say why).
        .filter(|n| !n.workloads.is_empty() && n.callers.is_known())
    {
        let mut expected: BTreeSet<Identity> = identities(callee).into_iter().collect();
        for edge in ctx.index.callers(&callee.id) {
            if let Some(caller) = ctx.topology.service(&edge.from) {
                expected.extend(identities(caller));
            }
        }
        let mut admitted = Admitted::default();
        let in_mesh = |w: &&WorkloadRef| workload_in_mesh(&ctx.index, &callee.id.namespace, w);
        for w in callee.workloads.iter().filter(in_mesh) {
            let applicable = evaluator.applicable(&callee.id.namespace, &w.pod_labels);
            if applicable.is_empty() {
                // Nothing applies: everyone is admitted, no need to ask one by one.
                admitted.everyone_but(&everyone, &expected);
                continue;
            }
            // Exact principals bound what ALLOW can admit; otherwise try every identity.
            let candidates: Vec<&Identity> = match evaluator.admissible(&applicable) {
                Some(list) => list.iter().filter_map(|id| everyone.get(id)).collect(),
                None => everyone.iter().collect(),
            };
            for id in candidates.into_iter().filter(|id| !expected.contains(*id)) {
                if let Verdict::Allowed(policy) = evaluator.decide(&applicable, id, None) {
                    admitted.add(id, policy);
                }
            }
        }
        if admitted.count == 0 {
            continue;
        }
        let mut names: Vec<String> = admitted.names.iter().map(Identity::to_string).collect();
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
            "an identity that never calls".to_string()
        } else {
            format!("{} identities that never call", admitted.count)
        };
        out.push(AuthorizationAdmitsNonCaller::META.finding(
            resource,
            Some(origin),
            format!("{why} {who} {}: {}", callee.id, names.join(", ")),
            "allow exactly the callers' principals; a service nobody calls gets `spec: {}`",
        ));
    }
}

/// The identities a service admits: how many, the first few by name, and the policy that
/// admitted them (none when no ALLOW policy applies).
#[derive(Default)]
struct Admitted<'a> {
    count: usize,
    seen: BTreeSet<Identity>,
    names: BTreeSet<Identity>,
    by: Option<&'a IstioResource>,
    without_policy: bool,
    /// Every non-caller is admitted; nothing can add to that.
    all: bool,
}

impl<'a> Admitted<'a> {
    fn add(&mut self, id: &Identity, policy: Option<&'a IstioResource>) {
        if self.all || !self.seen.insert(id.clone()) {
            return;
        }
        self.count += 1;
        self.remember(id);
        self.by = self.by.or(policy);
        self.without_policy |= policy.is_none();
    }

    /// Everyone except `expected`, counted without listing them all.
    fn everyone_but(&mut self, everyone: &BTreeSet<Identity>, expected: &BTreeSet<Identity>) {
        let known_expected = expected.iter().filter(|e| everyone.contains(*e)).count();
        self.count = everyone.len() - known_expected;
        self.all = true;
        self.without_policy = true;
        self.names.clear();
        for id in everyone.difference(expected).take(SHOWN) {
            self.remember(id);
        }
    }

    /// Keeps the first few names in order.
    fn remember(&mut self, id: &Identity) {
        self.names.insert(id.clone());
        if self.names.len() > SHOWN {
            if let Some(last) = self.names.iter().next_back().cloned() {
                self.names.remove(&last);
            }
        }
    }
}
