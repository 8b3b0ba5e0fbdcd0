//! Plans for hand-built graphs: tiers and lock-down phases, phase counts from the policy,
//! holds, and plan.json edited by hand and verified again.

use super::layout::{plan_json, read_plan};
use super::*;
use crate::generate::fixtures::{node, shopfront_and_odd_shapes};
use crate::generate::{generate, GenerateOptions, Header};
use crate::policy::Policy;
use serde_json::Value;

fn planned(topology: &Topology, phases: u32) -> (Plan, MeshConfig) {
    let config = generate(topology, &Policy::default(), &GenerateOptions::default());
    let settings = PlanSettings {
        phases,
        ..PlanSettings::default()
    };
    (plan(topology, &config, &settings), config)
}

fn header() -> Header {
    Header {
        version: "test".into(),
        inputs: vec!["in.yaml".into()],
    }
}

fn phase_of(plan: &Plan, name: &str) -> Option<u32> {
    plan.phases
        .iter()
        .find(|p| p.services.iter().any(|s| s.name == name))
        .map(|p| p.number)
}

fn lock_of(plan: &Plan, name: &str) -> Option<u32> {
    plan.phases
        .iter()
        .find(|p| p.locked.iter().any(|s| s.name == name))
        .map(|p| p.number)
}

#[test]
fn tiers_go_workers_internal_core_exposed_and_lock_after_every_caller() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    assert_eq!(phase_of(&plan, "email-worker"), Some(1));
    assert_eq!(phase_of(&plan, "ledger-service"), Some(2));
    assert_eq!(phase_of(&plan, "order-service"), Some(3));
    assert_eq!(phase_of(&plan, "api-gateway"), Some(4));
    assert_eq!(phase_of(&plan, "stripe-webhook"), Some(4));
    // order-service is called by the gateway (phase 4): locked in the closing phase.
    assert_eq!(lock_of(&plan, "order-service"), Some(5));
    assert!(plan.phases[4].services.is_empty());
    for p in &plan.phases {
        for s in &p.locked {
            for e in t.callers(s).filter(|e| &e.from != s) {
                let caller = phase_of(&plan, &e.from.name).unwrap_or(u32::MAX);
                assert!(
                    caller < p.number,
                    "{s} locked in {} before {}",
                    p.number,
                    e.from
                );
            }
        }
    }
    assert_eq!(verify(&plan, &t), Vec::new());
    for (pi, si, broken) in simulate::walk(&plan, &t) {
        assert!(broken.is_empty(), "phase {pi} step {si}: {broken:?}");
    }
}

#[test]
fn the_phase_count_merges_or_splits_tiers_and_every_service_has_a_phase() {
    let t = shopfront_and_odd_shapes();
    for phases in [1, 2, 3, 5, 8] {
        let (plan, _) = planned(&t, phases);
        let onboarding = plan
            .phases
            .iter()
            .filter(|p| !p.services.is_empty())
            .count();
        assert_eq!(onboarding, phases as usize, "{phases}");
        assert_eq!(verify(&plan, &t), Vec::new(), "{phases}");
        for (_, _, broken) in simulate::walk(&plan, &t) {
            assert!(broken.is_empty(), "{phases}: {broken:?}");
        }
        // Tier order holds whatever the count.
        assert!(phase_of(&plan, "email-worker") <= phase_of(&plan, "ledger-service"));
        assert!(phase_of(&plan, "order-service") <= phase_of(&plan, "api-gateway"));
    }
}

#[test]
fn a_caller_without_a_sidecar_holds_its_callees_lock_down() {
    let mut t = shopfront_and_odd_shapes();
    for s in &mut t.services {
        if s.id.name == "report-builder" {
            s.workloads[0].sidecar_annotation = Some(false);
        }
    }
    let (plan, _) = planned(&t, 4);
    let held: Vec<&str> = plan.held.iter().map(|h| h.service.name.as_str()).collect();
    assert!(held.contains(&"ledger-service"), "{held:?}");
    assert!(held.contains(&"report-builder"), "{held:?}");
    assert_eq!(lock_of(&plan, "ledger-service"), None);
    assert_eq!(verify(&plan, &t), Vec::new());
    for (_, _, broken) in simulate::walk(&plan, &t) {
        assert!(broken.is_empty(), "{broken:?}");
    }
}

