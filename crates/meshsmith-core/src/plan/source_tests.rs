//! Step folders from the configuration as a person edited it: the edit is what the steps
//! copy (in every variant) and what the effects say, an object added to an edited file joins
//! its service's steps, and what no step can carry stops the plan with the file's name.

use super::layout::layout_from;
use super::tests::{header, planned};
use super::*;
use crate::generate::fixtures::shopfront_and_odd_shapes;
use crate::generate::layout::to_value;
use serde_json::{json, Value};

/// The generated objects of one (kind, service), as the file holding them reads.
fn generated(config: &MeshConfig, kind: Kind, service: &str) -> Vec<Value> {
    config
        .resources
        .iter()
        .filter(|r| r.kind == kind && r.owner.name == service)
        .map(|r| to_value(r))
        .collect()
}

fn edited(path: &str, before: Vec<Value>, after: Vec<Value>) -> EditedFile {
    EditedFile {
        path: path.to_string(),
        generated: before,
        on_disk: after,
    }
}

fn file<'a>(files: &'a [(std::path::PathBuf, String)], path: &str) -> &'a str {
    files
        .iter()
        .find(|(p, _)| p.to_str() == Some(path))
        .map(|(_, text)| text.as_str())
        .unwrap_or_else(|| panic!("{path} is not written"))
}

const EXTRA: &str = "cluster.local/ns/ops/sa/auditor";

#[test]
fn edited_policies_and_routes_are_what_the_steps_copy_and_what_the_effects_say() {
    let t = shopfront_and_odd_shapes();
    let (_, config) = planned(&t, 4);
    let policy = generated(&config, Kind::AuthorizationPolicy, "order-service");
    let mut policy_now = policy.clone();
    policy_now[0]["spec"]["rules"][0]["from"][0]["source"]["principals"]
        .as_array_mut()
        .expect("principals")
        .push(json!(EXTRA));
    let routes = generated(&config, Kind::VirtualService, "order-service");
    let mut routes_now = routes.clone();
    routes_now[0]["spec"]["http"][0]["timeout"] = json!("7s");
    let edits = [
        edited(
            "config/shop/order-service/authorization-policy.yaml",
            policy,
            policy_now,
        ),
        edited(
            "config/shop/order-service/virtual-service.yaml",
            routes,
            routes_now,
        ),
    ];
    let source = RolloutConfig::with_edits(&config, &edits).expect("the edits are usable");
    let settings = PlanSettings::default();
    let plan = plan_from(&t, &source, &settings);
    let files = layout_from(&plan, &source, &header());
    let dry_run = file(
        &files,
        "phase-3/2-authorization-dry-run/shop.order-service.authorization-policy.yaml",
    );
    assert!(dry_run.contains(EXTRA), "{dry_run}");
    assert!(dry_run.contains("istio.io/dry-run: \"true\""), "{dry_run}");
    let enforced = file(
        &files,
        "phase-5/2-authorization-enforce/shop.order-service.authorization-policy.yaml",
    );
    assert!(
        enforced.contains(EXTRA) && !enforced.contains("dry-run"),
        "{enforced}"
    );
    let route = file(
        &files,
        "phase-3/4-virtual-services/shop.order-service.virtual-service.yaml",
    );
    assert!(route.contains("timeout: 7s"), "{route}");
    // What the plan checks is what it applies.
    let admits = plan.phases.iter().flat_map(|p| &p.steps).any(|s| {
        s.effects.iter().any(|e| matches!(e, Effect::Authorization { service, state: AuthzState::Enforced, principals, .. }
            if service.name == "order-service" && principals.iter().any(|p| p == EXTRA)))
    });
    assert!(admits);
    assert!(plan.notes.iter().any(|n| n.starts_with(
        "config/shop/order-service/authorization-policy.yaml was edited since it was generated"
    )));
    assert_eq!(verify(&plan, &t), Vec::new());
    // Without edits, the same plan as from the generated configuration.
    let plain = plan_from(&t, &RolloutConfig::generated(&config), &settings);
    assert_eq!(plain, super::plan(&t, &config, &settings));
}

#[test]
fn a_peer_authentication_edited_to_permissive_is_not_locked_down() {
    let t = shopfront_and_odd_shapes();
    let (_, config) = planned(&t, 4);
    let before = generated(&config, Kind::PeerAuthentication, "order-service");
    let mut after = before.clone();
    after[0]["spec"]["mtls"]["mode"] = json!("PERMISSIVE");
    let edits = [edited(
        "config/shop/order-service/peer-authentication.yaml",
        before,
        after,
    )];
    let source = RolloutConfig::with_edits(&config, &edits).expect("usable");
    let plan = plan_from(&t, &source, &PlanSettings::default());
    let strict = plan.phases.iter().flat_map(|p| &p.steps).any(|s| {
        s.effects.iter().any(|e| {
            matches!(e, Effect::Mtls { service, mode: MtlsState::Strict } if service.name == "order-service")
        })
    });
    assert!(!strict);
    assert_eq!(verify(&plan, &t), Vec::new());
}

#[test]
fn what_no_step_can_carry_is_an_error_naming_the_file() {
    let t = shopfront_and_odd_shapes();
    let (_, config) = planned(&t, 4);
    let before = generated(&config, Kind::VirtualService, "order-service");
    let mut after = before.clone();
    after.push(json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "extra", "namespace": "shop"},
        "spec": {}
    }));
    let path = "config/shop/order-service/virtual-service.yaml";
    let errors = RolloutConfig::with_edits(&config, &[edited(path, before, after)])
        .expect_err("a Gateway has no step");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, path);
    assert!(errors[0].message.contains("Gateway"), "{}", errors[0]);
}
