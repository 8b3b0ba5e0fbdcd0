//! `TestPlanEdit` fixture documents: the plan `plan::plan` makes for the fixture world,
//! written as plan.json, edited as a person would, read back and verified. The violations,
//! with their lines in the edited plan.json, go to `check` through `CheckConfig`.
//!
//! ```yaml
//! apiVersion: meshsmith.dev/test
//! kind: TestPlanEdit
//! metadata: {name: edit}
//! edits:                      # phases are numbered from 1, as in plan.json
//!   - {move: shop/payments, action: mtls-strict, from: 3, to: 2}   # an effect to another phase
//!   - {drop: shop/catalog, action: authorization-dry-run, phase: 1} # an effect
//!   - {drop: shop/orders, action: sidecars, phase: 1, rollback: mtls} # a rollback effect
//!   - {unlist: shop/catalog, list: services, phase: 1}              # a name from a list
//!   - {list: shop/payments, in: locked, phase: 2}                   # a name into a list
//!   - {drop_principal: shop/orders, service: shop/payments, phase: 3}  # from an enforced
//!     # policy; `action: authorization-dry-run` for a dry-run one
//!   - {swap: [destination-rules, virtual-services], phase: 1}       # two steps' order
//! ```

use crate::generate::layout::Header;
use crate::generate::{generate, GenerateOptions};
use crate::model::{Object, Origin, Plan, PlanViolation, Topology};
use crate::plan::layout::{plan_json, read_plan};
use crate::plan::{plan, verify, PlanSettings};
use crate::policy::Policy;
use serde_json::Value;

/// The file name findings point into.
pub const PLAN_FILE: &str = "plan.json";

/// The plan for `topology`, as plan.json text.
pub fn planned_json(topology: &Topology) -> String {
    let config = generate(topology, &Policy::default(), &GenerateOptions::default());
    let plan = plan(topology, &config, &PlanSettings::default());
    let header = Header {
        version: "test".into(),
        inputs: vec!["fixture".into()],
    };
    plan_json(&plan, &header)
}

/// The violations of the planned-then-edited plan, each at its line of the edited text.
pub fn violations(topology: &Topology, docs: &[&Object]) -> Vec<(PlanViolation, Option<Origin>)> {
    let mut value: Value =
        serde_json::from_str(&planned_json(topology)).expect("plan.json is JSON");
    for doc in docs {
        for edit in doc.doc.at("edits").as_seq() {
            apply(&mut value, &edit.to_json());
        }
    }
    let text = serde_json::to_string_pretty(&value).expect("serializes");
    let plan: Plan = read_plan(&text).expect("the edited plan reads back");
    crate::check::plan_violations_with_origins(PLAN_FILE, &text, verify(&plan, topology))
}

fn text<'a>(edit: &'a Value, key: &str) -> &'a str {
    edit[key]
        .as_str()
        .unwrap_or_else(|| panic!("edit {edit}: `{key}` is a string"))
}

fn phase(edit: &Value, key: &str) -> usize {
    let n = edit[key]
        .as_u64()
        .unwrap_or_else(|| panic!("edit {edit}: `{key}` is a phase number"));
    n as usize - 1
}

fn is_service(v: &Value, id: &str) -> bool {
    let (ns, name) = id.split_once('/').expect("services are written ns/name");
    v["namespace"] == ns && v["name"] == name
}

fn step<'a>(plan: &'a mut Value, phase: usize, action: &str) -> &'a mut Value {
    plan["phases"][phase]["steps"]
        .as_array_mut()
        .expect("steps")
        .iter_mut()
        .find(|s| s["action"] == action)
        .unwrap_or_else(|| panic!("phase {} has no {action} step", phase + 1))
}

/// Removes the effects of `service` (of kind `effect`, when given) from `list`.
fn take(list: &mut Value, service: &str, effect: Option<&str>) -> Vec<Value> {
    let list = list.as_array_mut().expect("effects");
    let (taken, kept) = list.drain(..).partition(|e| {
        is_service(&e["service"], service) && effect.is_none_or(|k| e["effect"] == k)
    });
    *list = kept;
    assert!(!taken.is_empty(), "no effect of {service} to edit");
    taken
}

fn apply(plan: &mut Value, edit: &Value) {
    if let Some(service) = edit["move"].as_str() {
        let action = text(edit, "action");
        let moved = take(
            &mut step(plan, phase(edit, "from"), action)["effects"],
            service,
            None,
        );
        let target = &mut step(plan, phase(edit, "to"), action)["effects"];
        target.as_array_mut().expect("effects").extend(moved);
    } else if let Some(service) = edit["drop"].as_str() {
        let s = step(plan, phase(edit, "phase"), text(edit, "action"));
        match edit["rollback"].as_str() {
            Some(kind) => take(&mut s["rollback"]["effects"], service, Some(kind)),
            None => take(&mut s["effects"], service, None),
        };
    } else if let Some(service) = edit["unlist"].as_str() {
        let list = &mut plan["phases"][phase(edit, "phase")][text(edit, "list")];
        let list = list.as_array_mut().expect("a list of services");
        let before = list.len();
        list.retain(|s| !is_service(s, service));
        assert!(list.len() < before, "{service} is not listed");
    } else if let Some(service) = edit["list"].as_str() {
        let (namespace, name) = service.split_once('/').expect("ns/name");
        let list = &mut plan["phases"][phase(edit, "phase")][text(edit, "in")];
        let entry = serde_json::json!({"namespace": namespace, "name": name});
        list.as_array_mut().expect("a list of services").push(entry);
    } else if let Some(caller) = edit["drop_principal"].as_str() {
        let (namespace, account) = caller.split_once('/').expect("ns/account");
        let principal = format!("/ns/{namespace}/sa/{account}");
        let service = text(edit, "service");
        let action = edit["action"].as_str().unwrap_or("authorization-enforce");
        let s = step(plan, phase(edit, "phase"), action);
        let mut dropped = false;
        for e in s["effects"].as_array_mut().expect("effects") {
            if is_service(&e["service"], service) {
                let list = e["principals"].as_array_mut().expect("principals");
                let before = list.len();
                list.retain(|p| !p.as_str().is_some_and(|p| p.ends_with(&principal)));
                dropped |= list.len() < before;
            }
        }
        assert!(dropped, "no {action} policy of {service} admits {caller}");
    } else if let Some(pair) = edit["swap"].as_array() {
        let steps = plan["phases"][phase(edit, "phase")]["steps"]
            .as_array_mut()
            .expect("steps");
        let at = |action: &Value| {
            steps
                .iter()
                .position(|s| &s["action"] == action)
                .unwrap_or_else(|| panic!("no {action} step"))
        };
        let (a, b) = (at(&pair[0]), at(&pair[1]));
        steps.swap(a, b);
    } else {
        panic!("unknown plan edit {edit}");
    }
}
