//! Rule MS334 `several-default-sidecars`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS334`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::inventory::string_map;
use crate::model::{Finding, IstioResource};
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it does
    /// Reports namespaces with more than one Sidecar without a `workloadSelector` (each is
    /// the namespace's default). Namespaces in ambient mode are left alone.
    ///
    /// ## Why it matters
    /// Every proxy of the namespace without a Sidecar of its own takes one of the defaults,
    /// and which one is not defined, so their egress scope can change between istiod
    /// restarts.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Sidecar
    /// metadata: {name: default, namespace: shop}
    /// spec: {egress: [{hosts: ["./*"]}]}
    /// ---
    /// kind: Sidecar
    /// metadata: {name: egress, namespace: shop}
    /// spec: {egress: [{hosts: ["istio-system/*"]}]}   # a second default
    /// ```
    ///
    /// ## Fix
    /// Merge them into one Sidecar without a selector, or give the others selectors.
    ///
    /// ## istioctl
    /// `sidecar.SelectorAnalyzer` (IST0111).
    pub struct SeveralDefaultSidecars {
        code: "MS334",
        name: "several-default-sidecars",
        severity: Error,
        istio: Some("IST0111"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let mut defaults: BTreeMap<&str, Vec<&IstioResource>> = BTreeMap::new();
    for sidecar in ctx.index.istio_kind("Sidecar") {
        let labels = string_map(sidecar.spec().path(&["workloadSelector", "labels"]));
        if labels.is_empty() {
            defaults
                .entry(&sidecar.namespace)
                .or_default()
                .push(sidecar);
        }
    }
    for (namespace, sidecars) in defaults {
        let ambient = ctx.inventory.namespace(namespace).is_some_and(|ns| {
            ns.labels.get("istio.io/dataplane-mode") == Some("ambient")
                && ns.labels.get("istio-injection") != Some("enabled")
                && ns.labels.get("istio.io/rev").is_none_or(str::is_empty)
        });
        if sidecars.len() < 2 || ambient {
            continue;
        }
        let names: Vec<&str> = sidecars.iter().map(|s| s.name.as_str()).collect();
        for sidecar in sidecars {
            out.push(SeveralDefaultSidecars::META.finding(
                resource_label(sidecar),
                Some(sidecar.origin()),
                format!(
                    "Sidecars {} in namespace {namespace} have no workloadSelector; each \
                     proxy takes one of them, which one is not defined",
                    names.join(", ")
                ),
                "keep one Sidecar without a selector per namespace",
            ));
        }
    }
}
