//! The first step of an onboarding phase whose services have ports that need a declaration
//! (`appProtocol`): each Service patched so that Istio proxies its ports as what they speak
//! (an HTTP port it took for TCP, a TCP server declared HTTP, a port it would sniff) before
//! the sidecars arrive. Nothing is copied into the step's folder: the patch is applied by
//! command, and the rollback patches the ports back to the `appProtocol` their manifest
//! gives them (or removes it).

use super::steps::Cx;
use crate::model::*;

impl Cx<'_> {
    pub(super) fn service_ports(&self, folder: &str, phase: &Phase) -> Step {
        let mut services = Vec::new();
        let (mut forward, mut backward) = (Vec::new(), Vec::new());
        for s in &phase.services {
            let Some(patch) = self.port_patch(s) else {
                continue;
            };
            services.push(s.clone());
            let command = |forward: bool| {
                format!(
                    "kubectl patch service/{} -n {} -p '{}'",
                    patch.service,
                    s.namespace,
                    patch.body(forward)
                )
            };
            forward.push(command(true));
            backward.push(command(false));
        }
        Step {
            released: None,
            id: folder.to_string(),
            action: StepAction::ServicePorts,
            services,
            resources: Vec::new(),
            commands: forward,
            effects: Vec::new(),
            rollback: Rollback {
                folder: None,
                resources: Vec::new(),
                commands: backward,
                effects: Vec::new(),
            },
        }
    }
}
