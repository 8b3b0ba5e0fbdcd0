//! The first step of an onboarding phase: each service's PeerAuthentication as PERMISSIVE,
//! then its sidecar (see `injection` for how the commands give it in this phase only).
//!
//! Its rollback, safe whenever it runs: callees that a later phase locks down go back to
//! PERMISSIVE and dry-run (they must accept these callers without a sidecar again), the
//! injection is undone exactly as it was done, and the PeerAuthentications are deleted.

use super::injection;
use super::source::ConfigObject;
use super::steps::Cx;
use crate::model::*;

/// PERMISSIVE for a STRICT PeerAuthentication, the object as it is otherwise.
fn permissive(r: &ConfigObject) -> Variant {
    if r.is_strict() {
        Variant::Permissive
    } else {
        Variant::Final
    }
}

impl Cx<'_> {
    pub(super) fn sidecars(&self, folder: &str, phase: &Phase) -> Step {
        let mut resources = Vec::new();
        let mut effects = Vec::new();
        let mut rollback_effects = Vec::new();
        for s in &phase.services {
            let mut has_pa = false;
            for r in self.owned(s, Kind::PeerAuthentication) {
                has_pa = true;
                resources.push(Self::reference(folder, &r, permissive(&r)));
            }
            if has_pa {
                effects.push(Effect::Mtls {
                    service: s.clone(),
                    mode: MtlsState::Permissive,
                });
            }
            if self.schedule.injected.get(s) == Some(&phase.number) {
                effects.push(Effect::Sidecar { service: s.clone() });
                rollback_effects.push(Effect::NoSidecar { service: s.clone() });
            }
        }
        let rollback_folder = format!("{folder}/rollback");
        let rollback_resources =
            self.callee_rollbacks(phase, &rollback_folder, &mut rollback_effects);
        let injection = injection::commands(
            self.topology,
            &self.schedule.injection,
            &self.schedule.injected,
            phase.number,
            &phase.services,
        );
        let mut commands = Vec::new();
        if !resources.is_empty() {
            commands.push(format!("kubectl apply -k {folder}"));
        }
        commands.extend(injection.forward);
        let mut rb_commands = Vec::new();
        if !rollback_resources.is_empty() {
            rb_commands.push(format!("kubectl apply -k {rollback_folder}"));
        }
        rb_commands.extend(injection.rollback);
        if !resources.is_empty() {
            rb_commands.push(format!("kubectl delete -k {folder} --ignore-not-found"));
            for s in &phase.services {
                if self.owned(s, Kind::PeerAuthentication).next().is_some() {
                    rollback_effects.push(Effect::Mtls {
                        service: s.clone(),
                        mode: MtlsState::Inherit,
                    });
                }
            }
        }
        Step {
            released: None,
            id: folder.to_string(),
            action: StepAction::Sidecars,
            services: phase.services.clone(),
            resources,
            commands,
            effects,
            rollback: Rollback {
                folder: (!rollback_resources.is_empty()).then_some(rollback_folder),
                resources: rollback_resources,
                commands: rb_commands,
                effects: rollback_effects,
            },
        }
    }

    /// Callees that a later phase locks down must accept this phase's services again
    /// without their sidecars, whenever the rollback runs: their PERMISSIVE and dry-run
    /// copies, and those effects.
    fn callee_rollbacks(
        &self,
        phase: &Phase,
        folder: &str,
        effects: &mut Vec<Effect>,
    ) -> Vec<ResourceRef> {
        let mut resources = Vec::new();
        for s in &phase.services {
            for e in self.edges.callees(s).iter().filter(|e| &e.to != s) {
                if !self.schedule.lock.contains_key(&e.to) {
                    continue;
                }
                for r in self.owned(&e.to, Kind::PeerAuthentication) {
                    resources.push(Self::reference(folder, &r, permissive(&r)));
                }
                effects.push(Effect::Mtls {
                    service: e.to.clone(),
                    mode: MtlsState::Permissive,
                });
                for r in self.owned(&e.to, Kind::AuthorizationPolicy) {
                    resources.push(Self::reference(folder, &r, Variant::DryRun));
                }
                effects.extend(self.authz(&e.to, AuthzState::DryRun));
            }
        }
        resources.sort();
        resources.dedup();
        effects.dedup();
        resources
    }
}
