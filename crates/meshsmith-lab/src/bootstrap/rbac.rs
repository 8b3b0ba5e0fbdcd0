//! The AuthorizationPolicy as Envoy's HTTP RBAC filter, built as Istio's authorization builder
//! builds it for one ALLOW policy.
//!
//! In: the inbound plan's allowed identities, the unauthenticated exception and the dry-run
//! flag. Out: the `envoy.filters.http.rbac` filter. Policies are keyed
//! `ns[<ns>]-policy[<name>]-rule[<i>]`; a policy that allows nobody gets Istio's never-matching
//! policy (`not_rule any` / `not_id any`), so ALLOW denies everything. Enforced, the policies go
//! into `rules`; dry-run, into `shadow_rules` with `shadow_rules_stat_prefix`
//! `istio_dry_run_allow_` and no `rules` at all, so nothing is enforced while Envoy counts
//! `rbac.istio_dry_run_allow_.shadow_allowed|shadow_denied` and writes the shadow result and
//! matched policy into the request's dynamic metadata
//! (`istio_dry_run_allow_shadow_engine_result`, `istio_dry_run_allow_shadow_effective_policy_id`).

use super::{InboundPlan, DRY_RUN_ALLOW_PREFIX};
use serde_json::{json, Map, Value};

pub(super) fn filter(plan: &InboundPlan) -> Value {
    let rules = json!({ "action": "ALLOW", "policies": policies(plan) });
    let config = if plan.dry_run {
        json!({
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "shadow_rules": rules,
            "shadow_rules_stat_prefix": DRY_RUN_ALLOW_PREFIX
        })
    } else {
        json!({
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": rules
        })
    };
    json!({ "name": "envoy.filters.http.rbac", "typed_config": config })
}

fn policies(plan: &InboundPlan) -> Map<String, Value> {
    let mut policies = Map::new();
    let name = |i: usize| format!("ns[{}]-policy[{}]-rule[{i}]", plan.namespace, plan.policy);
    if !plan.allowed_ids.is_empty() {
        let principals: Vec<Value> = plan
            .allowed_ids
            .iter()
            .map(|id| json!({ "authenticated": { "principal_name": { "exact": id } } }))
            .collect();
        policies.insert(
            name(0),
            json!({ "permissions": [{ "any": true }], "principals": principals }),
        );
    }
    if plan.allow_unauthenticated {
        // Matches requests whose connection carries no peer identity: `notPrincipals: ["*"]`,
        // which Istio writes as "not an authenticated principal matching `.+`".
        policies.insert(
            name(1),
            json!({
                "permissions": [{ "any": true }],
                "principals": [{ "not_id": { "authenticated": {
                    "principal_name": { "safe_regex": { "regex": ".+" } }
                } } }]
            }),
        );
    }
    if policies.is_empty() {
        policies.insert(
            name(0),
            json!({
                "permissions": [{ "not_rule": { "any": true } }],
                "principals": [{ "not_id": { "any": true } }]
            }),
        );
    }
    policies
}