#[test]
fn a_service_behind_a_kubernetes_ingress_is_held() {
    let mut t = shopfront_and_odd_shapes();
    let mut web = node("edge", "legacy-web", Role::SyncApi, Protocol::Http);
    web.exposure
        .ingress
        .push(crate::generate::fixtures::origin(7));
    t.services.push(web);
    t.services.sort_by(|a, b| a.id.cmp(&b.id));
    let (plan, _) = planned(&t, 4);
    assert!(plan.held.iter().any(|h| h.service.name == "legacy-web"));
    assert_eq!(phase_of(&plan, "legacy-web"), Some(4));
}

/// plan.json as text, edited by `edit` as a person would, read back.
fn edited(plan: &Plan, edit: impl FnOnce(&mut Value)) -> Plan {
    let text = plan_json(plan, &header());
    let mut value: Value = serde_json::from_str(&text).expect("plan.json is JSON");
    edit(&mut value);
    let text = serde_json::to_string_pretty(&value).expect("serializes");
    read_plan(&text).expect("reads back")
}

fn take_effect(v: &mut Value, phase: usize, step: &str, service: &str) -> Value {
    let steps = v["phases"][phase]["steps"].as_array_mut().expect("steps");
    let s = steps
        .iter_mut()
        .find(|s| s["action"] == step)
        .expect("step present");
    let list = s["effects"].as_array_mut().expect("effects");
    let at = list
        .iter()
        .position(|e| e["service"]["name"] == service)
        .expect("effect present");
    list.remove(at)
}

fn push_effect(v: &mut Value, phase: usize, step: &str, effect: Value) {
    let steps = v["phases"][phase]["steps"].as_array_mut().expect("steps");
    let s = steps
        .iter_mut()
        .find(|s| s["action"] == step)
        .expect("step present");
    s["effects"].as_array_mut().expect("effects").push(effect);
}

fn codes(v: &[PlanViolation]) -> Vec<&'static str> {
    let mut c: Vec<&str> = v.iter().map(|v| v.code).collect();
    c.dedup();
    c
}

#[test]
fn a_plan_read_back_unedited_is_the_same_plan_and_verifies_clean() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    assert_eq!(edited(&plan, |_| {}), plan);
}

#[test]
fn strict_moved_a_phase_earlier_is_ms401_at_its_place() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    // order-service's callers include the gateway (phase 4): STRICT belongs in phase 5.
    let edited = edited(&plan, |v| {
        let e = take_effect(v, 4, "mtls-strict", "order-service");
        let service = e["service"].clone();
        push_effect(v, 3, "mtls-strict", e);
        v["phases"][3]["locked"]
            .as_array_mut()
            .expect("locked")
            .push(service);
    });
    let found = verify(&edited, &t);
    assert_eq!(codes(&found), vec!["MS401"], "{found:?}");
    assert!(found
        .iter()
        .all(|v| v.service.as_ref().map(|s| s.name.as_str()) == Some("order-service")));
    assert!(
        found[0].pointer.starts_with("/phases/3/steps/"),
        "{}",
        found[0].pointer
    );
    assert!(
        found[0].message.contains("api-gateway"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].phase, Some(4));
}

