//! Edges + hidden-call signals + traffic coverage -> how completely each service's callers are
//! known ([`CallerKnowledge`]), with the reasons and the check code that reports each.
//!
//! - `unknown` (MS208): a Service nothing calls and nothing exposes: something probably calls it.
//! - `partial` (MS209): a workload whose outbound calls are hidden could reach it (same
//!   namespace, or a namespace it visibly calls into), unless traffic showed that workload's
//!   calls; (MS210) a caller read from low-confidence evidence that traffic did not confirm;
//!   (MS211) a dry-run policy would have denied requests from a caller nobody identified.
//! - `known`: none of these. A workload no Service selects cannot be called by name; the
//!   policy file can confirm a service's callers, which settles it.

use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const UNCALLED: &str = "MS208";
pub(crate) const HIDDEN_CALLER: &str = "MS209";
pub(crate) const LOW_CONFIDENCE: &str = "MS210";
pub(crate) const DRY_RUN_DENIED: &str = "MS211";

/// What the traffic covered, when traffic was given.
#[derive(Default)]
pub(crate) struct Coverage<'a> {
    pub given: bool,
    /// Nodes whose outbound calls the traffic shows: seen calling out, or their own proxy
    /// reported (it would have reported their calls out too).
    pub calling: BTreeSet<&'a QualifiedName>,
    /// Nodes with requests a dry-run policy would have denied from unidentified callers.
    pub unidentified_denials: BTreeMap<&'a QualifiedName, (u64, Origin)>,
}

pub(crate) fn assess(
    services: &[MeshService],
    edges: &[Edge],
    confirmed: &BTreeMap<QualifiedName, String>,
    coverage: &Coverage,
) -> Vec<CallerKnowledge> {
    let index: BTreeMap<&QualifiedName, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.id, i))
        .collect();
    let mut callers: Vec<Vec<&Edge>> = vec![Vec::new(); services.len()];
    for e in edges {
        if let Some(&i) = index.get(&e.to) {
            callers[i].push(e);
        }
    }
    let reach = hidden_reach(services, edges, coverage);
    services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if let Some(basis) = confirmed.get(&s.id) {
                return CallerKnowledge::known(basis);
            }
            let hidden = reach.get(&s.id).map_or(&[][..], Vec::as_slice);
            assess_one(s, &callers[i], hidden, coverage)
        })
        .collect()
}

fn assess_one(
    s: &MeshService,
    callers: &[&Edge],
    hidden: &[(&QualifiedName, &HiddenCalls)],
    coverage: &Coverage,
) -> CallerKnowledge {
    if s.service.is_none() || s.external_name.is_some() || s.workloads.is_empty() {
        return CallerKnowledge::known("no Service selects it: nothing can call it by name");
    }
    let mut reasons = Vec::new();
    let exposed = s.exposure.is_exposed();
    if callers.is_empty() && !exposed {
        let traffic = if coverage.given {
            ", and the traffic shows no caller in the mesh either"
        } else {
            ""
        };
        reasons.push(CompletenessReason {
            code: UNCALLED,
            message: format!(
                "nothing in the manifests calls it and nothing exposes it{traffic}; a Service exists, so something probably does"
            ),
            origin: Some(s.origin.clone()),
        });
    }
    for e in callers.iter().filter(|e| e.confidence == Confidence::Low) {
        let evidence = e.evidence.first();
        reasons.push(CompletenessReason {
            code: LOW_CONFIDENCE,
            message: format!(
                "its caller {} is read from low-confidence evidence{}",
                e.from,
                evidence.map_or_else(String::new, |ev| format!(" ({})", ev.detail))
            ),
            origin: evidence.map(|ev| ev.origin.clone()),
        });
    }
    // A few are enough to say why; the rest are counted.
    const SHOWN: usize = 3;
    for (from, h) in hidden.iter().take(SHOWN) {
        reasons.push(CompletenessReason {
            code: HIDDEN_CALLER,
            message: format!("{from} may call it unseen: {} ({})", h.why, h.signal),
            origin: Some(h.origin.clone()),
        });
    }
    if hidden.len() > SHOWN {
        reasons.push(CompletenessReason {
            code: HIDDEN_CALLER,
            message: format!(
                "and {} other workload(s) whose calls are hidden may call it",
                hidden.len() - SHOWN
            ),
            origin: None,
        });
    }
    if let Some((n, origin)) = coverage.unidentified_denials.get(&s.id) {
        reasons.push(CompletenessReason {
            code: DRY_RUN_DENIED,
            message: format!(
                "its dry-run policy would have denied {n} request(s) from a caller the traffic does not identify"
            ),
            origin: Some(origin.clone()),
        });
    }
    if reasons.is_empty() {
        let basis = if callers.is_empty() {
            "only reached from outside the cluster (ingress or its own LoadBalancer/NodePort), and nothing else calls it"
        } else if callers.iter().all(|e| e.confidence == Confidence::Observed) {
            "every caller was observed in traffic"
        } else {
            "every caller has high-confidence evidence and nothing suggests another"
        };
        return CallerKnowledge::known(basis);
    }
    reasons.sort();
    let level = if reasons.iter().any(|r| r.code == UNCALLED) {
        Completeness::Unknown
    } else {
        Completeness::Partial
    };
    CallerKnowledge {
        level,
        reasons,
        basis: String::new(),
    }
}

/// Per service, the nodes with hidden outbound calls that could reach it: services of their
/// own namespace and of namespaces they visibly call into. A node whose calls the traffic
/// shows is no longer hidden: the window shows what it calls, or that it calls nothing.
fn hidden_reach<'a>(
    services: &'a [MeshService],
    edges: &'a [Edge],
    coverage: &Coverage,
) -> BTreeMap<QualifiedName, Vec<(&'a QualifiedName, &'a HiddenCalls)>> {
    let mut namespaces: BTreeMap<&QualifiedName, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        namespaces
            .entry(&e.from)
            .or_default()
            .insert(e.to.namespace.as_str());
    }
    let mut by_namespace: BTreeMap<&str, Vec<&MeshService>> = BTreeMap::new();
    for s in services.iter().filter(|s| s.service.is_some()) {
        by_namespace.entry(&s.id.namespace).or_default().push(s);
    }
    let mut out: BTreeMap<QualifiedName, Vec<(&QualifiedName, &HiddenCalls)>> = BTreeMap::new();
    for w in services.iter().filter(|s| !s.hidden_calls.is_empty()) {
        if coverage.calling.contains(&w.id) {
            continue;
        }
        let mut reach: BTreeSet<&str> = namespaces.get(&w.id).cloned().unwrap_or_default();
        reach.insert(&w.id.namespace);
        for ns in reach {
            for s in by_namespace.get(ns).into_iter().flatten() {
                if s.id != w.id {
                    out.entry(s.id.clone())
                        .or_default()
                        .push((&w.id, &w.hidden_calls[0]));
                }
            }
        }
    }
    out
}
