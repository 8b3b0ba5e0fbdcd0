//! Rule MS216 `cloud-metadata-egress`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS216`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a workload configured to call a cloud metadata endpoint or a link-local
    /// address: `metadata.google.internal`, `169.254.169.254` (the metadata service of AWS,
    /// Google Cloud, Azure, Oracle Cloud and OpenStack), AWS's `fd00:ec2::254` and the EKS
    /// Pod Identity agent, Alibaba Cloud's `100.100.100.200`, Azure's `168.63.129.16`, and
    /// any other address in 169.254.0.0/16 or fe80::/10. `generate` writes no ServiceEntry
    /// and no Sidecar egress host for it unless the policy file allows it with a reason.
    ///
    /// ## Why it matters
    /// A metadata endpoint hands out the node's (or the workload's) cloud credentials: a pod
    /// that can reach it can act with them, and a request forgery in that pod reaches them
    /// too. A ServiceEntry would make it look like an ordinary dependency and keep it open
    /// under `outboundTrafficPolicy: REGISTRY_ONLY`, where the mesh would otherwise close it.
    /// Other link-local addresses belong to the node (agents, caches), not to the mesh.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: GCE_METADATA_HOST
    ///     value: metadata.google.internal
    /// ```
    ///
    /// ## Fix
    /// Remove the setting if the workload does not need it (prefer the cloud's workload
    /// identity to the node's credentials). If it must reach the endpoint, say why in the
    /// policy file; the ServiceEntry is then generated with that reason:
    /// ```yaml
    /// egress:
    ///   allow:
    ///     - host: metadata.google.internal
    ///       reason: "the collector reads the instance's zone; Workload Identity limits it"
    /// ```
    pub struct CloudMetadataEgress {
        code: "MS216",
        name: "cloud-metadata-egress",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for call in &ctx.topology.external {
        let Some(restricted) = call.restricted else {
            continue;
        };
        if ctx
            .config
            .egress_allow
            .iter()
            .any(|a| a.matches(&call.host))
        {
            continue;
        }
        let resource = ctx
            .topology
            .service(&call.from)
            .map_or_else(|| call.from.to_string(), node_label);
        let address = match call.port {
            Some(p) if call.host.contains(':') => format!("[{}]:{p}", call.host),
            Some(p) => format!("{}:{p}", call.host),
            None => call.host.clone(),
        };
        let evidence = call.evidence.first();
        out.push(CloudMetadataEgress::META.finding(
            resource,
            evidence.map(|e| e.origin.clone()),
            format!(
                "{} calls `{address}`, {}{}; no ServiceEntry is generated for it",
                call.from,
                restricted.describe(),
                evidence.map_or_else(String::new, |e| format!(" ({})", e.detail))
            ),
            "remove the setting if the workload does not need it, or list the host under \
             `egress.allow` in the policy file with the reason it must be reached",
        ));
    }
}
