//! Traffic facts applied to the graph: calls the manifests suggest that the traffic never
//! showed (reported; a low-confidence one into a service the traffic covered is left out of
//! the graph, so no enforced policy admits it), and the [`TrafficReport`] with names that
//! matched nothing, callers from outside the mesh and dry-run denials.

use super::completeness::Coverage;
use super::evidence::traffic::TrafficFacts;
use crate::model::*;
use std::collections::BTreeSet;

/// Splits off the unseen calls and builds the report. `edges` keep their node indexes.
pub(crate) fn apply<'a>(
    facts: &TrafficFacts,
    traffic: &Traffic,
    services: &'a [MeshService],
    edges: &mut Vec<(usize, usize, Edge)>,
) -> (TrafficReport, Coverage<'a>) {
    let called: BTreeSet<usize> = facts.called.iter().copied().collect();
    let mut unseen = Vec::new();
    edges.retain(|(_, to, e)| {
        if e.observed.is_some() {
            return true;
        }
        let dropped = e.confidence == Confidence::Low && called.contains(to);
        unseen.push(UnseenCall {
            from: e.from.clone(),
            to: e.to.clone(),
            confidence: e.confidence,
            dropped,
            evidence: e.evidence.first().cloned(),
        });
        !dropped
    });
    let id = |n: usize| services[n].id.clone();
    let mut report = TrafficReport {
        sources: traffic.sources.clone(),
        unmatched: facts.unmatched.clone(),
        outside: facts
            .outside
            .iter()
            .map(|(n, (requests, origin))| OutsideCallers {
                service: id(*n),
                requests: *requests,
                origin: origin.clone(),
            })
            .collect(),
        unseen,
        shadow_denied: facts
            .shadow
            .iter()
            .map(|(n, caller, requests, origin)| ShadowDenial {
                service: id(*n),
                caller: caller.clone(),
                requests: *requests,
                origin: origin.clone(),
            })
            .collect(),
        called: facts.called.iter().map(|n| id(*n)).collect(),
        calling: facts.calling.iter().map(|n| id(*n)).collect(),
    };
    report.outside.sort();
    report.unseen.sort();
    report.shadow_denied.sort();
    report.called.sort();
    report.calling.sort();
    let mut coverage = Coverage {
        given: true,
        ..Coverage::default()
    };
    coverage.calling = facts
        .calling
        .iter()
        .chain(&facts.reporting)
        .map(|n| &services[*n].id)
        .collect();
    for (n, caller, requests, origin) in &facts.shadow {
        if caller.is_none() {
            let entry = coverage
                .unidentified_denials
                .entry(&services[*n].id)
                .or_insert((0, origin.clone()));
            entry.0 += requests;
        }
    }
    (report, coverage)
}
