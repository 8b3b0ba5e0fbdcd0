//! Which workloads must take plain traffic from outside the mesh, and why: the exception to
//! STRICT mTLS (PeerAuthentication) and the identity-less requests an AuthorizationPolicy
//! admits on such a workload's own ports.
//!
//! In: a service with its resolved role and its exposure. Out: a reason without any file or
//! line (it is written into generated objects, which must not depend on where the manifests
//! were read from) and, separately, the place that shows it, for `explain`.

use super::{Context, Target};
use crate::model::*;

/// Why a workload must take plain traffic from outside the mesh.
pub(crate) struct OutsidePlaintext {
    /// Without any file or line: it goes into generated objects.
    pub reason: String,
    /// The manifest that shows it, for `explain`.
    pub at: Option<Origin>,
}

impl OutsidePlaintext {
    /// The reason with its place, for `explain` and `--explain`.
    pub fn explained(&self) -> String {
        match &self.at {
            Some(at) => format!("{} ({at})", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl Context<'_> {
    /// Why a service must accept plain traffic from outside the mesh, if it must: a workload
    /// its own LoadBalancer or NodePort Service exposes, or one declared a webhook receiver.
    /// `None` when not, or when the policy pins its mTLS mode. The reason names no file: it
    /// is written into the generated objects, which must not depend on where the input was
    /// read; the place that shows it comes separately, for `explain`.
    pub fn outside_plaintext(&self, target: &Target) -> Option<OutsidePlaintext> {
        let r = &target.resolved;
        if r.mtls.is_some() {
            return None;
        }
        let s = target.service;
        if let Some((kind, origin)) = &s.exposure.direct {
            let who = match r.role {
                Role::WebhookReceiver => "webhook receiver: ",
                Role::Gateway => "front door: ",
                _ => "",
            };
            return Some(OutsidePlaintext {
                reason: format!(
                    "{who}plain traffic from outside the mesh reaches it directly through its {} Service",
                    kind.as_str()
                ),
                at: Some(origin.clone()),
            });
        }
        if r.role != Role::WebhookReceiver {
            return None;
        }
        // Inferred receivers are directly exposed; one without such a Service was declared.
        let declared = if s.role == Role::WebhookReceiver {
            s.role_reason.clone()
        } else {
            "the policy file declares it a webhook receiver".to_string()
        };
        Some(OutsidePlaintext {
            reason: format!(
                "webhook receiver, plain traffic from outside the mesh reaches it: {declared}"
            ),
            at: None,
        })
    }
}
