//! Which workloads must take plain traffic from outside the mesh, and why: the exception to
//! STRICT mTLS (PeerAuthentication) and the identity-less requests an AuthorizationPolicy
//! admits on such a workload's own ports. Outside the mesh means a client outside the
//! cluster (a load balancer, a webhook sender) or a caller that opted out of injection
//! (`sidecar.istio.io/inject: "false"` on its pods, `istio-injection: disabled` on its
//! namespace), which can never present a principal.
//!
//! In: a service with its resolved role and its exposure, and its callers' workloads. Out: a
//! reason without any file or line (it is written into generated objects, which must not
//! depend on where the manifests were read from) and, separately, the place that shows it,
//! for `explain`.

use super::{Context, GenerateOptions, Target};
use crate::model::*;
use std::collections::BTreeSet;

/// The pod label (preferred by Istio) or annotation that asks for or refuses a sidecar.
const INJECT: &str = "sidecar.istio.io/inject";

/// Why a workload whose pods use their node's network has no sidecar.
pub(crate) const HOST_NETWORK: &str =
    "its pods use their node's network (hostNetwork: true), which Istio never injects";

impl GenerateOptions {
    /// Why a workload never gets a sidecar, if it never does: its namespace is labelled
    /// `istio-injection: disabled` (which Istio honours over any pod label), its pods use
    /// their node's network (Istio's injector skips them whatever they ask), or its pod
    /// template says `sidecar.istio.io/inject: "false"` (the label, else the annotation).
    pub(crate) fn sidecarless(&self, ns: &str, w: &WorkloadRef) -> Option<String> {
        let disabled = self
            .namespace_labels
            .get(ns)
            .is_some_and(|l| l.get("istio-injection") == Some("disabled"));
        if disabled {
            return Some(format!(
                "namespace {ns} is labelled istio-injection: disabled"
            ));
        }
        if w.host_network {
            return Some(HOST_NETWORK.to_string());
        }
        match w.pod_labels.get(INJECT) {
            Some("true") => None,
            Some(value) => Some(format!("its pods are labelled {INJECT}: \"{value}\"")),
            None if w.sidecar_annotation == Some(false) => {
                Some(format!("its pods are annotated {INJECT}: \"false\""))
            }
            None => None,
        }
    }
}

/// A caller of a service that can never present a principal, and the workload ports of the
/// service it calls.
pub(crate) struct PlainCaller<'a> {
    pub caller: &'a QualifiedName,
    pub workload: &'a WorkloadRef,
    pub ports: BTreeSet<u16>,
    /// Why it has no sidecar.
    pub why: String,
}

impl PlainCaller<'_> {
    /// `caller orders.shop has no sidecar (its pods are annotated ...)`, naming the ports.
    pub fn describe(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        let on = match ports.len() {
            0 => String::new(),
            1 => format!(" on port {}", ports[0]),
            _ => format!(" on ports {}", ports.join(",")),
        };
        format!(
            "caller {} ({} {}) has no sidecar ({}), so it calls{on} without an identity",
            self.caller,
            self.workload.kind.as_str(),
            self.workload.name,
            self.why
        )
    }
}

/// The workload ports an edge into `callee` reaches: the Service port's target port, the
/// callee's first port when the edge names none; none when the callee has no ports.
pub(crate) fn edge_ports(callee: &MeshService, edge: &Edge) -> BTreeSet<u16> {
    let port = edge.port.or_else(|| callee.primary_port().map(|p| p.port));
    port.map(|p| callee.port(p).and_then(|i| i.target_port).unwrap_or(p))
        .into_iter()
        .collect()
}

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
    /// The callers of a service with workloads that opted out of injection, one entry per
    /// such workload, in the graph's order.
    pub fn plain_callers(&self, target: &Target) -> Vec<PlainCaller<'_>> {
        let s = target.service;
        let mut out = Vec::new();
        for edge in self.callers_of(&s.id).iter().filter(|e| e.from != s.id) {
            let Some(caller) = self.topology.service(&edge.from) else {
                continue;
            };
            for w in &caller.workloads {
                let Some(why) = self.options.sidecarless(&caller.id.namespace, w) else {
                    continue;
                };
                let ports = edge_ports(s, edge);
                match out
                    .iter_mut()
                    .find(|p: &&mut PlainCaller| p.caller == &caller.id && p.workload == w)
                {
                    Some(found) => found.ports.extend(ports),
                    None => out.push(PlainCaller {
                        caller: &caller.id,
                        workload: w,
                        ports,
                        why,
                    }),
                }
            }
        }
        out
    }

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
