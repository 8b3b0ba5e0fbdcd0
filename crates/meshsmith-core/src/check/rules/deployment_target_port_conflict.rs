//! Rule MS108 `deployment-target-port-conflict`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS108`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::rules::deployment_port_protocol_conflict::deployments_behind_services;
use crate::check::Context;
use crate::model::{Finding, PortRef};
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it does
    /// Reports Deployments with a sidecar whose Services send two different Service ports
    /// to the same container port (`targetPort`, which is the port itself when left out).
    ///
    /// ## Why it matters
    /// The sidecar keys its inbound configuration by container port and takes the protocol,
    /// timeouts and policy of one of the Service ports; traffic arriving through the other
    /// one is handled with settings written for a different port.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: web}
    /// spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
    /// ---
    /// kind: Service
    /// metadata: {name: web-admin}
    /// spec: {selector: {app: web}, ports: [{port: 9090, targetPort: 8080}]}
    /// ```
    ///
    /// ## Fix
    /// Use the same Service port for the same container port in every Service, or point
    /// them at different container ports.
    ///
    /// ## istioctl
    /// `deployment.MultiServiceAnalyzer` (IST0137).
    pub struct DeploymentTargetPortConflict {
        code: "MS108",
        name: "deployment-target-port-conflict",
        severity: Warning,
        istio: Some("IST0137"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for (w, services) in deployments_behind_services(ctx) {
        // target port -> Service port -> Service
        let mut targets: BTreeMap<String, BTreeMap<u16, String>> = BTreeMap::new();
        for svc in &services {
            for p in &svc.ports {
                let target = match &p.target_port {
                    Some(PortRef::Number(n)) if *n != 0 => n.to_string(),
                    Some(PortRef::Name(name)) if !name.is_empty() => name.clone(),
                    _ => p.port.to_string(),
                };
                targets
                    .entry(target)
                    .or_default()
                    .insert(p.port, format!("{}/{}", svc.namespace, svc.name));
            }
        }
        for (target, ports) in targets.iter().filter(|(_, p)| p.len() > 1) {
            let uses: Vec<String> = ports
                .iter()
                .map(|(port, svc)| format!("{port} ({svc})"))
                .collect();
            out.push(DeploymentTargetPortConflict::META.finding(
                format!("Deployment {}/{}", w.namespace, w.name),
                Some(w.origin.clone()),
                format!(
                    "container port {target} is reached through different Service ports: {}",
                    uses.join(", ")
                ),
                "send one Service port to each container port",
            ));
        }
    }
}
