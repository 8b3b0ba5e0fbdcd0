//! Validation and identity helpers of the lab spec, on the fixture path and broken copies of it.

use super::*;

#[test]
fn principal_shape_refuses_wildcards_and_short_forms() {
    assert!(principal_shaped("cluster.local/ns/shop/sa/order"));
    assert!(!principal_shaped("cluster.local/ns/shop/sa/*"));
    assert!(!principal_shaped("*"));
    assert!(!principal_shaped("spiffe://cluster.local/ns/shop/sa/order"));
}

fn spec() -> LabSpec {
    let text = include_str!("../../tests/fixtures/shopfront-path.json");
    serde_json::from_str(text).expect("fixture parses")
}

#[test]
fn the_fixture_is_valid_and_knows_its_callees() {
    let s = spec();
    assert_eq!(s.validate(), Ok(()));
    let callees: Vec<&str> = s.callees().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        callees,
        ["order-service", "payment-service", "stripe-webhook"]
    );
    let order = s.service("order-service").expect("order");
    assert_eq!(
        s.spiffe_id(order),
        "spiffe://cluster.local/ns/shop/sa/order-service"
    );
}

#[test]
fn validation_names_what_is_wrong() {
    let mut s = spec();
    s.edges.push(EdgeSpec {
        from: "order-service".into(),
        to: "ledger".into(),
    });
    assert!(
        matches!(s.validate(), Err(SpecError::UnknownService { missing, .. }) if missing == "ledger")
    );
    let mut s = spec();
    s.services[1]
        .allowed_principals
        .push("cluster.local/ns/shop/sa/*".into());
    assert!(matches!(s.validate(), Err(SpecError::BadPrincipal { .. })));
    let mut s = spec();
    s.services[1]
        .traffic
        .retries
        .retry_on
        .push("sometimes".into());
    assert!(matches!(
        s.validate(),
        Err(SpecError::UnknownRetryOn { .. })
    ));
    let mut s = spec();
    s.services[2].instances = 0;
    assert!(matches!(
        s.validate(),
        Err(SpecError::OutOfRange {
            field: "instances",
            ..
        })
    ));
    let mut s = spec();
    s.services[1].traffic.retries.retriable_status_codes = vec![503, 999];
    assert!(matches!(
        s.validate(),
        Err(SpecError::OutOfRange {
            field: "retries.retriable_status_codes",
            value: 999,
            ..
        })
    ));
    let mut s = spec();
    s.edges.push(EdgeSpec {
        from: "order-service".into(),
        to: "order-service".into(),
    });
    assert_eq!(
        s.validate(),
        Err(SpecError::SelfEdge("order-service".into()))
    );
}

#[test]
fn unknown_fields_are_refused() {
    let text = include_str!("../../tests/fixtures/shopfront-path.json")
        .replace("\"trust_domain\"", "\"trust_domian\"");
    assert!(serde_json::from_str::<LabSpec>(&text).is_err());
}

#[test]
fn dns_labels() {
    assert!(dns_label("x", "payment-service").is_ok());
    assert!(dns_label("x", "Payment").is_err());
    assert!(dns_label("x", "../etc").is_err());
    assert!(dns_label("x", "").is_err());
}
