//! Rule MS107 `deployment-port-protocol-conflict`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS107`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::selector_matches;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, Service, Workload, WorkloadKind};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it does
    /// Reports Deployments with a sidecar that several Services select, where one port
    /// number is declared with different transport protocols (`protocol: TCP`, `UDP`,
    /// `SCTP`; TCP when left out).
    ///
    /// ## Why it matters
    /// The sidecar builds one inbound listener per port; with two protocols on it, traffic
    /// for one of the Services is handled as the other's and breaks.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: dns-tcp}
    /// spec: {selector: {app: dns}, ports: [{port: 53, protocol: TCP}]}
    /// ---
    /// kind: Service
    /// metadata: {name: dns-udp}
    /// spec: {selector: {app: dns}, ports: [{port: 53, protocol: UDP}]}
    /// ```
    ///
    /// ## Fix
    /// Give each protocol its own port number, or keep the workload out of the mesh.
    ///
    /// ## istioctl
    /// `deployment.MultiServiceAnalyzer` (IST0116).
    pub struct DeploymentPortProtocolConflict {
        code: "MS107",
        name: "deployment-port-protocol-conflict",
        severity: Warning,
        istio: Some("IST0116"),
    }
}

/// Whether Istio counts a Deployment as having a sidecar: an `istio-proxy` container, else
/// none on its node's network, else its pods' `sidecar.istio.io/inject` label, else the
/// annotation, else its namespace labelled `istio-injection=enabled`.
pub fn deployment_in_mesh(ctx: &Context, w: &Workload) -> bool {
    if w.containers.iter().any(|c| c.name == "istio-proxy") {
        return true;
    }
    if w.host_network {
        return false;
    }
    if let Some(v) = w.pod_labels.get("sidecar.istio.io/inject") {
        return v == "true";
    }
    if let Some(v) = w.pod_annotations.get("sidecar.istio.io/inject") {
        return v == "true";
    }
    ctx.inventory
        .namespace(&w.namespace)
        .is_some_and(|ns| ns.labels.get("istio-injection") == Some("enabled"))
}

/// The Deployments with a sidecar (waypoints aside), each with the Services selecting its
/// pods.
pub fn deployments_behind_services<'a>(ctx: &'a Context) -> Vec<(&'a Workload, Vec<&'a Service>)> {
    let mut found = Vec::new();
    for w in &ctx.inventory.workloads {
        let waypoint = w.labels.get("gateway.istio.io/managed") == Some("istio.io-mesh-controller");
        if w.kind != WorkloadKind::Deployment || waypoint || !deployment_in_mesh(ctx, w) {
            continue;
        }
        let services: Vec<&Service> = ctx
            .inventory
            .services_in(&w.namespace)
            .iter()
            .filter(|s| !s.selector.is_empty() && selector_matches(&s.selector, &w.pod_labels))
            .collect();
        found.push((w, services));
    }
    found
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for (w, services) in deployments_behind_services(ctx) {
        // port -> protocol -> Services
        let mut ports: BTreeMap<u16, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for svc in &services {
            for p in &svc.ports {
                let transport = if p.transport.is_empty() {
                    "TCP"
                } else {
                    &p.transport
                };
                ports
                    .entry(p.port)
                    .or_default()
                    .entry(transport.to_ascii_uppercase())
                    .or_default()
                    .insert(format!("{}/{}", svc.namespace, svc.name));
            }
        }
        for (port, protocols) in ports.iter().filter(|(_, p)| p.len() > 1) {
            let uses: Vec<String> = protocols
                .iter()
                .map(|(proto, svcs)| {
                    format!(
                        "{proto} ({})",
                        svcs.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            out.push(DeploymentPortProtocolConflict::META.finding(
                format!("Deployment {}/{}", w.namespace, w.name),
                Some(w.origin.clone()),
                format!(
                    "its Services declare port {port} with different protocols: {}",
                    uses.join(" and ")
                ),
                "use one protocol per port number across the Services that select it",
            ));
        }
    }
}
