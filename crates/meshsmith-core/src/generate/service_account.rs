//! ServiceAccounts of their own for callers that share one with workloads that do not call
//! what they call, and the merge patch that moves each such workload to its account.
//!
//! Istio knows a workload only by its ServiceAccount: a policy admitting
//! `<trust-domain>/ns/shop/sa/default` for `orders` admits every pod running as `default`.
//! In: the graph (every workload's account, every edge) and which workloads have a sidecar.
//! Out: [`Identities`], the account each caller presents once the rollout applies it (the
//! AuthorizationPolicies name those), and per moved workload a ServiceAccount named after it
//! (annotated with the workload it is for, which `check` reads) and a patch of its pod
//! template's `serviceAccountName`, never a rewrite of the team's manifests. A Pod or a Job
//! cannot change its account in place: it keeps the shared one, and a note says which
//! workloads that admits and what to do.

use super::{Context, GenerateOptions, Target};
use crate::model::*;
use crate::policy::Policy;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A workload by namespace, kind and name.
type WorkloadKey = (String, WorkloadKind, String);

fn key(ns: &str, w: &WorkloadRef) -> WorkloadKey {
    (ns.to_string(), w.kind, w.name.clone())
}

/// A workload that gets an account of its own, and why.
#[derive(Debug, Clone)]
pub(crate) struct Moved {
    pub account: String,
    /// The account it shared.
    pub previous: String,
    pub why: String,
}

/// The account each caller presents once the rollout has applied the generated accounts.
#[derive(Debug, Default)]
pub(crate) struct Identities {
    moved: HashMap<WorkloadKey, Moved>,
    /// Which shared accounts were split and which could not be.
    pub notes: Vec<String>,
}

impl Identities {
    /// The account `w` (in `ns`) runs as once its patch is applied.
    pub fn account<'a>(&'a self, ns: &str, w: &'a WorkloadRef) -> &'a str {
        if self.moved.is_empty() {
            return &w.service_account;
        }
        self.moved
            .get(&key(ns, w))
            .map_or(&w.service_account, |m| &m.account)
    }

    pub fn moved(&self, ns: &str, w: &WorkloadRef) -> Option<&Moved> {
        self.moved.get(&key(ns, w))
    }

    /// Finds the callers whose account is shared with a workload that does not call one of
    /// their callees, and names an account for each.
    pub fn new(
        topology: &Topology,
        policy: &Policy,
        options: &GenerateOptions,
        callers: &HashMap<&QualifiedName, Vec<&Edge>>,
    ) -> Self {
        let sharing = Sharing::new(topology);
        if sharing.is_empty() {
            return Identities::default();
        }
        let mut weakens = Weakens::new();
        for callee in topology.services.iter() {
            if policy.skips(&callee.id.namespace) || !callee.workloads.iter().any(selectable) {
                continue;
            }
            let edges = callers.get(&callee.id).map_or(&[][..], Vec::as_slice);
            weakened_by(topology, options, &sharing, callee, edges, &mut weakens);
        }
        assign(topology, policy, options, &sharing, weakens)
    }
}

/// (caller node, workload index) -> the callees whose policy its account weakens.
type Weakens<'a> = BTreeMap<(&'a QualifiedName, usize), Vec<&'a QualifiedName>>;

/// The callers of `callee` whose account another service runs as that does not call it on
/// the same port: a rule admitting the account on that port would admit that service too.
fn weakened_by<'a>(
    topology: &'a Topology,
    options: &GenerateOptions,
    sharing: &Sharing,
    callee: &'a MeshService,
    edges: &[&'a Edge],
    out: &mut Weakens<'a>,
) {
    let mut by_port: BTreeMap<u16, HashSet<&QualifiedName>> = BTreeMap::new();
    for e in edges.iter().filter(|e| e.from != callee.id) {
        for port in super::outside::edge_ports(callee, e) {
            by_port.entry(port).or_default().insert(&e.from);
        }
    }
    for (_, mut allowed) in by_port {
        let callers: Vec<&QualifiedName> = allowed.iter().copied().collect();
        allowed.insert(&callee.id);
        for node in callers {
            let Some(caller) = topology.service(node) else {
                continue;
            };
            let ns = caller.id.namespace.as_str();
            for (i, w) in caller.workloads.iter().enumerate() {
                if options.sidecarless(ns, w).is_some() {
                    continue;
                }
                if sharing.outside(ns, &w.service_account, &allowed) > 0 {
                    let found = out.entry((&caller.id, i)).or_default();
                    if !found.contains(&&callee.id) {
                        found.push(&callee.id);
                    }
                }
            }
        }
    }
}

/// Only a workload with labels gets a policy whose principals could be weakened.
fn selectable(w: &WorkloadRef) -> bool {
    !w.selector.is_empty()
}

/// The nodes running as each account, and the accounts taken in each namespace.
struct Sharing<'a> {
    /// (namespace, account) -> the nodes with a workload running as it, when more than one.
    shared: HashMap<(&'a str, &'a str), HashSet<&'a QualifiedName>>,
    taken: HashSet<(&'a str, &'a str)>,
}

impl<'a> Sharing<'a> {
    fn new(topology: &'a Topology) -> Self {
        let mut nodes: HashMap<(&str, &str), HashSet<&QualifiedName>> = HashMap::new();
        for s in &topology.services {
            for w in &s.workloads {
                nodes
                    .entry((s.id.namespace.as_str(), w.service_account.as_str()))
                    .or_default()
                    .insert(&s.id);
            }
        }
        let taken = nodes.keys().copied().collect();
        nodes.retain(|_, n| n.len() > 1);
        Sharing {
            shared: nodes,
            taken,
        }
    }

