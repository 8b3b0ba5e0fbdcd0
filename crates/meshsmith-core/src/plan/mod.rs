//! Topology + MeshConfig -> [`Plan`]: the generated configuration rolled out in phases that
//! never break a call the graph knows about.
//!
//! ```text
//!  Topology ─┐                  ┌─ phases: tiers -> onboarding phases, lock-down phase
//!            ├─ plan() ─────────┼─ steps:  per phase, kustomize folders + effects + rollback
//!  MeshConfig┘                  └─ checks: metrics and smoke tests per phase
//!
//!  Plan + Topology ─ verify() ─▶ Vec<PlanViolation> (MS401..MS407)
//!  Plan + MeshConfig ─ layout() ─▶ files (step folders, smoke.sh per phase, plan.json, ROLLOUT.md)
//! ```
//!
//! Services are onboarded tier by tier (workers, internal, core, exposed) with sidecars,
//! PERMISSIVE mTLS and dry-run authorization; a service is locked down (STRICT, enforced)
//! only in a phase after every caller has a sidecar, which for the last tier's callees is a
//! closing lock-down phase. A workload gets its sidecar in its own phase only (see
//! `injection`). When a person edited files of the generated configuration, [`plan_from`]
//! and [`layout::layout_from`] build the plan and its step folders from a [`RolloutConfig`]
//! holding those edits, so the rollout applies what the files say. Pure: nothing here prints
//! or touches files.

mod account_step;
mod checks;
pub mod cluster_facts;
mod collect;
mod gate_commands;
mod injection;
pub mod layout;
mod phases;
mod policy_facts;
mod port_step;
pub mod rollout_md;
mod sidecar_step;
pub mod simulate;
mod smoke;
pub mod smoke_script;
pub mod source;
mod steps;
pub mod verify;
mod workload_commands;

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod fake_kubectl;
#[cfg(test)]
mod injection_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod smoke_script_tests;
#[cfg(test)]
mod smoke_tests;
#[cfg(test)]
mod source_tests;
#[cfg(test)]
mod tests;

use crate::model::*;
use crate::policy::{Millis, Policy};

pub use cluster_facts::ClusterFacts;
pub use layout::layout;
pub use rollout_md::{outline, rollout_markdown, write_rollout_markdown};
pub use source::{EditError, EditedFile, RolloutConfig};
pub use verify::{verify, PlanViolation};

/// How the rollout is paced (the policy file's `rollout:` section), and what the manifests
/// say about the cluster beyond the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSettings {
    /// Onboarding phases; a closing lock-down phase may follow them.
    pub phases: u32,
    /// Monitoring window after each phase.
    pub window: Millis,
    /// A phase onboarding more services than this is split.
    pub max_services_per_phase: Option<u32>,
    pub trust_domain: String,
    pub ingress_gateway_principal: String,
    /// Namespace labels, load balancers and gateway routes (empty: none known).
    pub cluster: ClusterFacts,
}

impl PlanSettings {
    pub fn from_policy(policy: &Policy) -> Self {
        PlanSettings {
            phases: policy.rollout.phases,
            window: policy.rollout.window,
            max_services_per_phase: policy.rollout.max_services_per_phase,
            trust_domain: policy.trust_domain.clone(),
            ingress_gateway_principal: policy.ingress_gateway_principal.clone(),
            cluster: ClusterFacts::default(),
        }
    }
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self::from_policy(&Policy::default())
    }
}

/// The rollout of `config`, as generated, over the services of `topology`.
pub fn plan(topology: &Topology, config: &MeshConfig, settings: &PlanSettings) -> Plan {
    plan_from(topology, &RolloutConfig::generated(config), settings)
}

/// The rollout of `config` (with a person's edits, if it holds any) over the services of
/// `topology`.
pub fn plan_from(topology: &Topology, config: &RolloutConfig, settings: &PlanSettings) -> Plan {
    let schedule = phases::schedule(topology, config, settings);
    let mut out = Plan {
        format: PLAN_FORMAT,
        trust_domain: settings.trust_domain.clone(),
        ingress_gateway_principal: settings.ingress_gateway_principal.clone(),
        window: window_text(settings.window),
        phases: Vec::new(),
        held: schedule.held.clone(),
        skipped: schedule.skipped.clone(),
        notes: schedule.notes.clone(),
    };
    for file in config.edited_files() {
        out.notes.push(format!(
            "{file} was edited since it was generated: the steps apply it as it is now"
        ));
    }
    let cx = steps::Cx::new(topology, config, &schedule, settings);
    for (index, group) in schedule.groups.iter().enumerate() {
        let number = index as u32 + 1;
        let mut phase = Phase {
            released_smoke_tests: None,
            number,
            title: group.title.clone(),
            tiers: group.tiers.clone(),
            services: group.services.clone(),
            locked: schedule.locked_in(number),
            steps: Vec::new(),
            smoke_tests: Vec::new(),
            watch: Vec::new(),
            proceed_when: String::new(),
            roll_back_when: String::new(),
            gate: None,
        };
        phase.steps = cx.steps(&phase);
        checks::fill(topology, &cx, &mut phase, &out.window);
        phase.gate = Some(gate_commands::for_phase(
            &phase,
            &out.window,
            settings.window.0 / 1000,
        ));
        out.phases.push(phase);
    }
    // Once every workload of the plan has its sidecar, traffic shows every caller of the
    // services whose policies are still in dry-run: the last phase says how to collect it.
    if let Some(last) = out.phases.last_mut() {
        if !schedule.unverified.is_empty() {
            let id = format!(
                "phase-{}/{}-{}",
                last.number,
                last.steps.len() + 1,
                StepAction::CollectTraffic.as_str()
            );
            let services = schedule.unverified.iter().cloned().collect();
            last.steps.push(collect::step(id, services, &out.window));
        }
    }
    out
}

/// `4h`, `90m`, `45s`: the largest unit that divides the window.
pub fn window_text(window: Millis) -> String {
    let ms = window.0;
    if (ms / 3_600_000) * 3_600_000 == ms {
        format!("{}h", ms / 3_600_000)
    } else if (ms / 60_000) * 60_000 == ms {
        format!("{}m", ms / 60_000)
    } else {
        window.to_string()
    }
}