#[test]
fn enforcement_in_the_dry_run_phase_is_ms402() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    // report-builder has no callers, so only the dry-run rule can object.
    let edited = edited(&plan, |v| {
        let mut e = take_effect(v, 1, "authorization-enforce", "report-builder");
        e["state"] = Value::from("enforced");
        take_effect(v, 0, "authorization-dry-run", "report-builder");
        let service = e["service"].clone();
        push_effect(v, 0, "authorization-dry-run", e);
        v["phases"][0]["locked"]
            .as_array_mut()
            .expect("locked")
            .push(service);
    });
    let found = verify(&edited, &t);
    assert_eq!(codes(&found), vec!["MS402"], "{found:?}");
    assert_eq!(
        found[0].step.as_deref(),
        Some("phase-1/2-authorization-dry-run")
    );
}

#[test]
fn a_sidecar_rollback_that_forgets_the_callees_is_ms403() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let edited = edited(&plan, |v| {
        let rb = &mut v["phases"][0]["steps"][0]["rollback"]["effects"];
        let kept: Vec<Value> = rb
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["effect"] == "no-sidecar")
            .collect();
        *rb = Value::from(kept);
    });
    let found = verify(&edited, &t);
    assert_eq!(codes(&found), vec!["MS403"], "{found:?}");
    assert_eq!(found[0].pointer, "/phases/0/steps/0/rollback");
}

#[test]
fn a_service_dropped_from_every_phase_is_ms404() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let edited = edited(&plan, |v| {
        let list = v["phases"][0]["services"].as_array_mut().expect("services");
        list.retain(|s| s["name"] != "image-resizer");
    });
    let found = verify(&edited, &t);
    assert!(codes(&found).contains(&"MS404"), "{found:?}");
    assert!(found.iter().any(|v| v.code == "MS404"
        && v.service
            .as_ref()
            .is_some_and(|s| s.name == "image-resizer")));
}

#[test]
fn a_virtual_service_before_its_destination_rule_is_ms405() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let edited = edited(&plan, |v| {
        let steps = v["phases"][0]["steps"].as_array_mut().expect("steps");
        let dr = steps
            .iter()
            .position(|s| s["action"] == "destination-rules");
        let vs = steps.iter().position(|s| s["action"] == "virtual-services");
        if let (Some(a), Some(b)) = (dr, vs) {
            steps.swap(a, b);
        }
    });
    let found = verify(&edited, &t);
    assert_eq!(codes(&found), vec!["MS405"], "{found:?}");
}

#[test]
fn plan_json_carries_a_header_the_writer_recognises() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let text = plan_json(&plan, &header());
    assert_eq!(crate::generate::layout::edited(&text), Some(false));
    let changed = text.replace("\"window\": \"4h\"", "\"window\": \"8h\"");
    assert_ne!(changed, text);
    assert_eq!(crate::generate::layout::edited(&changed), Some(true));
    assert!(read_plan(&text.replace("\"format\": 1", "\"format\": 9")).is_err());
    assert!(read_plan("{").is_err());
}

#[test]
fn the_outline_names_each_phase_and_the_window() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let text = outline(&plan);
    assert!(
        text.starts_with("Rollout: 5 phases, 4h monitoring window"),
        "{text}"
    );
    assert!(text.contains("phase 1: background workers"), "{text}");
    assert!(text.contains("phase 5: lock-down"), "{text}");
}

#[test]
fn each_phase_tests_its_new_calls_and_watches_the_right_metrics() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    for p in &plan.phases {
        let touched: Vec<&QualifiedName> = p.services.iter().chain(&p.locked).collect();
        for e in t.edges.iter().filter(|e| e.from != e.to) {
            if !(touched.contains(&&e.from) || touched.contains(&&e.to)) {
                continue;
            }
            let has_workload = t.service(&e.from).is_some_and(|s| !s.workloads.is_empty());
            let tested = p
                .smoke_tests
                .iter()
                .any(|s| s.from == e.from && s.to == e.to);
            assert_eq!(
                tested, has_workload,
                "phase {}: {} -> {}",
                p.number, e.from, e.to
            );
        }
        let queries: Vec<&str> = p.watch.iter().map(|w| w.query.as_str()).collect();
        assert!(
            queries.iter().any(|q| q.contains("istio_requests_total")),
            "{queries:?}"
        );
        let onboards = !p.services.is_empty();
        assert_eq!(
            queries
                .iter()
                .any(|q| q.contains("rbac_istio_dry_run_allow_shadow_denied")),
            onboards,
            "phase {}",
            p.number
        );
        assert_eq!(
            queries
                .iter()
                .any(|q| q.contains("envoy_cluster_outlier_detection_ejections_active")),
            onboards,
            "phase {}",
            p.number
        );
        assert!(p.proceed_when.contains("4h"), "{}", p.proceed_when);
    }
    // The phase before a lock-down watches for plaintext into what it will lock.
    let before_last = &plan.phases[3];
    assert!(before_last
        .watch
        .iter()
        .any(|w| w.query.contains("connection_security_policy=\"none\"")
            && w.query.contains("order-service")));
}

