//! Property: on any graph, at every step of the plan every call of the graph still works
//! (sidecars, each service's mTLS mode, each AuthorizationPolicy's state with the principals
//! of the generated configuration), every rollback is safe at any later point, the plan
//! verifies clean, and at the end every service not held is STRICT and enforced.

use super::*;
use crate::generate::fixtures::{edge, node, origin, topology};
use crate::generate::{generate, GenerateOptions};
use proptest::prelude::*;
use std::collections::BTreeMap;

const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const PROTOCOLS: [Protocol; 3] = [Protocol::Http, Protocol::Grpc, Protocol::Tcp];

/// (namespace, role, protocol, exposure 0..6, opts out of injection)
type NodeSeed = (usize, usize, usize, u8, bool);

fn graph() -> impl Strategy<Value = Topology> {
    (1usize..10).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                (
                    0..NAMESPACES.len(),
                    0..Role::ALL.len(),
                    0..PROTOCOLS.len(),
                    0u8..6,
                    proptest::bool::weighted(0.1),
                ),
                n,
            ),
            proptest::collection::vec(proptest::bool::weighted(0.3), n * n),
        )
            .prop_map(move |(nodes, matrix): (Vec<NodeSeed>, Vec<bool>)| {
                let services: Vec<MeshService> = nodes
                    .iter()
                    .enumerate()
                    .map(|(i, (ns, role, proto, exposure, opt_out))| {
                        let mut s = node(
                            NAMESPACES[*ns],
                            &format!("s{i}"),
                            Role::ALL[*role],
                            PROTOCOLS[*proto],
                        );
                        match exposure {
                            0 => s.exposure.ingress_gateway.push(origin(9)),
                            1 => s.exposure.ingress.push(origin(9)),
                            2 => s.exposure.direct = Some((ServiceType::LoadBalancer, origin(9))),
                            _ => {}
                        }
                        if *opt_out {
                            s.workloads[0].sidecar_annotation = Some(false);
                        }
                        s
                    })
                    .collect();
                let mut edges = Vec::new();
                for (i, from) in services.iter().enumerate() {
                    for (j, to) in services.iter().enumerate() {
                        if i != j && matrix[i * n + j] {
                            edges.push(edge(&from.id, &to.id, to.protocol));
                        }
                    }
                }
                topology(services, edges, Vec::new())
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_call_works_at_every_step_and_the_plan_verifies(
        topology in graph(),
        phases in 1u32..7,
        max in proptest::option::of(1u32..4),
    ) {
        let config = generate(&topology, &crate::policy::Policy::default(), &GenerateOptions::default());
        let settings = PlanSettings { phases, max_services_per_phase: max, ..PlanSettings::default() };
        let plan = plan(&topology, &config, &settings);
        for (pi, si, broken) in simulate::walk(&plan, &topology) {
            prop_assert!(broken.is_empty(), "phase {} step {}: {:?}", pi + 1, si + 1, broken);
        }
        let found = verify(&plan, &topology);
        prop_assert!(found.is_empty(), "{:?}", found);
        if let Err(e) = sidecars_only_where_the_effects_say(&plan, &topology) {
            prop_assert!(false, "{}", e);
        }

        // Every service with workloads is onboarded exactly once.
        let mut seen: BTreeMap<&QualifiedName, usize> = BTreeMap::new();
        for s in plan.phases.iter().flat_map(|p| &p.services) {
            *seen.entry(s).or_default() += 1;
        }
        for s in &topology.services {
            prop_assert_eq!(seen.get(&s.id).copied(), Some(1), "{}", s.id);
        }

        // The end state is the generated configuration, except where a lock-down is held.
        let mut mtls: BTreeMap<&QualifiedName, MtlsState> = BTreeMap::new();
        let mut authz: BTreeMap<&QualifiedName, AuthzState> = BTreeMap::new();
        for e in plan.phases.iter().flat_map(|p| &p.steps).flat_map(|s| &s.effects) {
            match e {
                Effect::Mtls { service, mode } => { mtls.insert(service, *mode); }
                Effect::Authorization { service, state, .. } => { authz.insert(service, *state); }
                _ => {}
            }
        }
        let held: Vec<&QualifiedName> = plan.held.iter().map(|h| &h.service).collect();
        for r in &config.resources {
            if held.contains(&&r.owner) {
                continue;
            }
            match &r.spec {
                Spec::PeerAuthentication(pa) if pa.mtls.mode == "STRICT" => {
                    prop_assert_eq!(mtls.get(&r.owner).copied(), Some(MtlsState::Strict), "{}", r.owner);
                }
                Spec::AuthorizationPolicy(_) => {
                    prop_assert_eq!(authz.get(&r.owner).copied(), Some(AuthzState::Enforced), "{}", r.owner);
                }
                _ => {}
            }
        }
    }
}

/// The commands of each sidecars step give a sidecar to exactly the workloads of the services
/// its effects say get one, and label a namespace only when every workload in it does.
fn sidecars_only_where_the_effects_say(plan: &Plan, t: &Topology) -> Result<(), String> {
    for step in plan.phases.iter().flat_map(|p| &p.steps) {
        let meshed: Vec<&QualifiedName> = step
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Sidecar { service } => Some(service),
                _ => None,
            })
            .collect();
        let mut given: Vec<(String, String)> = Vec::new();
        for c in &step.commands {
            let words: Vec<&str> = c.split_whitespace().collect();
            let target = match words.as_slice() {
                ["kubectl", "patch", w, "-n", ns, ..] if c.contains(":\"true\"") => Some((w, ns)),
                ["kubectl", "rollout", "restart", w, "-n", ns] => Some((w, ns)),
                _ => None,
            };
            if let Some((w, ns)) = target {
                let name = w.trim_start_matches("deployment/");
                given.push((ns.to_string(), name.to_string()));
            }
            if let ["kubectl", "label", "namespace", ns, "istio-injection=enabled", ..] =
                words.as_slice()
            {
                for s in t.services.iter().filter(|s| s.id.namespace == *ns) {
                    if !meshed.contains(&&s.id)
                        && s.workloads
                            .iter()
                            .any(|w| w.sidecar_annotation != Some(false))
                    {
                        return Err(format!(
                            "{}: labels {ns}, but {} gets no sidecar in it",
                            step.id, s.id
                        ));
                    }
                }
            }
        }
        let mut wanted: Vec<(String, String)> = meshed
            .iter()
            .filter_map(|s| t.service(s))
            .flat_map(|m| {
                m.workloads
                    .iter()
                    .map(|w| (m.id.namespace.to_string(), w.name.clone()))
            })
            .collect();
        given.sort();
        wanted.sort();
        if given != wanted {
            return Err(format!(
                "{}: commands mesh {given:?}, effects {wanted:?}",
                step.id
            ));
        }
    }
    Ok(())
}

