//! Rule MS313 `strict-mtls-on-external-receiver`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS313`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{resource_label, workload_in_mesh};
use crate::check::macros::declare_rule;
use crate::check::mtls::{accepts_plaintext, effective_mode};
use crate::check::Context;
use crate::model::{Finding, Role, WorkloadRef};

declare_rule! {
    /// ## What it does
    /// Reports STRICT mutual TLS on a workload that takes traffic from outside the mesh
    /// directly: a webhook receiver, or a service exposed by its own LoadBalancer or NodePort
    /// Service rather than through an ingress gateway.
    ///
    /// ## Why it matters
    /// Clients outside the mesh have no workload certificate. Under STRICT the sidecar closes
    /// their plaintext connections: the payment provider's webhooks, or the load balancer's
    /// traffic, fail from the moment the policy is applied.
    ///
    /// ## Example
    /// A mesh-wide STRICT policy and a `stripe-webhook` Service of type LoadBalancer, with no
    /// PERMISSIVE exception for it.
    ///
    /// ## Fix
    /// Give that workload alone a PERMISSIVE PeerAuthentication (selector on its labels, or
    /// `portLevelMtls` for the public port) with a `meshsmith.dev/mtls-reason` annotation, or
    /// route its traffic through the ingress gateway.
    pub struct StrictMtlsOnExternalReceiver {
        code: "MS313",
        name: "strict-mtls-on-external-receiver",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        let why = match (&node.exposure.direct, node.role) {
            (Some((kind, _)), _) => format!("its {} Service takes traffic directly", kind.as_str()),
            (None, Role::WebhookReceiver) => "it receives webhooks from outside the mesh".into(),
            _ => continue,
        };
        let in_mesh = |w: &&WorkloadRef| workload_in_mesh(&ctx.index, &node.id.namespace, w);
        for w in node.workloads.iter().filter(in_mesh) {
            let effective = effective_mode(
                &ctx.index,
                &ctx.config.root_namespace,
                &node.id.namespace,
                &w.pod_labels,
            );
            if accepts_plaintext(&effective) {
                continue;
            }
            let (resource, origin) = match effective.policy {
                Some(pa) => (resource_label(pa), pa.origin()),
                None => (
                    format!("{} {}/{}", w.kind.as_str(), node.id.namespace, w.name),
                    w.origin.clone(),
                ),
            };
            out.push(StrictMtlsOnExternalReceiver::META.finding(
                resource,
                Some(origin),
                format!(
                    "STRICT mTLS applies to {} {}/{}, but {why}: clients without a mesh certificate are refused",
                    w.kind.as_str(),
                    node.id.namespace,
                    w.name
                ),
                "add a PERMISSIVE PeerAuthentication for this workload alone, with a `meshsmith.dev/mtls-reason` annotation",
            ));
        }
    }
}
