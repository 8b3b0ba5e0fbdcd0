//! Rule MS106 `implicit-sidecar-injection`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS106`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{namespace_opted_out, sidecar_choice};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports workloads whose pod template does not say whether it wants a sidecar
    /// (`sidecar.istio.io/inject` is written neither as a label nor as an annotation). Namespaces labelled
    /// `istio-injection=disabled` have decided for their workloads and are skipped.
    ///
    /// ## Why it matters
    /// Injection then depends on namespace labels and on the injector's defaults, which differ
    /// between clusters and change during a rollout. A workload that silently stays out of the
    /// mesh is cut off when its callees go STRICT.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: orders}
    /// ```
    ///
    /// ## Fix
    /// Write the intent on the pod template: `sidecar.istio.io/inject: "true"` (or `"false"`).
    pub struct ImplicitSidecarInjection {
        code: "MS106",
        name: "implicit-sidecar-injection",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        // A namespace labelled istio-injection=disabled has decided for its workloads.
        if namespace_opted_out(&ctx.index, &node.id.namespace) {
            continue;
        }
        for w in node
            .workloads
            .iter()
            .filter(|w| sidecar_choice(w).is_none())
        {
            out.push(ImplicitSidecarInjection::META.finding(
                format!("{} {}/{}", w.kind.as_str(), node.id.namespace, w.name),
                Some(w.origin.clone()),
                format!(
                    "{} {} does not say whether it wants a sidecar",
                    w.kind.as_str(),
                    w.name
                ),
                "add `sidecar.istio.io/inject: \"true\"` to the pod template's annotations",
            ));
        }
    }
}
