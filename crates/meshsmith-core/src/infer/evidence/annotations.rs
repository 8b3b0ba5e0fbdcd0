//! The `meshsmith.dev/calls` annotation -> candidates: calls declared on the workload itself,
//! `host[:port]` items separated by commas.

use super::super::address::{bare_host, find_addresses};
use super::{bare, Candidate, Cx};
use crate::model::*;

/// The annotation that declares calls explicitly: `host[:port]` items, comma-separated.
pub const CALLS_ANNOTATION: &str = "meshsmith.dev/calls";

pub(super) fn candidates(_cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let Some(value) = w
        .pod_annotations
        .get(CALLS_ANNOTATION)
        .or(w.annotations.get(CALLS_ANNOTATION))
    else {
        return Vec::new();
    };
    value
        .split([',', ' ', '\n'])
        .filter(|s| !s.is_empty())
        .filter_map(|item| {
            let mut found = find_addresses(item);
            if found.is_empty() {
                found.extend(bare_host(item).map(bare));
            }
            found.into_iter().next()
        })
        .map(|address| {
            let evidence = Evidence {
                origin: w.origin.clone(),
                kind: HintKind::Annotation,
                detail: format!(
                    "annotation {CALLS_ANNOTATION}: {}",
                    crate::redact::text(value)
                ),
            };
            Candidate::address(wi, address, evidence, Confidence::High)
        })
        .collect()
}
