//! plan.json edited by hand as a person would (as JSON text, read back), then verified: each
//! kind of edit gets its own MS4xx code at the right place.

use super::layout::{plan_json, read_plan};
use super::tests::{header, planned};
use super::*;
use crate::generate::fixtures::shopfront_and_odd_shapes;
use serde_json::Value;

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
    assert_eq!(edited(&plan, |_| {}), super::tests::as_written(&plan));
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
fn a_sidecar_without_permissive_first_is_a_broken_call() {
    let t = shopfront_and_odd_shapes();
    let (plan, _) = planned(&t, 4);
    // ledger-service gets its sidecar in phase 2; payment-service calls it from phase 3 on.
    // The phase may open with port declarations; the sidecars step is found by its action.
    let sidecars = plan.phases[1]
        .steps
        .iter()
        .position(|s| s.action == StepAction::Sidecars)
        .expect("a sidecars step");
    let edited = edited(&plan, |v| {
        let steps = v["phases"][1]["steps"].as_array_mut().expect("steps");
        let effects = steps[sidecars]["effects"].as_array_mut().expect("effects");
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
            && v.pointer == format!("/phases/1/steps/{sidecars}")
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
