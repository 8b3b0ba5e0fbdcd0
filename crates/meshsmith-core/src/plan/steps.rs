//! The steps of one phase: which objects of the configuration (as generated or as a person
//! edited them, PERMISSIVE or dry-run copies) go into each step's folder, the commands that
//! apply them, what they change, and how each is undone.
//!
//! Onboarding steps, for the phase's services: accounts of their own for callers that shared
//! one (see `account_step`), sidecars (PERMISSIVE first, then injection; see
//! `sidecar_step`), dry-run authorization, DestinationRules, then VirtualServices.
//! Lock-down steps, for the services whose callers all have sidecars: STRICT, then
//! enforcement. A rollback must be safe even when run after later phases: going back from
//! STRICT re-applies PERMISSIVE rather than deleting (a deleted policy inherits a default
//! that may be STRICT).

use super::phases::Schedule;
use super::source::{ConfigObject, RolloutConfig};
use super::PlanSettings;
use crate::model::*;

pub(crate) struct Cx<'a> {
    pub settings: &'a PlanSettings,
    pub topology: &'a Topology,
    pub schedule: &'a Schedule,
    /// The configuration's objects by the service they belong to.
    by_owner: std::collections::HashMap<&'a QualifiedName, Vec<ConfigObject<'a>>>,
    /// The patches that move workloads to accounts of their own, by service.
    patches: std::collections::HashMap<&'a QualifiedName, Vec<&'a WorkloadPatchSpec>>,
    /// The patches that declare what Services' ports speak, by service.
    port_patches: std::collections::HashMap<&'a QualifiedName, &'a ServicePatchSpec>,
    pub(super) edges: EdgeIndex<'a>,
    /// The manifests' objects that generated ones replace under their names.
    replaced: &'a [ReplacedObject],
}

impl<'a> Cx<'a> {
    pub fn new(
        topology: &'a Topology,
        config: &'a RolloutConfig,
        schedule: &'a Schedule,
        settings: &'a PlanSettings,
    ) -> Self {
        let mut patches: std::collections::HashMap<_, Vec<_>> = Default::default();
        for (owner, patch) in config.account_patches() {
            patches.entry(owner).or_default().push(patch);
        }
        Cx {
            settings,
            topology,
            schedule,
            by_owner: super::phases::by_owner(config),
            patches,
            port_patches: config.port_patches().collect(),
            edges: topology.edge_index(),
            replaced: config.replaced(),
        }
    }

    /// The patches that move workloads of `s` to accounts of their own.
    pub(super) fn patches(&self, s: &QualifiedName) -> &[&'a WorkloadPatchSpec] {
        self.patches.get(s).map_or(&[], Vec::as_slice)
    }

    /// The patch that declares what the ports of `s` speak, if it needs one.
    pub(super) fn port_patch(&self, s: &QualifiedName) -> Option<&'a ServicePatchSpec> {
        self.port_patches.get(s).copied()
    }

    /// The account a workload of `s` runs as by the end of `phase`: its own once the phase
    /// that onboards `s` has moved it there, else its manifest's.
    pub(super) fn account_at<'w>(
        &'w self,
        s: &QualifiedName,
        w: &'w WorkloadRef,
        phase: u32,
    ) -> &'w str {
        let moved = self
            .patches(s)
            .iter()
            .find(|p| p.workload_kind == w.kind && p.workload == w.name);
        match moved {
            Some(p) if self.schedule.onboarded.get(s).is_some_and(|o| *o <= phase) => {
                &p.service_account
            }
            _ => &w.service_account,
        }
    }

    pub(super) fn owned(
        &self,
        s: &QualifiedName,
        kind: Kind,
    ) -> impl Iterator<Item = ConfigObject<'a>> + '_ {
        let found: &[ConfigObject<'a>] = self.by_owner.get(s).map_or(&[], Vec::as_slice);
        found.iter().copied().filter(move |r| r.kind() == kind)
    }

    pub(super) fn reference(folder: &str, r: &ConfigObject, variant: Variant) -> ResourceRef {
        let (ns, name) = (r.namespace(), r.name());
        ResourceRef {
            kind: r.kind().as_str().to_string(),
            namespace: ns.to_string(),
            name: name.to_string(),
            variant,
            file: format!("{folder}/{ns}.{name}.{}", r.kind().file_name()),
        }
    }

    /// The effect of an AuthorizationPolicy of `s` in `state`.
    pub(super) fn authz(&self, s: &QualifiedName, state: AuthzState) -> Option<Effect> {
        let first = self.owned(s, Kind::AuthorizationPolicy).next()?;
        let none = state == AuthzState::None;
        Some(Effect::Authorization {
            service: s.clone(),
            state,
            principals: if none { Vec::new() } else { first.principals() },
            plain_ports: if none {
                Vec::new()
            } else {
                first.plain_ports()
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
            if phase.services.iter().any(|s| self.port_patch(s).is_some()) {
                out.push(self.service_ports(&id(StepAction::ServicePorts), phase));
            }
            if phase.services.iter().any(|s| !self.patches(s).is_empty()) {
                out.push(self.accounts(&id(StepAction::ServiceAccounts), phase));
            }
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
                    resources.push(Self::reference(&folder, &r, variant));
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
        // An object of the manifests that the step replaces under its name is applied again
        // once the step's objects are deleted: deleting alone would lose it.
        let rb_folder = format!("{folder}/rollback");
        let originals: Vec<ResourceRef> = resources
            .iter()
            .filter(|r| {
                self.replaced.iter().any(|o| {
                    o.kind.as_str() == r.kind && o.namespace == r.namespace && o.name == r.name
                })
            })
            .map(|r| ResourceRef {
                kind: r.kind.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                variant: Variant::Original,
                file: format!("{rb_folder}{}", &r.file[folder.len()..]),
            })
            .collect();
        let mut rb_commands = vec![format!("kubectl delete -k {folder} --ignore-not-found")];
        if !originals.is_empty() {
            rb_commands.push(format!("kubectl apply -k {rb_folder}"));
        }
        Step {
            released: None,
            commands: vec![format!("kubectl apply -k {folder}")],
            rollback: Rollback {
                folder: (!originals.is_empty()).then_some(rb_folder),
                resources: originals,
                commands: rb_commands,
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
            let strict: Vec<ConfigObject> = self
                .owned(s, Kind::PeerAuthentication)
                .filter(|r| r.is_strict())
                .collect();
            if strict.is_empty() {
                continue;
            }
            step.services.push(s.clone());
            for r in strict {
                step.resources
                    .push(Self::reference(&step.id, &r, Variant::Final));
                step.rollback
                    .resources
                    .push(Self::reference(&rb_folder, &r, Variant::Permissive));
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
            let policies: Vec<ConfigObject> = self.owned(s, Kind::AuthorizationPolicy).collect();
            if policies.is_empty() {
                continue;
            }
            step.services.push(s.clone());
            for r in policies {
                step.resources
                    .push(Self::reference(&step.id, &r, Variant::Final));
                step.rollback
                    .resources
                    .push(Self::reference(&rb_folder, &r, Variant::DryRun));
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
            released: None,
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
