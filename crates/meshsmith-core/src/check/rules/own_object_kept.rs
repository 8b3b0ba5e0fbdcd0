//! Rule MS342 `own-object-kept`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS342`, the SARIF rule metadata and the generated docs read it. It
//! reports what `generate` left to the manifests' own objects (handed in through
//! [`CheckConfig::kept`](crate::check::CheckConfig)); the rule does not generate anything
//! itself: the binary wires the stages.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports each object meshsmith did not generate because the manifests already hold one
    /// that governs the same thing: a PeerAuthentication or Sidecar selecting the same
    /// workload, a DestinationRule for the same host, a VirtualService routing the same host
    /// for the sidecars, or any Istio object of the same kind, namespace and name. It says
    /// what meshsmith's object would have set.
    ///
    /// ## Why it matters
    /// Istio does not merge two such objects: one silently loses, and applying meshsmith's of
    /// the same name would replace the team's (a rollback would then delete it). So the
    /// team's object stays the truth, and the settings meshsmith would have given that
    /// workload or host (STRICT mTLS, a circuit breaker, a timeout) do not apply there
    /// unless someone carries them over.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PeerAuthentication
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   selector: {matchLabels: {app: api}}
    ///   mtls: {mode: PERMISSIVE}      # meshsmith would have set STRICT
    /// ```
    ///
    /// ## Fix
    /// Carry the values meshsmith names over into your object where they fit, or remove your
    /// object and generate again to let meshsmith's apply.
    ///
    /// ## istioctl
    /// Not mapped. istioctl sees only the objects that are applied.
    pub struct OwnObjectKept {
        code: "MS342",
        name: "own-object-kept",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for k in &ctx.config.kept {
        out.push(OwnObjectKept::META.finding(
            format!("{} {}/{}", k.kind.as_str(), k.object.namespace, k.object.name),
            Some(k.origin.clone()),
            format!(
                "the manifests' {} {}/{} is kept for {}, and meshsmith's {} {}/{} is not written: \
                 {}; it would have set {}",
                k.kind.as_str(),
                k.object.namespace,
                k.object.name,
                k.service,
                k.kind.as_str(),
                k.instead_of.namespace,
                k.instead_of.name,
                k.why,
                k.would_set
            ),
            "carry those values over into your object where they fit, or remove it and generate again",
        ));
    }
}
