//! Sidecar injection per phase: a namespace whose services join in different phases is never
//! labelled (each workload gets the pod label in its own phase), a namespace that moves whole
//! is labelled once, rollbacks undo exactly that, and nothing injects where a pod or a
//! namespace opted out.

use super::*;
use crate::generate::fixtures::{edge, node, origin, topology};
use crate::generate::{generate, GenerateOptions};
use crate::model::StringMap;
use crate::policy::Policy;
use std::collections::BTreeMap;

/// online-boutique's shape: one namespace, a worker, a core API and an exposed front end
/// (three tiers, three phases), plus a namespace of its own for two workers.
fn shared() -> Topology {
    let load = node("default", "loadgen", Role::Worker, Protocol::Http);
    let cart = node("default", "cart", Role::SyncApi, Protocol::Grpc);
    let mut front = node("default", "frontend", Role::Gateway, Protocol::Http);
    front.exposure.direct = Some((ServiceType::LoadBalancer, origin(3)));
    let mail = node("jobs", "mailer", Role::Worker, Protocol::Http);
    let sms = node("jobs", "texter", Role::Worker, Protocol::Http);
    let edges = vec![
        edge(&load.id, &front.id, Protocol::Http),
        edge(&front.id, &cart.id, Protocol::Grpc),
    ];
    topology(vec![load, cart, front, mail, sms], edges, Vec::new())
}

/// The plan with these namespace labels in the manifests.
fn planned_with(t: &Topology, labels: &[(&str, &str, &str)]) -> Plan {
    let mut namespace_labels: BTreeMap<String, StringMap> = BTreeMap::new();
    for (ns, k, v) in labels {
        namespace_labels
            .entry(ns.to_string())
            .or_default()
            .insert(*k, *v);
    }
    let options = GenerateOptions {
        namespace_labels: namespace_labels.clone(),
        ..GenerateOptions::default()
    };
    let config = generate(t, &Policy::default(), &options);
    // One phase per tier: workers, core, exposed.
    let mut settings = PlanSettings {
        phases: 3,
        ..PlanSettings::default()
    };
    settings.cluster.namespace_labels = namespace_labels;
    plan(t, &config, &settings)
}

fn sidecar_step(plan: &Plan, phase: usize) -> &Step {
    plan.phases[phase]
        .steps
        .iter()
        .find(|s| s.action == StepAction::Sidecars)
        .expect("a sidecars step")
}

fn all_commands(plan: &Plan) -> Vec<&str> {
    plan.phases
        .iter()
        .flat_map(|p| &p.steps)
        .flat_map(|s| s.commands.iter().chain(&s.rollback.commands))
        .map(String::as_str)
        .collect()
}

fn patch(workload: &str, ns: &str, value: &str) -> String {
    format!(
        "kubectl patch deployment/{workload} -n {ns} --type merge -p '{{\"spec\":{{\"template\":{{\"metadata\":{{\"labels\":{{\"sidecar.istio.io/inject\":{value}}}}}}}}}}}'"
    )
}

fn meshed_in(step: &Step) -> Vec<&str> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Sidecar { service } => Some(service.name.as_str()),
            _ => None,
        })
        .collect()
}

fn assert_clean(plan: &Plan, t: &Topology) {
    assert_eq!(verify(plan, t), Vec::new());
    for (pi, si, broken) in simulate::walk(plan, t) {
        assert!(broken.is_empty(), "phase {pi} step {si}: {broken:?}");
    }
}

#[test]
fn a_namespace_shared_by_phases_is_never_labelled_and_each_workload_joins_in_its_phase() {
    let t = shared();
    let plan = planned_with(&t, &[]);
    let default_ns = |c: &&str| c.contains("label namespace default");
    assert!(!all_commands(&plan).iter().any(default_ns), "{plan:#?}");
    for (i, phase) in plan.phases.iter().enumerate() {
        if phase.services.iter().all(|s| s.namespace != "default") {
            continue;
        }
        let step = sidecar_step(&plan, i);
        let meshed = meshed_in(step);
        // Every workload of `default` this step meshes gets the pod label, and no other.
        for s in t.services.iter().filter(|s| s.id.namespace == "default") {
            let on = patch(&s.id.name, "default", "\"true\"");
            let off = patch(&s.id.name, "default", "null");
            let here = meshed.contains(&s.id.name.as_str());
            assert_eq!(
                step.commands.contains(&on),
                here,
                "{}: {:?}",
                s.id,
                step.commands
            );
            assert_eq!(step.rollback.commands.contains(&off), here, "{}", s.id);
        }
    }
    // loadgen's phase touches nothing else of the namespace.
    let first = sidecar_step(&plan, 0);
    let mut meshed = meshed_in(first);
    meshed.sort_unstable();
    assert_eq!(meshed, ["loadgen", "mailer", "texter"]);
    assert!(!first
        .commands
        .iter()
        .any(|c| c.contains("cart") || c.contains("frontend")));
    assert_clean(&plan, &t);
}

