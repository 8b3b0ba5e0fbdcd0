//! Rule MS214 `suggested-call-not-observed`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS214`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::callers::service_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a call the manifests suggest that the traffic (`--traffic`) never showed over
    /// its whole window. A low-confidence call into a service the traffic covers is left out
    /// of the graph, and so of the enforced AuthorizationPolicy; a high-confidence one stays.
    ///
    /// ## Why it matters
    /// Either the setting is unused (a decoy: an address configured but never called), or the
    /// call is rare (a monthly job) and the window missed it. Admitting an unused caller widens
    /// the policy; denying a rare one breaks it.
    ///
    /// ## Example
    /// ```yaml
    /// env: [{name: LEGACY_URL, value: "http://legacy-api:8080"}]   # never called
    /// ```
    ///
    /// ## Fix
    /// Remove the unused setting, or confirm the rare call in the policy file.
    pub struct SuggestedCallNotObserved {
        code: "MS214",
        name: "suggested-call-not-observed",
        severity: Info,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(traffic) = &ctx.topology.traffic else {
        return;
    };
    for u in &traffic.unseen {
        let effect = if u.dropped {
            "left out of the graph and of the enforced policy"
        } else {
            "kept: its evidence is high-confidence"
        };
        out.push(SuggestedCallNotObserved::META.finding(
            service_label(ctx, &u.to),
            u.evidence.as_ref().map(|e| e.origin.clone()),
            format!(
                "{} -> {} ({} confidence{}) was never seen in the traffic; {effect}",
                u.from,
                u.to,
                u.confidence.as_str(),
                u.evidence
                    .as_ref()
                    .map_or_else(String::new, |e| format!(", {}", e.detail))
            ),
            "remove the unused setting, or confirm the call in the policy file if it is rare",
        ));
    }
}
