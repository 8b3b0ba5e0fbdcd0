//! Accounts of their own in the rollout: the phase that onboards a caller that shared its
//! ServiceAccount applies its account and patches its pod template first, before any callee
//! is locked down; the plan's walk sees the caller's principal change with it, and the
//! rollback patches it back exactly.

use super::tests::{lock_of, phase_of, planned};
use super::*;
use crate::generate::identity_tests::store;

fn step<'a>(plan: &'a Plan, action: StepAction, service: &str) -> Option<(u32, &'a Step)> {
    plan.phases.iter().find_map(|p| {
        p.steps
            .iter()
            .find(|s| s.action == action && s.services.iter().any(|x| x.name == service))
            .map(|s| (p.number, s))
    })
}

#[test]
fn the_accounts_move_in_the_callers_phase_before_the_callee_locks() {
    let t = store();
    let (plan, _) = planned(&t, 4);
    let (phase, accounts) = step(&plan, StepAction::ServiceAccounts, "orders").expect("a step");
    assert_eq!(Some(phase), phase_of(&plan, "orders"));
    // First in its phase, before the sidecars.
    let first = &plan.phases[phase as usize - 1].steps[0];
    assert_eq!(first.action, StepAction::ServiceAccounts);
    assert!(phase < lock_of(&plan, "queue").expect("queue locks"));
    assert_eq!(
        accounts.commands[..3],
        [
            format!("kubectl apply -k {}", accounts.id),
            r#"kubectl patch deployment/orders -n shop --type merge -p '{"spec":{"template":{"spec":{"serviceAccount":"orders","serviceAccountName":"orders"}}}}'"#.to_string(),
            "kubectl rollout status deployment/orders -n shop --timeout=10m".to_string(),
        ]
    );
    assert!(accounts
        .resources
        .iter()
        .any(|r| r.kind == "ServiceAccount" && r.name == "orders"));
    // Back to no account field at all (the manifest names none), then the account goes.
    let rb = &accounts.rollback.commands;
    assert!(rb.contains(&r#"kubectl patch deployment/orders -n shop --type merge -p '{"spec":{"template":{"spec":{"serviceAccount":null,"serviceAccountName":null}}}}'"#.to_string()), "{rb:?}");
    assert_eq!(
        rb.last(),
        Some(&format!(
            "kubectl delete -k {} --ignore-not-found",
            accounts.id
        ))
    );
    assert!(accounts.effects.contains(&Effect::Account {
        service: QualifiedName::new("shop", "orders"),
        workload: "orders".into(),
        account: "orders".into(),
    }));
    assert!(accounts.rollback.effects.contains(&Effect::Account {
        service: QualifiedName::new("shop", "orders"),
        workload: "orders".into(),
        account: "default".into(),
    }));
    // Every rule holds, and every rollback is safe whenever it runs (MS403 included).
    assert_eq!(verify(&plan, &t), Vec::new());
    for (_, _, broken) in simulate::walk(&plan, &t) {
        assert!(broken.is_empty(), "{broken:?}");
    }
}

#[test]
fn without_the_accounts_step_the_lock_down_would_deny_the_callers() {
    let t = store();
    let (mut plan, _) = planned(&t, 4);
    for p in &mut plan.phases {
        p.steps.retain(|s| s.action != StepAction::ServiceAccounts);
    }
    let found = verify(&plan, &t);
    assert!(
        found
            .iter()
            .any(|v| v.code == "MS407" && v.message.contains("cluster.local/ns/shop/sa/default")),
        "{found:?}"
    );
}

#[test]
fn smoke_tests_run_under_the_account_the_caller_has_by_then() {
    use super::smoke_script_tests::{run_script, script_of, Fake};
    let t = store();
    let (plan, _) = planned(&t, 4);
    let moved = phase_of(&plan, "orders").expect("orders' phase");
    let mut tested = 0;
    for p in &plan.phases {
        let from_orders: Vec<&SmokeTest> = p
            .smoke_tests
            .iter()
            .filter(|s| s.from.name == "orders")
            .collect();
        if from_orders.is_empty() {
            continue;
        }
        let run = run_script(&script_of(p), &[], &Fake::default());
        for s in from_orders {
            tested += 1;
            let account = if p.number >= moved {
                "orders"
            } else {
                "default"
            };
            let pod = run.pod(&s.name).expect("a throwaway pod");
            let overrides = pod
                .iter()
                .find(|a| a.starts_with("--overrides="))
                .expect("overrides");
            assert!(
                overrides.contains(&format!("\"serviceAccountName\":\"{account}\"")),
                "phase {}: {pod:?}",
                p.number
            );
        }
    }
    assert!(tested > 0, "no smoke test from orders");
}