#[test]
fn a_namespace_that_moves_whole_is_labelled_once_and_the_rollback_takes_the_label_off() {
    let t = shared();
    let plan = planned_with(&t, &[]);
    let labels: Vec<&str> = all_commands(&plan)
        .into_iter()
        .filter(|c| c.contains("label namespace"))
        .collect();
    assert_eq!(
        labels,
        [
            "kubectl label namespace jobs istio-injection=enabled --overwrite",
            "kubectl label namespace jobs istio-injection-",
        ]
    );
    let step = sidecar_step(&plan, 0);
    let rb = &step.rollback.commands;
    let off = rb
        .iter()
        .position(|c| c == "kubectl label namespace jobs istio-injection-")
        .expect("the label comes off");
    let restart = rb
        .iter()
        .position(|c| c == "kubectl rollout restart deployment/mailer -n jobs")
        .expect("then the pods come back without a sidecar");
    assert!(off < restart, "{rb:?}");
    assert!(step
        .commands
        .contains(&"kubectl rollout restart deployment/texter -n jobs".to_string()));
    assert_clean(&plan, &t);
}

#[test]
fn a_namespace_label_of_another_value_is_restored_by_the_rollback() {
    let t = shared();
    let plan = planned_with(&t, &[("jobs", "istio-injection", "pending")]);
    let rb = &sidecar_step(&plan, 0).rollback.commands;
    assert!(
        rb.contains(
            &"kubectl label namespace jobs istio-injection=pending --overwrite".to_string()
        ),
        "{rb:?}"
    );
}

#[test]
fn a_namespace_that_opted_out_gets_no_sidecar_and_keeps_its_label() {
    let t = shared();
    let plan = planned_with(&t, &[("default", "istio-injection", "disabled")]);
    let commands = all_commands(&plan);
    assert!(!commands
        .iter()
        .any(|c| c.contains("label namespace default")));
    assert!(!commands
        .iter()
        .any(|c| c.contains("-n default") && c.contains("inject")));
    for p in &plan.phases {
        for s in &p.steps {
            assert!(
                !s.effects.iter().any(
                    |e| matches!(e, Effect::Sidecar { service } if service.namespace == "default")
                ),
                "{}",
                s.id
            );
        }
        assert!(!p.locked.iter().any(|s| s.namespace == "default"));
    }
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("namespace default is labelled istio-injection=disabled")));
    assert!(plan.held.iter().any(|h| h.service.name == "cart"));
    assert_clean(&plan, &t);
}

#[test]
fn a_pod_that_opted_out_by_label_is_never_patched() {
    let mut t = shared();
    for s in t.services.iter_mut().filter(|s| s.id.name == "cart") {
        s.workloads[0]
            .pod_labels
            .insert("sidecar.istio.io/inject", "false");
    }
    let plan = planned_with(&t, &[]);
    assert!(!all_commands(&plan)
        .iter()
        .any(|c| c.contains("deployment/cart")));
    assert!(plan.notes.iter().any(|n| n.contains("cart.default")));
    assert_clean(&plan, &t);
}

#[test]
fn a_pod_on_its_nodes_network_is_never_patched_even_when_it_asks() {
    let mut t = shared();
    for s in t.services.iter_mut().filter(|s| s.id.name == "cart") {
        s.workloads[0].host_network = true;
        s.workloads[0]
            .pod_labels
            .insert("sidecar.istio.io/inject", "true");
    }
    let plan = planned_with(&t, &[]);
    assert!(!all_commands(&plan)
        .iter()
        .any(|c| c.contains("deployment/cart")));
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("cart.default") && n.contains("hostNetwork: true")));
    assert_clean(&plan, &t);
}

#[test]
fn a_namespace_that_injects_already_only_restarts_and_opts_out_on_rollback() {
    let t = shared();
    let plan = planned_with(&t, &[("default", "istio-injection", "enabled")]);
    assert!(!all_commands(&plan)
        .iter()
        .any(|c| c.contains("label namespace default")));
    let step = sidecar_step(&plan, 0);
    assert!(step
        .commands
        .contains(&"kubectl rollout restart deployment/loadgen -n default".to_string()));
    assert!(step
        .rollback
        .commands
        .contains(&patch("loadgen", "default", "\"false\"")));
    assert_clean(&plan, &t);
}
