//! Plan + Topology -> the rules of the mesh the plan breaks, each with a stable code and the
//! place in `plan.json` (a JSON pointer) where it shows.
//!
//! | code  | name                                 | what |
//! |-------|--------------------------------------|------|
//! | MS401 | locked-before-callers-meshed         | STRICT or enforcement in a phase not after every caller's sidecar phase |
//! | MS402 | enforced-without-dry-run             | an AuthorizationPolicy enforced without a dry-run in an earlier phase |
//! | MS403 | rollback-breaks-later-phase          | a rollback that, run once later phases are in place, breaks a call |
//! | MS404 | service-in-no-phase                  | a service of the graph that no phase onboards and the plan does not skip |
//! | MS405 | virtual-service-before-destination-rule | a VirtualService applied before its service's DestinationRule |
//! | MS406 | phase-lists-disagree-with-steps      | a phase's `services` or `locked` list says otherwise than its steps do |
//! | MS407 | enforced-policy-denies-a-call        | an enforced AuthorizationPolicy that does not admit a caller of the graph |
//!
//! Beyond the phase-order rules, the plan is walked step by step (see `simulate`): a call
//! that fails after some step is MS401 when the caller has no sidecar yet, MS407 when the
//! policy leaves the caller out; so every plan that breaks a call gets a finding.
//!
//! The lists of a phase are what a person reads; the steps' effects are what runs. An edit
//! that moves a name in a list without moving the steps (or the reverse) is MS406.
//! Works on a plan read back from JSON, so a person's edit is checked by the same rules.

use super::simulate::{calls, walk, Cause, State};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

pub use crate::model::PlanViolation;

pub const CODES: [(&str, &str); 7] = [
    ("MS401", "locked-before-callers-meshed"),
    ("MS402", "enforced-without-dry-run"),
    ("MS403", "rollback-breaks-later-phase"),
    ("MS404", "service-in-no-phase"),
    ("MS405", "virtual-service-before-destination-rule"),
    ("MS406", "phase-lists-disagree-with-steps"),
    ("MS407", "enforced-policy-denies-a-call"),
];

fn violation(
    index: usize,
    message: String,
    at: (Option<&Phase>, Option<&Step>, Option<&QualifiedName>),
    pointer: String,
) -> PlanViolation {
    PlanViolation {
        code: CODES[index].0,
        name: CODES[index].1,
        message,
        phase: at.0.map(|p| p.number),
        step: at.1.map(|s| s.id.clone()),
        service: at.2.cloned(),
        pointer,
    }
}

