//! Rule MS215 `enforced-on-unknown-callers`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS215`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::hosts::{policy_selector, resource_label, selector_matches};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, DRY_RUN_ANNOTATION};

declare_rule! {
    /// ## What it does
    /// Reports an enforced ALLOW AuthorizationPolicy (hand-written, or generated with
    /// `--enforce-unverified`) on a workload whose callers are not known (MS208, MS209,
    /// MS210, MS211).
    ///
    /// ## Why it matters
    /// A caller the graph does not show is denied the moment the policy applies: an outage
    /// caused by the policy meant to prevent one. A guess must not be enforced.
    ///
    /// ## Example
    /// ```yaml
    /// kind: AuthorizationPolicy
    /// metadata: {name: reviews}     # nothing shows who calls reviews
    /// spec: {selector: {matchLabels: {app: reviews}}, action: ALLOW, rules: [...]}
    /// ```
    ///
    /// ## Fix
    /// Put it in dry-run (`istio.io/dry-run: "true"`) until traffic or the policy file shows
    /// every caller, then enforce it.
    pub struct EnforcedOnUnknownCallers {
        code: "MS215",
        name: "enforced-on-unknown-callers",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for s in ctx
        .topology
        .services
        .iter()
        .filter(|s| !s.callers.is_known())
    {
        for p in ctx.index.istio("AuthorizationPolicy", &s.id.namespace) {
            let spec = p.spec();
            let allow = spec.at("action").as_str().is_none_or(|a| a == "ALLOW");
            let dry_run = p.annotations.get(DRY_RUN_ANNOTATION) == Some("true");
            let Some(selector) = policy_selector(spec) else {
                continue;
            };
            let selects = s
                .workloads
                .iter()
                .any(|w| selector_matches(&selector, &w.pod_labels));
            if !allow || dry_run || !selects {
                continue;
            }
            out.push(EnforcedOnUnknownCallers::META.finding(
                resource_label(p),
                Some(p.origin()),
                format!(
                    "{} enforces an ALLOW policy on {}, whose callers are {}: {}",
                    resource_label(p),
                    s.id,
                    s.callers.level.as_str(),
                    s.callers.summary()
                ),
                "annotate it `istio.io/dry-run: \"true\"` until traffic or the policy file shows every caller",
            ));
        }
    }
}