#[test]
fn a_name_moved_in_a_list_without_its_steps_is_ms406() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let edited = edited(&plan, |v| {
        let list = v["phases"][4]["locked"].as_array_mut().expect("locked");
        let at = list
            .iter()
            .position(|s| s["name"] == "order-service")
            .expect("listed");
        let moved = list.remove(at);
        v["phases"][1]["locked"]
            .as_array_mut()
            .expect("locked")
            .push(moved);
    });
    let found = verify(&edited, &t);
    assert_eq!(codes(&found), vec!["MS406"], "{found:?}");
    let pointers: Vec<&str> = found.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/phases/1/locked", "/phases/4/locked"]);
}

#[test]
fn a_phase_size_cap_splits_phases_and_keeps_the_rules() {
    let t = shopfront_and_odd_shapes();
    let config = generate(&t, &Policy::default(), &GenerateOptions::default());
    let settings = PlanSettings {
        max_services_per_phase: Some(3),
        ..PlanSettings::default()
    };
    let plan = plan(&t, &config, &settings);
    assert!(plan.phases.iter().all(|p| p.services.len() <= 3));
    assert!(plan.phases.len() > 5, "{}", plan.phases.len());
    assert_eq!(verify(&plan, &t), Vec::new());
    assert!(phase_of(&plan, "email-worker") < phase_of(&plan, "api-gateway"));
}

#[test]
fn a_sidecar_without_permissive_first_is_a_broken_call() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    // ledger-service gets its sidecar in phase 2; payment-service calls it from phase 3 on.
    let edited = edited(&plan, |v| {
        let steps = v["phases"][1]["steps"].as_array_mut().expect("steps");
        let effects = steps[0]["effects"].as_array_mut().expect("effects");
        effects.retain(|e| !(e["effect"] == "mtls" && e["service"]["name"] == "ledger-service"));
    });
    let found = verify(&edited, &t);
    let ledger: Vec<&PlanViolation> = found
        .iter()
        .filter(|v| {
            v.service
                .as_ref()
                .is_some_and(|s| s.name == "ledger-service")
        })
        .collect();
    assert!(
        ledger.iter().any(|v| v.code == "MS401"
            && v.pointer == "/phases/1/steps/0"
            && v.message.contains("inherited")),
        "{found:?}"
    );
}

#[test]
fn a_principal_dropped_from_an_enforced_policy_is_ms407() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    let edited = edited(&plan, |v| {
        let steps = v["phases"][4]["steps"].as_array_mut().expect("steps");
        let enforce = steps
            .iter_mut()
            .find(|s| s["action"] == "authorization-enforce")
            .expect("enforce step");
        for e in enforce["effects"].as_array_mut().expect("effects") {
            if e["service"]["name"] == "order-service" {
                e["principals"] = Value::Array(Vec::new());
            }
        }
    });
    let found = verify(&edited, &t);
    assert!(
        found.iter().any(|v| v.code == "MS407"
            && v.service
                .as_ref()
                .is_some_and(|s| s.name == "order-service")),
        "{found:?}"
    );
}
