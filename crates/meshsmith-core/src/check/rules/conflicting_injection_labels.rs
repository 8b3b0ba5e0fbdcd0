//! Rule MS105 `conflicting-injection-labels`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS105`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::rules::namespace_not_injected::ignored_by_istio;
use crate::check::Context;
use crate::model::{Finding, StringMap};

declare_rule! {
    /// ## What it does
    /// Reports namespaces with more than one kind of injection label: `istio-injection`
    /// together with `istio.io/rev` or `istio.io/dataplane-mode`, or those two together. A
    /// namespace labelled `istio-injection` with any value but `enabled` has opted out, and
    /// its other labels do not conflict with that. The root namespace and the namespaces
    /// Istio never reads are left alone.
    ///
    /// ## Why it matters
    /// The labels select different injector webhooks or data planes; with two, which one
    /// injects (and which proxy the pods get, or whether they get a sidecar or ambient
    /// redirection) depends on the installation, not on the namespace.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels:
    ///     istio-injection: enabled
    ///     istio.io/rev: canary
    /// ```
    ///
    /// ## Fix
    /// Keep one: `istio.io/rev` for revision-based installs, `istio.io/dataplane-mode: ambient`
    /// for ambient, `istio-injection` otherwise.
    ///
    /// ## istioctl
    /// `injection.Analyzer` (IST0123).
    pub struct ConflictingInjectionLabels {
        code: "MS105",
        name: "conflicting-injection-labels",
        severity: Warning,
        istio: Some("IST0123"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for ns in &ctx.inventory.namespaces {
        if ns.name == ctx.config.root_namespace || ignored_by_istio(&ns.name) {
            continue;
        }
        let labels = injection_labels(&ns.labels);
        if labels.len() < 2 {
            continue;
        }
        out.push(ConflictingInjectionLabels::META.finding(
            format!("Namespace {}", ns.name),
            Some(ns.origin.clone()),
            format!(
                "namespace {} has more than one kind of injection label: {}",
                ns.name,
                labels.join(", ")
            ),
            "remove all but one of them",
        ));
    }
}

/// The injection labels that take effect: `istio-injection`, and `istio.io/rev` and
/// `istio.io/dataplane-mode` unless `istio-injection` opts the namespace out.
fn injection_labels(labels: &StringMap) -> Vec<String> {
    let injection = labels.get("istio-injection");
    let mut found: Vec<String> = injection
        .map(|v| format!("istio-injection={v}"))
        .into_iter()
        .collect();
    if injection.is_none_or(|v| v == "enabled") {
        for key in ["istio.io/rev", "istio.io/dataplane-mode"] {
            if let Some(v) = labels.get(key) {
                found.push(format!("{key}={v}"));
            }
        }
    }
    found
}