#[test]
fn the_simulation_sees_a_call_break_when_strict_comes_too_early() {
    let t = crate::generate::fixtures::shopfront_and_odd_shapes();
    let config = generate(
        &t,
        &crate::policy::Policy::default(),
        &GenerateOptions::default(),
    );
    let mut plan = plan(&t, &config, &PlanSettings::default());
    // order-service STRICT while the gateway (phase 4) has no sidecar yet.
    let order = QualifiedName::new("shop", "order-service");
    plan.phases[2].steps[0].effects.push(Effect::Mtls {
        service: order.clone(),
        mode: MtlsState::Strict,
    });
    let broken: Vec<simulate::Broken> = simulate::walk(&plan, &t)
        .into_iter()
        .flat_map(|(_, _, b)| b)
        .collect();
    assert!(
        broken
            .iter()
            .any(|b| b.to == order && b.from.name == "api-gateway"),
        "{broken:?}"
    );
    assert!(verify(&plan, &t).iter().any(|v| v.code == "MS401"));
}

/// Changes a person might make to plan.json: drop an effect, move one to another step,
/// swap two steps, drop a principal from a policy, or drop an effect of a rollback.
fn mutate(plan: &mut Plan, kind: u8, a: usize, b: usize) {
    let positions: Vec<(usize, usize)> = plan
        .phases
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| (0..p.steps.len()).map(move |si| (pi, si)))
        .collect();
    if positions.is_empty() {
        return;
    }
    let (pa, sa) = positions[a % positions.len()];
    let (pb, sb) = positions[b % positions.len()];
    match kind {
        0 | 1 => {
            let effects = &mut plan.phases[pa].steps[sa].effects;
            if effects.is_empty() {
                return;
            }
            let e = effects.remove(b % effects.len());
            if kind == 1 {
                plan.phases[pb].steps[sb].effects.push(e);
            }
        }
        2 => {
            let first = plan.phases[pa].steps[sa].clone();
            let second = std::mem::replace(&mut plan.phases[pb].steps[sb], first);
            plan.phases[pa].steps[sa] = second;
        }
        3 => {
            let effects = &mut plan.phases[pa].steps[sa].rollback.effects;
            if !effects.is_empty() {
                effects.remove(b % effects.len());
            }
        }
        _ => {
            for e in &mut plan.phases[pa].steps[sa].effects {
                if let Effect::Authorization { principals, .. } = e {
                    if !principals.is_empty() {
                        principals.remove(b % principals.len());
                        return;
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_edit_that_breaks_a_call_gets_a_finding(
        topology in graph(),
        phases in 1u32..6,
        edit in (0u8..5, any::<usize>(), any::<usize>()),
    ) {
        let config = generate(&topology, &crate::policy::Policy::default(), &GenerateOptions::default());
        let settings = PlanSettings { phases, ..PlanSettings::default() };
        let mut plan = plan(&topology, &config, &settings);
        mutate(&mut plan, edit.0, edit.1, edit.2);
        let header = crate::generate::Header { version: "test".into(), inputs: Vec::new() };
        let read = layout::read_plan(&layout::plan_json(&plan, &header));
        prop_assert_eq!(read.as_ref(), Ok(&super::tests::as_written(&plan)));
        let found = verify(&plan, &topology);
        let breaks = simulate::walk(&plan, &topology).into_iter().any(|(_, _, b)| !b.is_empty());
        prop_assert!(!breaks || !found.is_empty(), "a call breaks but verify is silent");
        // MS403 looks only at the calls a rollback can change; every call gives the same.
        let ms403: Vec<&str> = found.iter().filter(|v| v.code == "MS403").map(|v| v.message.as_str()).collect();
        let every_call = rollbacks_on_every_call(&plan, &topology);
        prop_assert_eq!(ms403, every_call.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// MS403's messages, each rollback compared on every call of the graph before and after it,
/// at the end of its own step and of its phase and every later one.
fn rollbacks_on_every_call(plan: &Plan, t: &Topology) -> Vec<String> {
    use simulate::State;
    let mut ends = Vec::new();
    let mut state = State::before(t);
    for phase in &plan.phases {
        for step in &phase.steps {
            state.apply(&step.effects);
        }
        ends.push(state.clone());
    }
    let mut out = Vec::new();
    let mut state = State::before(t);
    for (pi, phase) in plan.phases.iter().enumerate() {
        for step in &phase.steps {
            state.apply(&step.effects);
            let points = std::iter::once((phase.number, &state))
                .chain(plan.phases[pi..].iter().map(|p| p.number).zip(&ends[pi..]));
            for (when, base) in points {
                let before = base.broken(t, plan);
                let mut after = base.clone();
                after.apply(&step.rollback.effects);
                let new = after
                    .broken(t, plan)
                    .into_iter()
                    .find(|b| !before.iter().any(|x| x.from == b.from && x.to == b.to));
                if let Some(b) = new {
                    out.push(format!(
                        "rolling back {} once phase {when} is in place breaks {} -> {} ({})",
                        step.id, b.from, b.to, b.why
                    ));
                    break;
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Rollbacks a person cut short: MS403 judged on the calls each rollback touches finds
    /// what judging every call finds.
    #[test]
    fn a_rollback_is_judged_on_the_calls_it_touches(
        topology in graph(),
        phases in 1u32..6,
        cuts in proptest::collection::vec((any::<usize>(), any::<usize>()), 1..4),
    ) {
        let config = generate(&topology, &crate::policy::Policy::default(), &GenerateOptions::default());
        let settings = PlanSettings { phases, ..PlanSettings::default() };
        let mut plan = plan(&topology, &config, &settings);
        for (a, b) in cuts {
            mutate(&mut plan, 3, a, b);
        }
        let found = verify(&plan, &topology);
        let ms403: Vec<&str> = found.iter().filter(|v| v.code == "MS403").map(|v| v.message.as_str()).collect();
        let every_call = rollbacks_on_every_call(&plan, &topology);
        prop_assert_eq!(ms403, every_call.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
