//! The policy evaluator against small policy sets, one Istio rule of evaluation per test.

use super::*;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};
use crate::model::Inventory;

fn policies(yaml: &str) -> Inventory {
    let loaded = load_text("p.yaml", yaml, &Limits::default()).expect("fixture parses");
    inventory(&loaded.objects, "shop")
}

fn labels(app: &str) -> StringMap {
    [("app".to_string(), app.to_string())].into_iter().collect()
}

fn verdict(inv: &Inventory, app: &str, from: (&str, &str), port: Option<u16>) -> bool {
    let config = CheckConfig::default();
    let topology = crate::model::Topology::default();
    let index = Index::new(inv, &topology);
    let eval = Evaluator::new(&index, &config);
    let applicable = eval.applicable("shop", &labels(app));
    eval.decide(&applicable, &Identity::new(from.0, from.1), port)
        .is_allowed()
}

const ALLOW_ORDERS: &str = r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: payments, namespace: shop}
spec:
  selector: {matchLabels: {app: payments}}
  rules:
    - from: [{source: {principals: ["cluster.local/ns/shop/sa/orders"]}}]
      to: [{operation: {ports: ["8080"]}}]
"#;

#[test]
fn no_allow_policy_allows_everyone() {
    let inv = policies(ALLOW_ORDERS);
    assert!(verdict(&inv, "catalog", ("shop", "anyone"), Some(8080)));
}

#[test]
fn allow_policy_admits_only_listed_principals_on_listed_ports() {
    let inv = policies(ALLOW_ORDERS);
    assert!(verdict(&inv, "payments", ("shop", "orders"), Some(8080)));
    assert!(!verdict(&inv, "payments", ("shop", "orders"), Some(9090)));
    assert!(!verdict(&inv, "payments", ("shop", "catalog"), Some(8080)));
}

#[test]
fn empty_allow_policy_allows_nothing_and_empty_rule_allows_all() {
    let nothing = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: none, namespace: shop}\nspec: {}\n";
    assert!(!verdict(&policies(nothing), "x", ("shop", "a"), None));
    let all = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: all, namespace: shop}\nspec: {rules: [{}]}\n";
    assert!(verdict(&policies(all), "x", ("shop", "a"), None));
}

#[test]
fn deny_wins_over_allow_and_root_namespace_policies_apply_everywhere() {
    let yaml = format!(
        "{ALLOW_ORDERS}---\n{}",
        r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-orders, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {namespaces: ["shop"]}}]}]
"#
    );
    let inv = policies(&yaml);
    assert!(!verdict(&inv, "payments", ("shop", "orders"), Some(8080)));
    assert!(!verdict(&inv, "catalog", ("shop", "orders"), Some(8080)));
    assert!(verdict(&inv, "catalog", ("edge", "gw"), Some(8080)));
}

#[test]
fn not_principals_and_http_conditions_are_honoured() {
    let yaml = r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
    - from: [{source: {notPrincipals: ["*"]}}]
    - from: [{source: {namespaces: ["edge"]}}]
      to: [{operation: {methods: ["GET"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules:
    - from: [{source: {namespaces: ["edge"]}}]
      to: [{operation: {paths: ["/admin"]}}]
"#;
    let inv = policies(yaml);
    // Every mesh identity has a principal, so `notPrincipals: ["*"]` admits none of them.
    assert!(!verdict(&inv, "x", ("shop", "a"), None));
    // GET-only allow lets some requests through; a DENY on one path does not block the edge.
    assert!(verdict(&inv, "x", ("edge", "gw"), None));
}

#[test]
fn dry_run_policies_enforce_nothing() {
    let yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: none, namespace: shop, annotations: {istio.io/dry-run: \"true\"}}\nspec: {}\n";
    assert!(verdict(&policies(yaml), "x", ("shop", "a"), None));
}

#[test]
fn wildcard_patterns_match_prefix_and_suffix() {
    assert!(pattern_matches("*", "x"));
    assert!(pattern_matches(
        "*/sa/orders",
        "cluster.local/ns/shop/sa/orders"
    ));
    assert!(pattern_matches(
        "cluster.local/ns/shop/*",
        "cluster.local/ns/shop/sa/a"
    ));
    assert!(!pattern_matches(
        "cluster.local/ns/edge/*",
        "cluster.local/ns/shop/sa/a"
    ));
}

#[test]
fn empty_lists_are_unset_fields() {
    let yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  rules: [{from: [{source: {principals: []}}], to: [{operation: {ports: []}}]}]\n";
    assert!(verdict(&policies(yaml), "x", ("shop", "a"), Some(8080)));
}
