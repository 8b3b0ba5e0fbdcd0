//! The first step of an onboarding phase whose services include callers that shared a
//! ServiceAccount with workloads that do not call what they call: their own accounts
//! (copied into the step's folder), then a merge patch of each such workload's pod template
//! that moves its pods there. It comes before the sidecars and long before any callee is
//! locked down (a callee locks only in a phase after every caller is meshed), so the
//! enforced policies, which name the new accounts, find the callers already moved.
//!
//! Its rollback, safe whenever it runs: callees that a later phase locks down go back to
//! dry-run (they must accept these callers under their old account again), each workload is
//! patched back to the account its manifest names (or the field removed, where it names
//! none), and the accounts are deleted.

use super::steps::Cx;
use super::workload_commands::set_account;
use crate::model::*;

impl Cx<'_> {
    pub(super) fn accounts(&self, folder: &str, phase: &Phase) -> Step {
        let mut services = Vec::new();
        let mut resources = Vec::new();
        let (mut effects, mut rollback_effects) = (Vec::new(), Vec::new());
        let (mut forward, mut backward) = (Vec::new(), Vec::new());
        for s in &phase.services {
            let patches = self.patches(s);
            let Some(node) = self.topology.service(s).filter(|_| !patches.is_empty()) else {
                continue;
            };
            services.push(s.clone());
            for r in self.owned(s, Kind::ServiceAccount) {
                resources.push(Self::reference(folder, &r, Variant::Final));
            }
            let ns = s.namespace.as_str();
            for patch in patches {
                let Some(w) = node
                    .workloads
                    .iter()
                    .find(|w| w.kind == patch.workload_kind && w.name == patch.workload)
                else {
                    continue;
                };
                forward.extend(set_account(ns, w, patch, Some(&patch.service_account)));
                backward.extend(set_account(ns, w, patch, patch.previous.as_deref()));
                effects.push(Effect::Account {
                    service: s.clone(),
                    workload: w.name.clone(),
                    account: patch.service_account.clone(),
                });
                rollback_effects.push(Effect::Account {
                    service: s.clone(),
                    workload: w.name.clone(),
                    account: w.service_account.clone(),
                });
            }
        }
        let rollback_folder = format!("{folder}/rollback");
        let rollback_resources =
            self.callee_authz_rollbacks(&services, &rollback_folder, &mut rollback_effects);
        let mut commands = vec![format!("kubectl apply -k {folder}")];
        commands.extend(forward);
        let mut rb_commands = Vec::new();
        if !rollback_resources.is_empty() {
            rb_commands.push(format!("kubectl apply -k {rollback_folder}"));
        }
        rb_commands.extend(backward);
        rb_commands.push(format!("kubectl delete -k {folder} --ignore-not-found"));
        Step {
            released: None,
            id: folder.to_string(),
            action: StepAction::ServiceAccounts,
            services,
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

    /// The callees of `services` that a later phase locks down must admit them under their
    /// old accounts again whenever the rollback runs: their AuthorizationPolicies' dry-run
    /// copies, and those effects.
    fn callee_authz_rollbacks(
        &self,
        services: &[QualifiedName],
        folder: &str,
        effects: &mut Vec<Effect>,
    ) -> Vec<ResourceRef> {
        let mut resources = Vec::new();
        for s in services {
            for e in self.edges.callees(s).iter().filter(|e| &e.to != s) {
                if !self.schedule.lock.contains_key(&e.to) {
                    continue;
                }
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
