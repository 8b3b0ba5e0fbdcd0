//! Rule MS105 `conflicting-injection-labels`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS105`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports namespaces labelled both `istio-injection` and `istio.io/rev`.
    ///
    /// ## Why it matters
    /// The two labels select different injector webhooks; with both, which one injects (and
    /// which proxy version the pods get) depends on the installation, not on the namespace.
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
    /// Keep one: `istio.io/rev` for revision-based installs, `istio-injection` otherwise.
    pub struct ConflictingInjectionLabels {
        code: "MS105",
        name: "conflicting-injection-labels",
        severity: Warning,
        istio: Some("IST0123"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for ns in &ctx.inventory.namespaces {
        let (Some(injection), Some(rev)) = (
            ns.labels.get("istio-injection"),
            ns.labels.get("istio.io/rev"),
        ) else {
            continue;
        };
        out.push(ConflictingInjectionLabels::META.finding(
            format!("Namespace {}", ns.name),
            Some(ns.origin.clone()),
            format!(
                "namespace {} has both istio-injection={injection} and istio.io/rev={rev}",
                ns.name
            ),
            "remove one of the two labels",
        ));
    }
}