/// Every rule the plan breaks, sorted by code, then place.
pub fn verify(plan: &Plan, topology: &Topology) -> Vec<PlanViolation> {
    let edges = topology.edge_index();
    let mut out = Vec::new();
    // Earliest phase (by position) each service gets a sidecar / a dry-run policy.
    let mut meshed: BTreeMap<&QualifiedName, usize> = BTreeMap::new();
    let mut dry_run: BTreeMap<&QualifiedName, usize> = BTreeMap::new();
    let mut destination_rule: BTreeSet<&QualifiedName> = BTreeSet::new();
    for (pi, phase) in plan.phases.iter().enumerate() {
        for step in &phase.steps {
            for e in &step.effects {
                match e {
                    Effect::Sidecar { service } => {
                        meshed.entry(service).or_insert(pi);
                    }
                    Effect::Authorization {
                        service,
                        state: AuthzState::DryRun,
                        ..
                    } => {
                        dry_run.entry(service).or_insert(pi);
                    }
                    _ => {}
                }
            }
        }
    }
    for (pi, phase) in plan.phases.iter().enumerate() {
        for (si, step) in phase.steps.iter().enumerate() {
            for (ei, e) in step.effects.iter().enumerate() {
                let pointer = format!("/phases/{pi}/steps/{si}/effects/{ei}");
                let at = (Some(phase), Some(step), Some(e.service()));
                let locks = match e {
                    Effect::Mtls {
                        mode: MtlsState::Strict,
                        ..
                    } => Some("goes STRICT"),
                    Effect::Authorization {
                        state: AuthzState::Enforced,
                        ..
                    } => Some("enforces its AuthorizationPolicy"),
                    _ => None,
                };
                if let Some(what) = locks {
                    let s = e.service();
                    for edge in edges.callers(s).iter().filter(|edge| &edge.from != s) {
                        let has_workloads = topology
                            .service(&edge.from)
                            .is_some_and(|c| !c.workloads.is_empty());
                        if !has_workloads {
                            continue;
                        }
                        let ok = meshed.get(&edge.from).is_some_and(|m| *m < pi)
                            || admits_without_identity(e, topology, edge);
                        if !ok {
                            let when = match meshed.get(&edge.from) {
                                Some(m) => format!("only in phase {}", plan.phases[*m].number),
                                None => "in no phase".to_string(),
                            };
                            out.push(violation(
                                0,
                                format!(
                                    "{s} {what} in phase {}, but its caller {} gets a sidecar {when}",
                                    phase.number, edge.from
                                ),
                                at,
                                pointer.clone(),
                            ));
                        }
                    }
                }
                if let Effect::Authorization {
                    service,
                    state: AuthzState::Enforced,
                    ..
                } = e
                {
                    if dry_run.get(service).is_none_or(|d| *d >= pi) {
                        out.push(violation(
                            1,
                            format!(
                                "{service} enforces its AuthorizationPolicy in phase {} without a dry-run in an earlier phase",
                                phase.number
                            ),
                            at,
                            pointer.clone(),
                        ));
                    }
                }
                if let Effect::Traffic {
                    service,
                    kind,
                    present: true,
                } = e
                {
                    match kind {
                        TrafficKind::DestinationRule => {
                            destination_rule.insert(service);
                        }
                        TrafficKind::VirtualService if !destination_rule.contains(service) => {
                            let later = plan.phases.iter().flat_map(|p| &p.steps).any(|s| {
                                s.effects.iter().any(|x| {
                                    matches!(x, Effect::Traffic { service: t, kind: TrafficKind::DestinationRule, present: true } if t == service)
                                })
                            });
                            if later {
                                out.push(violation(
                                    4,
                                    format!("{service}: its VirtualService (timeouts, retries) is applied before its DestinationRule (circuit breaker)"),
                                    at,
                                    pointer.clone(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    walked(plan, topology, &mut out);
    rollbacks(plan, topology, &mut out);
    lists(plan, &mut out);
    in_no_phase(plan, topology, &mut out);
    out.sort();
    out.dedup();
    out
}

/// An enforced policy that admits requests without an identity on the port the edge uses:
/// a caller without a sidecar is let in there (its callee stays PERMISSIVE for it).
fn admits_without_identity(e: &Effect, topology: &Topology, edge: &Edge) -> bool {
    let Effect::Authorization {
        state: AuthzState::Enforced,
        plain_ports,
        ..
    } = e
    else {
        return false;
    };
    let port = topology
        .service(&edge.to)
        .and_then(|callee| super::simulate::edge_port(callee, edge));
    port.is_some_and(|p| plain_ports.contains(&p))
}

/// MS401 / MS407 for each call that fails after some step, at the first step it fails, unless
/// the phase-order rule already named the callee.
fn walked(plan: &Plan, topology: &Topology, out: &mut Vec<PlanViolation>) {
    let mut seen: BTreeSet<(QualifiedName, QualifiedName)> = BTreeSet::new();
    for (pi, si, broken) in walk(plan, topology) {
        let (Some(phase), Some(step)) = (
            plan.phases.get(pi),
            plan.phases.get(pi).and_then(|p| p.steps.get(si)),
        ) else {
            continue;
        };
        for b in broken {
            if !seen.insert((b.from.clone(), b.to.clone())) {
                continue;
            }
            let index = match b.cause {
                Cause::CallerNotMeshed => 0,
                Cause::NotAdmitted => 6,
            };
            let named = out
                .iter()
                .any(|v| v.code == CODES[index].0 && v.service.as_ref() == Some(&b.to));
            if named {
                continue;
            }
            out.push(violation(
                index,
                format!("after {}, {} -> {} fails: {}", step.id, b.from, b.to, b.why),
                (Some(phase), Some(step), Some(&b.to)),
                format!("/phases/{pi}/steps/{si}"),
            ));
        }
    }
}

/// MS403: each rollback, run at the end of its own phase or of any later one, must leave
/// every call working.
///
/// A rollback changes only the services its effects name, and a call's fate depends only on
/// its caller's and its callee's state: the calls it can break are the ones touching those
/// services, so only they are compared before and after it.
fn rollbacks(plan: &Plan, topology: &Topology, out: &mut Vec<PlanViolation>) {
    // The calls each service is an end of, by position.
    let calls = calls(topology);
    let mut touching: BTreeMap<&QualifiedName, Vec<usize>> = BTreeMap::new();
    for (i, c) in calls.iter().enumerate() {
        touching.entry(&c.caller.id).or_default().push(i);
        touching.entry(&c.callee.id).or_default().push(i);
    }
    // The state at the end of each phase; the state after each step is the walk's own.
    let mut state = State::before(topology);
    let mut phase_end = Vec::new();
    for phase in &plan.phases {
        for step in &phase.steps {
            state.apply(&step.effects);
        }
        phase_end.push(state.clone());
    }
    let mut state = State::before(topology);
    for (pi, phase) in plan.phases.iter().enumerate() {
        for (si, step) in phase.steps.iter().enumerate() {
            state.apply(&step.effects);
            if step.rollback.effects.is_empty() {
                continue;
            }
            let changed: BTreeSet<&QualifiedName> =
                step.rollback.effects.iter().map(Effect::service).collect();
            let mut near: Vec<usize> = changed
                .iter()
                .filter_map(|s| touching.get(s))
                .flatten()
                .copied()
                .collect();
            near.sort_unstable();
            near.dedup();
            let entered: Vec<&MeshService> =
                changed.iter().filter_map(|s| topology.service(s)).collect();
            let broken = |s: &State| {
                s.broken_among(
                    plan,
                    near.iter().map(|&i| &calls[i]),
                    entered.iter().copied(),
                )
            };
            let points = std::iter::once((phase.number, &state)).chain(
                plan.phases[pi..]
                    .iter()
                    .zip(&phase_end[pi..])
                    .map(|(p, s)| (p.number, s)),
            );
            for (when, base) in points {
                let before = broken(base);
                let mut s = base.clone();
                s.apply(&step.rollback.effects);
                // Only what the rollback itself breaks; calls already failing are the
                // forward walk's findings.
                let after = broken(&s);
                let new = after
                    .iter()
                    .find(|b| !before.iter().any(|x| x.from == b.from && x.to == b.to));
                if let Some(b) = new {
                    out.push(violation(
                        2,
                        format!(
                            "rolling back {} once phase {when} is in place breaks {} -> {} ({})",
                            step.id, b.from, b.to, b.why
                        ),
                        (Some(phase), Some(step), Some(&b.to)),
                        format!("/phases/{pi}/steps/{si}/rollback"),
                    ));
                    break;
                }
            }
        }
    }
}

/// MS404: services with workloads that no phase onboards and the plan does not skip.
fn in_no_phase(plan: &Plan, topology: &Topology, out: &mut Vec<PlanViolation>) {
    let placed: BTreeSet<&QualifiedName> = plan
        .phases
        .iter()
        .flat_map(|p| p.services.iter())
        .chain(plan.skipped.iter().map(|s| &s.service))
        .collect();
    for s in &topology.services {
        if s.workloads.is_empty() || placed.contains(&s.id) {
            continue;
        }
        out.push(violation(
            3,
            format!("{} is in no phase and not listed as skipped", s.id),
            (None, None, Some(&s.id)),
            "/phases".to_string(),
        ));
    }
}

/// MS406: each phase's `services` are the ones its steps give a sidecar or PERMISSIVE mode
/// first, and its `locked` the ones its steps make STRICT or enforced.
fn lists(plan: &Plan, out: &mut Vec<PlanViolation>) {
    for (pi, phase) in plan.phases.iter().enumerate() {
        let effects = || phase.steps.iter().flat_map(|s| &s.effects);
        let onboarded: BTreeSet<&QualifiedName> = effects()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Sidecar { .. }
                        | Effect::Mtls {
                            mode: MtlsState::Permissive,
                            ..
                        }
                )
            })
            .map(Effect::service)
            .collect();
        let locked: BTreeSet<&QualifiedName> = effects()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Mtls {
                        mode: MtlsState::Strict,
                        ..
                    } | Effect::Authorization {
                        state: AuthzState::Enforced,
                        ..
                    }
                )
            })
            .map(Effect::service)
            .collect();
        let checks = [
            ("services", "onboards", &phase.services, onboarded),
            ("locked", "locks down", &phase.locked, locked),
        ];
        for (key, verb, listed, done) in checks {
            let listed: BTreeSet<&QualifiedName> = listed.iter().collect();
            for s in listed.symmetric_difference(&done) {
                let (says, does) = if listed.contains(s) {
                    ("lists", "no step does")
                } else {
                    ("does not list", "a step does")
                };
                out.push(violation(
                    5,
                    format!(
                        "phase {} {says} {s} under `{key}`, but {does}: move the steps with the name ({verb})",
                        phase.number
                    ),
                    (Some(phase), None, Some(s)),
                    format!("/phases/{pi}/{key}"),
                ));
            }
        }
    }
}
