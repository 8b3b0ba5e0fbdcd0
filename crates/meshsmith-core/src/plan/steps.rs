//! The steps of one phase: which generated resources (as generated, PERMISSIVE or dry-run
//! copies) go into each step's folder, the commands that apply them, what they change, and
//! how each is undone.
//!
//! Onboarding steps, for the phase's services: sidecars (PERMISSIVE first, then the rolling
//! restart), dry-run authorization, DestinationRules, then VirtualServices. Lock-down steps,
//! for the services whose callers all have sidecars: STRICT, then enforcement. A rollback
//! must be safe even when run after later phases: removing a sidecar therefore also puts the
//! callees it calls back to PERMISSIVE and dry-run, and going back from STRICT re-applies
//! PERMISSIVE rather than deleting (a deleted policy inherits a default that may be STRICT).

use super::phases::Schedule;
use super::policy_facts::{is_strict, plain_ports, principals};
use super::workload_commands::{opt_out, restart};
use crate::model::*;

pub(crate) struct Cx<'a> {
    pub gateway_principal: String,
    pub topology: &'a Topology,
    pub config: &'a MeshConfig,
    pub schedule: &'a Schedule,
    /// The configuration's resources by the service they belong to.
    by_owner: std::collections::HashMap<&'a QualifiedName, Vec<&'a Resource>>,
    edges: EdgeIndex<'a>,
}

impl<'a> Cx<'a> {
    pub fn new(
        topology: &'a Topology,
        config: &'a MeshConfig,
        schedule: &'a Schedule,
        gateway_principal: &str,
    ) -> Self {
        Cx {
            gateway_principal: gateway_principal.to_string(),
            topology,
            config,
            schedule,
            by_owner: super::phases::by_owner(config),
            edges: topology.edge_index(),
        }
    }

