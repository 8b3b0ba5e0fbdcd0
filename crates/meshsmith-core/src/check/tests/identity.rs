//! Identities compared workload by workload: a caller's account shared with a workload that
//! does not call (MS323, MS324), and the account a generated ServiceAccount gives a workload
//! once its patch is applied (MS322 reads it).

use super::{render, run_fixture, FIXTURES};
use std::path::Path;

fn findings(name: &str) -> Vec<crate::model::Finding> {
    run_fixture(
        Some(&Path::new(FIXTURES).join("identity").join(name)),
        false,
    )
}

#[test]
fn a_non_caller_running_as_a_callers_account_is_admitted_and_reported() {
    // Before, MS323 added the callers' identities to the ones it expected, so catalog,
    // running as orders, was never reported.
    let found = findings("catalog-runs-as-orders.yaml");
    let ms323: Vec<_> = found.iter().filter(|f| f.code == "MS323").collect();
    assert!(
        ms323.iter().any(|f| f.message.contains("payments.shop")
            && f.message.contains(
                "Deployment shop/catalog (as shop/sa/orders, shared with caller orders.shop)"
            )),
        "{}",
        render(&found)
    );
    let ms324: Vec<_> = found.iter().filter(|f| f.code == "MS324").collect();
    assert_eq!(ms324.len(), 1, "{}", render(&found));
    assert!(ms324[0]
        .message
        .contains("shop/payments (for caller orders.shop; it also admits Deployment catalog)"));
    assert_eq!(ms324[0].resource, "ServiceAccount shop/orders");
}

#[test]
fn a_generated_account_that_names_the_workload_is_its_identity() {
    let moved = findings("orders-moves-to-its-own-account.yaml");
    assert!(moved.is_empty(), "{}", render(&moved));
    // Without that account, orders presents default, which no policy admits.
    let stays = findings("orders-runs-as-default.yaml");
    assert!(
        stays
            .iter()
            .any(|f| f.code == "MS322" && f.message.contains("shop/sa/default")),
        "{}",
        render(&stays)
    );
}

#[test]
fn a_caller_without_a_sidecar_listed_by_principal_is_locked_out() {
    let found = findings("orders-without-sidecar-listed-by-principal.yaml");
    locked_out_by_principal(&found);
}

#[test]
fn a_caller_on_its_nodes_network_listed_by_principal_is_locked_out() {
    let found = findings("orders-on-host-network-listed-by-principal.yaml");
    locked_out_by_principal(&found);
    assert!(found
        .iter()
        .any(|f| f.code == "MS325" && f.message.contains("hostNetwork: true")));
}

/// Both of orders' callees admit only its principal, which it never presents.
fn locked_out_by_principal(found: &[crate::model::Finding]) {
    let ms325: Vec<_> = found.iter().filter(|f| f.code == "MS325").collect();
    assert_eq!(ms325.len(), 2, "{}", render(found));
    assert!(ms325.iter().all(|f| f
        .message
        .contains("no ALLOW rule admits a request without an identity")
        && f.resource.starts_with("AuthorizationPolicy shop/")));
    // Its principal is listed, but it never presents it: not an identity check's finding.
    assert!(
        !found.iter().any(|f| f.code == "MS322"),
        "{}",
        render(found)
    );
}
