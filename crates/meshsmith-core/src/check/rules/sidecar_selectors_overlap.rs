//! Rule MS333 `sidecar-selectors-overlap`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS333`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{resource_label, selector_matches};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::inventory::string_map;
use crate::model::{Finding, IstioResource};
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it does
    /// Reports Sidecars whose `workloadSelector` selects a workload that another Sidecar of
    /// the same namespace selects too.
    ///
    /// ## Why it matters
    /// A proxy takes one Sidecar, and which one is not defined: the egress scoping, ingress
    /// ports and outbound traffic policy the workload runs with can change from one istiod
    /// restart to the next.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Sidecar
    /// metadata: {name: orders, namespace: shop}
    /// spec:
    ///   workloadSelector: {labels: {app: orders}}
    /// ---
    /// kind: Sidecar
    /// metadata: {name: orders-egress, namespace: shop}
    /// spec:
    ///   workloadSelector: {labels: {app: orders, tier: backend}}   # the same pods
    /// ```
    ///
    /// ## Fix
    /// Merge them into one Sidecar per workload, or make the selectors disjoint.
    ///
    /// ## istioctl
    /// `sidecar.SelectorAnalyzer` (IST0110).
    pub struct SidecarSelectorsOverlap {
        code: "MS333",
        name: "sidecar-selectors-overlap",
        severity: Error,
        istio: Some("IST0110"),
    }
}

/// Pods in ambient mode take no Sidecar at all.
pub fn ambient(annotations: &crate::model::StringMap) -> bool {
    annotations.get("ambient.istio.io/redirection") == Some("enabled")
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    // Workload (kind/name) -> the Sidecars with a selector that select it, per namespace.
    let mut selected: BTreeMap<(&str, String), Vec<&IstioResource>> = BTreeMap::new();
    for sidecar in ctx.index.istio_kind("Sidecar") {
        let labels = string_map(sidecar.spec().path(&["workloadSelector", "labels"]));
        if labels.is_empty() {
            continue;
        }
        for w in ctx.index.workloads_in(&sidecar.namespace) {
            if selector_matches(&labels, &w.pod_labels) && !ambient(&w.pod_annotations) {
                let key = (
                    w.namespace.as_str(),
                    format!("{} {}", w.kind.as_str(), w.name),
                );
                selected.entry(key).or_default().push(sidecar);
            }
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for ((namespace, workload), sidecars) in selected {
        if sidecars.len() < 2 {
            continue;
        }
        let names: Vec<&str> = sidecars.iter().map(|s| s.name.as_str()).collect();
        for sidecar in &sidecars {
            if !reported.insert((sidecar.namespace.as_str(), sidecar.name.as_str())) {
                continue;
            }
            out.push(SidecarSelectorsOverlap::META.finding(
                resource_label(sidecar),
                Some(sidecar.origin_at(sidecar.spec().at("workloadSelector"))),
                format!(
                    "Sidecars {} in namespace {namespace} all select {workload}; it gets one \
                     of them, which one is not defined",
                    names.join(", ")
                ),
                "keep one Sidecar per workload, or make the selectors disjoint",
            ));
        }
    }
}