    fn owned(&self, s: &QualifiedName, kind: Kind) -> impl Iterator<Item = &'a Resource> + '_ {
        let found: &[&'a Resource] = self.by_owner.get(s).map_or(&[], Vec::as_slice);
        found.iter().copied().filter(move |r| r.kind == kind)
    }

    fn reference(folder: &str, r: &Resource, variant: Variant) -> ResourceRef {
        ResourceRef {
            kind: r.kind.as_str().to_string(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            variant,
            file: format!("{folder}/{}.{}.{}", r.namespace, r.name, r.kind.file_name()),
        }
    }

    /// The effect of an AuthorizationPolicy of `s` in `state`.
    fn authz(&self, s: &QualifiedName, state: AuthzState) -> Option<Effect> {
        let policies: Vec<&Resource> = self.owned(s, Kind::AuthorizationPolicy).collect();
        let first = policies.first()?;
        Some(Effect::Authorization {
            service: s.clone(),
            state,
            principals: if state == AuthzState::None {
                Vec::new()
            } else {
                principals(first)
            },
            plain_ports: if state == AuthzState::None {
                Vec::new()
            } else {
                plain_ports(first)
            },
        })
    }

    pub fn steps(&self, phase: &Phase) -> Vec<Step> {
        let mut out = Vec::new();
        let p = phase.number;
        let mut n = 0;
        let mut id = |action: StepAction| {
            n += 1;
            format!("phase-{p}/{n}-{}", action.as_str())
        };
        if !phase.services.is_empty() {
            out.push(self.sidecars(&id(StepAction::Sidecars), phase));
            let onboard = [
                (
                    StepAction::AuthorizationDryRun,
                    &[Kind::AuthorizationPolicy][..],
                ),
                (
                    StepAction::DestinationRules,
                    &[Kind::DestinationRule, Kind::ServiceEntry][..],
                ),
                (
                    StepAction::VirtualServices,
                    &[Kind::VirtualService, Kind::Sidecar][..],
                ),
            ];
            for (action, kinds) in onboard {
                let step = self.onboard(String::new(), action, kinds, &phase.services);
                if !step.resources.is_empty() {
                    let folder = id(action);
                    out.push(self.onboard(folder, action, kinds, &phase.services));
                }
            }
        }
        if !phase.locked.is_empty() {
            let strict = self.strict(String::new(), &phase.locked);
            if !strict.resources.is_empty() {
                out.push(self.strict(id(StepAction::MtlsStrict), &phase.locked));
            }
            let enforce = self.enforce(String::new(), &phase.locked);
            if !enforce.resources.is_empty() {
                out.push(self.enforce(id(StepAction::AuthorizationEnforce), &phase.locked));
            }
        }
        out
    }

    fn sidecars(&self, folder: &str, phase: &Phase) -> Step {
        let mut resources = Vec::new();
        let mut effects = Vec::new();
        let mut commands = Vec::new();
        let mut restarts = Vec::new();
        let mut opt_outs = Vec::new();
        let mut rollback_resources = Vec::new();
        let mut rollback_effects = Vec::new();
        let rollback_folder = format!("{folder}/rollback");
        for s in &phase.services {
            let mut has_pa = false;
            for r in self.owned(s, Kind::PeerAuthentication) {
                has_pa = true;
                let v = if is_strict(r) {
                    Variant::Permissive
                } else {
                    Variant::Final
                };
                resources.push(Self::reference(folder, r, v));
            }
            if has_pa {
                effects.push(Effect::Mtls {
                    service: s.clone(),
                    mode: MtlsState::Permissive,
                });
            }
            if self.schedule.injected.contains_key(s) {
                effects.push(Effect::Sidecar { service: s.clone() });
                rollback_effects.push(Effect::NoSidecar { service: s.clone() });
            }
            if let Some(m) = self.topology.service(s) {
                for w in &m.workloads {
                    restarts.extend(restart(&m.id.namespace, w));
                    opt_outs.extend(opt_out(&m.id.namespace, w));
                }
            }
            // Callees that a later phase locks down must accept this caller again without
            // its sidecar, whenever this rollback runs.
            for e in self.edges.callees(s).iter().filter(|e| &e.to != s) {
                if !self.schedule.lock.contains_key(&e.to) {
                    continue;
                }
                for r in self.owned(&e.to, Kind::PeerAuthentication) {
                    let v = if is_strict(r) {
                        Variant::Permissive
                    } else {
                        Variant::Final
                    };
                    rollback_resources.push(Self::reference(&rollback_folder, r, v));
                }
                rollback_effects.push(Effect::Mtls {
                    service: e.to.clone(),
                    mode: MtlsState::Permissive,
                });
                for r in self.owned(&e.to, Kind::AuthorizationPolicy) {
                    rollback_resources.push(Self::reference(&rollback_folder, r, Variant::DryRun));
                }
                rollback_effects.extend(self.authz(&e.to, AuthzState::DryRun));
            }
        }
        rollback_resources.sort();
        rollback_resources.dedup();
        rollback_effects.dedup();
        if !resources.is_empty() {
            commands.push(format!("kubectl apply -k {folder}"));
        }
        let namespaces: std::collections::BTreeSet<&str> = phase
            .services
            .iter()
            .map(|s| s.namespace.as_str())
            .collect();
        for ns in namespaces {
            if self.config.find(Kind::NamespacePatch, "", ns).is_some()
                && self.first_phase_in(ns) == Some(phase.number)
            {
                commands.push(format!(
                    "kubectl label namespace {ns} istio-injection=enabled --overwrite"
                ));
            }
        }
        commands.extend(restarts);
        let mut rb_commands = Vec::new();
        if !rollback_resources.is_empty() {
            rb_commands.push(format!("kubectl apply -k {rollback_folder}"));
        }
        rb_commands.extend(opt_outs);
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

    /// The first phase that onboards a service of `ns`.
    fn first_phase_in(&self, ns: &str) -> Option<u32> {
        self.schedule
            .onboarded
            .iter()
            .filter(|(s, _)| s.namespace == ns)
            .map(|(_, p)| *p)
            .min()
    }

    fn onboard(
        &self,
        folder: String,
        action: StepAction,
        kinds: &[Kind],
        services: &[QualifiedName],
    ) -> Step {
        let mut resources = Vec::new();
        let mut effects = Vec::new();
        let mut rb_effects = Vec::new();
        for s in services {
            for kind in kinds {
                let variant = if *kind == Kind::AuthorizationPolicy {
                    Variant::DryRun
                } else {
                    Variant::Final
                };
                let mut any = false;
                for r in self.owned(s, *kind) {
                    any = true;
                    resources.push(Self::reference(&folder, r, variant));
                }
                let traffic = match kind {
                    Kind::DestinationRule => Some(TrafficKind::DestinationRule),
                    Kind::VirtualService => Some(TrafficKind::VirtualService),
                    _ => None,
                };
                match (any, kind, traffic) {
                    (true, Kind::AuthorizationPolicy, _) => {
                        effects.extend(self.authz(s, AuthzState::DryRun));
                        rb_effects.extend(self.authz(s, AuthzState::None));
                    }
                    (true, _, Some(kind)) => {
                        effects.push(Effect::Traffic {
                            service: s.clone(),
                            kind,
                            present: true,
                        });
                        rb_effects.push(Effect::Traffic {
                            service: s.clone(),
                            kind,
                            present: false,
                        });
                    }
                    _ => {}
                }
            }
        }
        Step {
            commands: vec![format!("kubectl apply -k {folder}")],
            rollback: Rollback {
                folder: None,
                resources: Vec::new(),
                commands: vec![format!("kubectl delete -k {folder} --ignore-not-found")],
                effects: rb_effects,
            },
            id: folder,
            action,
            services: services.to_vec(),
            resources,
            effects,
        }
    }

    fn strict(&self, folder: String, locked: &[QualifiedName]) -> Step {
        let rb_folder = format!("{folder}/rollback");
        let mut step = self.lock_step(folder, StepAction::MtlsStrict);
        for s in locked {
            let strict: Vec<&Resource> = self
                .owned(s, Kind::PeerAuthentication)
                .filter(|r| is_strict(r))
                .collect();
            if strict.is_empty() {
                continue;
            }
            step.services.push(s.clone());
            for r in strict {
                step.resources
                    .push(Self::reference(&step.id, r, Variant::Final));
                step.rollback
                    .resources
                    .push(Self::reference(&rb_folder, r, Variant::Permissive));
            }
            step.effects.push(Effect::Mtls {
                service: s.clone(),
                mode: MtlsState::Strict,
            });
            step.rollback.effects.push(Effect::Mtls {
                service: s.clone(),
                mode: MtlsState::Permissive,
            });
        }
        step.rollback.folder = Some(rb_folder);
        step
    }

    fn enforce(&self, folder: String, locked: &[QualifiedName]) -> Step {
        let rb_folder = format!("{folder}/rollback");
        let mut step = self.lock_step(folder, StepAction::AuthorizationEnforce);
        for s in locked {
            let policies: Vec<&Resource> = self.owned(s, Kind::AuthorizationPolicy).collect();
            if policies.is_empty() {
                continue;
            }
            step.services.push(s.clone());
            for r in policies {
                step.resources
                    .push(Self::reference(&step.id, r, Variant::Final));
                step.rollback
                    .resources
                    .push(Self::reference(&rb_folder, r, Variant::DryRun));
            }
            step.effects.extend(self.authz(s, AuthzState::Enforced));
            step.rollback
                .effects
                .extend(self.authz(s, AuthzState::DryRun));
        }
        step.rollback.folder = Some(rb_folder);
        step
    }

    fn lock_step(&self, folder: String, action: StepAction) -> Step {
        Step {
            commands: vec![format!("kubectl apply -k {folder}")],
            rollback: Rollback {
                folder: None,
                resources: Vec::new(),
                // Re-applying the earlier state: deleting would fall back to a default that
                // may itself be STRICT, or drop the policy's dry-run observations.
                commands: vec![format!("kubectl apply -k {folder}/rollback")],
                effects: Vec::new(),
            },
            id: folder,
            action,
            services: Vec::new(),
            resources: Vec::new(),
            effects: Vec::new(),
        }
    }
}
