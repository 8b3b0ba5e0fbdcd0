//! PeerAuthentication per workload: STRICT, except where a workload must take plain traffic
//! from outside the mesh (an inferred webhook receiver, a caller that opted out of
//! injection, which is named), its callers are not known, or the policy declares an
//! exception;
//! each exception carries its reason as an annotation, next to the mode it explains. The
//! annotation names no file or line (the same manifests read from anywhere give the same
//! objects); the reason kept for `explain` also says where the manifests show it.
//!
//! In: each workload of each service. Out: one PeerAuthentication selecting its pods.

use super::{selector, unselectable_note, Context};
use crate::model::*;
use crate::policy::MtlsMode;

/// Annotation holding the reason for a mode other than STRICT.
pub use crate::model::MTLS_REASON_ANNOTATION as REASON_ANNOTATION;

/// A service whose callers are not known may be called by a workload outside the mesh, which
/// STRICT would refuse: like its AuthorizationPolicy's dry-run, it stays PERMISSIVE until
/// traffic shows its callers (unless `--enforce-unverified`).
fn unverified(cx: &Context, s: &MeshService) -> Option<String> {
    (!s.callers.is_known() && !cx.options.enforce_unverified).then(|| {
        format!(
            "callers {}: {}; PERMISSIVE until traffic shows that every caller has a sidecar",
            s.callers.level.as_str(),
            s.callers.summary()
        )
    })
}

/// Why a workload must accept plain text, if it must: (with places, for `explain`; without,
/// for the annotation). Plain traffic from outside, then each caller without a sidecar
/// (named: it can never present a principal), else callers that are not known.
fn exception(cx: &Context, target: &super::Target) -> Option<(String, String)> {
    let mut explained = Vec::new();
    let mut reason = Vec::new();
    let outside = cx.outside_plaintext(target);
    let from_outside = outside.is_some();
    if let Some(o) = outside {
        explained.push(o.explained());
        reason.push(o.reason);
    }
    for caller in cx.plain_callers(target) {
        let text = format!(
            "{}; PERMISSIVE so that it is accepted, and its AuthorizationPolicy admits requests without identity on those ports only",
            caller.describe()
        );
        explained.push(text.clone());
        reason.push(text);
    }
    // Callers that are not known are reason enough alone; said too beside callers without
    // a sidecar, not beside plain traffic from outside (which stays PERMISSIVE anyway).
    if !from_outside {
        if let Some(why) = unverified(cx, target.service) {
            explained.push(why.clone());
            reason.push(why);
        }
    }
    (!reason.is_empty()).then(|| (explained.join("; "), reason.join("; ")))
}

pub(crate) fn build(cx: &Context, targets: &[super::Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        let r = &target.resolved;
        let (mode, why, exception) = match &r.mtls {
            Some(m) => (
                m.mode,
                format!("{} ({})", m.reason, r.why("mtls")),
                (m.mode != MtlsMode::Strict).then(|| m.reason.clone()),
            ),
            None => match exception(cx, target) {
                Some((explained, reason)) => (MtlsMode::Permissive, explained, Some(reason)),
                None => (
                    MtlsMode::Strict,
                    "default: only mesh workloads with a verified identity may connect".to_string(),
                    None,
                ),
            },
        };
        for w in &s.workloads {
            let Some(sel) = selector(w) else {
                out.notes
                    .push(unselectable_note(s, w, Kind::PeerAuthentication));
                continue;
            };
            let spec = PeerAuthenticationSpec {
                selector: sel,
                mtls: MutualTls {
                    mode: mode.as_str().to_string(),
                },
            };
            let mut res = cx.resource(
                Kind::PeerAuthentication,
                &w.name,
                &s.id,
                Spec::PeerAuthentication(spec),
            );
            if let Some(reason) = &exception {
                res.annotations
                    .insert(REASON_ANNOTATION.to_string(), reason.clone());
            }
            res.reasons = cx.kept(|| {
                vec![
                    Reason::new("role", r.role.as_str(), &r.role_why),
                    Reason::new("spec.mtls.mode", mode.as_str(), &why),
                ]
            });
            out.resources.push(Box::new(res));
        }
    }
}