    fn is_empty(&self) -> bool {
        self.shared.is_empty()
    }

    /// How many nodes run as the account besides the `allowed` ones.
    fn outside(&self, ns: &str, account: &str, allowed: &HashSet<&QualifiedName>) -> usize {
        self.shared.get(&(ns, account)).map_or(0, |nodes| {
            let inside = allowed.iter().filter(|n| nodes.contains(*n)).count();
            nodes.len() - inside
        })
    }

    fn nodes(&self, ns: &str, account: &str) -> usize {
        self.shared.get(&(ns, account)).map_or(0, HashSet::len)
    }
}

/// Names an account for each caller whose shared account weakens a policy, in the graph's
/// order; notes each split account and each workload that cannot move.
fn assign(
    topology: &Topology,
    policy: &Policy,
    options: &GenerateOptions,
    sharing: &Sharing,
    weakens: Weakens,
) -> Identities {
    let mut out = Identities::default();
    let mut names: HashSet<(String, String)> = options.service_accounts.iter().cloned().collect();
    names.extend(
        sharing
            .taken
            .iter()
            .map(|(ns, a)| (ns.to_string(), a.to_string())),
    );
    let mut split: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for ((node, i), callees) in weakens {
        let Some(w) = topology.service(node).and_then(|s| s.workloads.get(i)) else {
            continue;
        };
        let ns = node.namespace.as_str();
        let others = sharing.nodes(ns, &w.service_account).saturating_sub(1);
        let names_of: Vec<String> = callees.iter().map(|c| c.to_string()).collect();
        if policy.skips(ns) {
            // No configuration is generated there, so nothing could move it.
            continue;
        }
        if !WorkloadPatchSpec::patchable(w.kind) {
            out.notes.push(format!(
                "{node}: {} {} runs as ServiceAccount {}, which {others} other service(s) share; \
                 the AuthorizationPolicies of {} admit them with it. A {}'s pods cannot change \
                 account in place: recreate it with a ServiceAccount of its own, then generate again",
                w.kind.as_str(),
                w.name,
                w.service_account,
                names_of.join(", "),
                w.kind.as_str()
            ));
            continue;
        }
        let Some(account) = free_name(ns, &w.name, &mut names) else {
            continue;
        };
        split
            .entry((ns, w.service_account.as_str()))
            .or_default()
            .push(format!("{} {} -> {account}", w.kind.as_str(), w.name));
        let why = format!(
            "{} {} ran as ServiceAccount {}, which {} other service(s) also run as; a policy \
             admitting it for this caller (in {}) would admit them too",
            w.kind.as_str(),
            w.name,
            w.service_account,
            others,
            names_of.join(", ")
        );
        out.moved.insert(
            key(ns, w),
            Moved {
                account,
                previous: w.service_account.clone(),
                why,
            },
        );
    }
    for ((ns, account), moved) in split {
        out.notes.push(format!(
            "{ns}: ServiceAccount {account} is shared by {} services; callers that share it get one of their own \
             ({}). A new account has none of {account}'s RoleBindings, image pull secrets or cloud identity \
             annotations: copy those the workload needs before the plan applies it",
            sharing.nodes(ns, account),
            moved.join(", ")
        ));
    }
    out
}

/// The workload's name as an account name, else with a suffix, never one already taken in
/// the namespace (by a workload or an account of the manifests, or a generated one).
fn free_name(ns: &str, workload: &str, taken: &mut HashSet<(String, String)>) -> Option<String> {
    let candidates = std::iter::once(workload.to_string())
        .chain(std::iter::once(format!("{workload}-identity")))
        .chain((2..100).map(|n| format!("{workload}-identity-{n}")));
    for name in candidates {
        // A ServiceAccount name is a DNS subdomain: at most 253 characters.
        if name.len() > 253 {
            return None;
        }
        if taken.insert((ns.to_string(), name.clone())) {
            return Some(name);
        }
    }
    None
}

/// The ServiceAccount and the pod-template patch of each moved workload of `targets`.
pub(crate) fn build(cx: &Context, targets: &[Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        let ns = s.id.namespace.as_str();
        for w in &s.workloads {
            let Some(moved) = cx.identities.moved(ns, w) else {
                continue;
            };
            let mut account = cx.resource(
                Kind::ServiceAccount,
                &moved.account,
                &s.id,
                Spec::ServiceAccount,
            );
            account.annotations.insert(
                ACCOUNT_FOR_ANNOTATION.to_string(),
                format!("{}/{}", w.kind.as_str(), w.name),
            );
            account.reasons = cx.kept(|| {
                vec![Reason::new(
                    "metadata.name",
                    &moved.account,
                    format!("an identity of its own: {}", moved.why),
                )]
            });
            out.resources.push(Box::new(account));
            let previous = (moved.previous != "default").then(|| moved.previous.clone());
            let spec = WorkloadPatchSpec {
                workload_kind: w.kind,
                workload: w.name.clone(),
                service_account: moved.account.clone(),
                previous,
            };
            let mut patch = cx.resource(
                Kind::WorkloadPatch,
                &w.name,
                &s.id,
                Spec::WorkloadPatch(spec),
            );
            patch.reasons = cx.kept(|| {
                vec![Reason::new(
                    "spec.template.spec.serviceAccountName",
                    &moved.account,
                    format!("was {}: {}", moved.previous, moved.why),
                )]
            });
            out.resources.push(Box::new(patch));
        }
    }
}
