//! Validation and identity helpers of the lab spec, on the fixture path and broken copies of it.

use super::validate::{dns_label, principal_shaped};
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

#[test]
fn calls_are_targets_and_callees_and_must_name_two_services_of_the_spec() {
    let mut s = spec();
    s.calls.push(CallSpec {
        from: "api-gateway".into(),
        to: "stripe-webhook".into(),
        imported: false,
    });
    // order-service is an edge target; the call adds stripe-webhook, not yet imported.
    assert_eq!(s.validate(), Ok(()));
    let targets: Vec<(&str, bool)> = s
        .targets_of("api-gateway")
        .iter()
        .map(|(t, imported)| (t.name.as_str(), *imported))
        .collect();
    assert_eq!(
        targets,
        [("order-service", true), ("stripe-webhook", false)]
    );
    // A call that is also an edge goes where the edge goes.
    s.calls[0].to = "order-service".into();
    assert_eq!(s.targets_of("api-gateway").len(), 1);
    for (from, to) in [("api-gateway", "api-gateway"), ("api-gateway", "ledger")] {
        let mut bad = spec();
        bad.calls.push(CallSpec {
            from: from.into(),
            to: to.into(),
            imported: true,
        });
        assert!(
            matches!(bad.validate(), Err(SpecError::BadCall { .. })),
            "{from} -> {to}"
        );
    }
    let mut only_calls = spec();
    only_calls.edges.clear();
    assert_eq!(only_calls.validate(), Err(SpecError::NoEdges));
    only_calls.calls.push(CallSpec {
        from: "order-service".into(),
        to: "payment-service".into(),
        imported: true,
    });
    assert_eq!(only_calls.validate(), Ok(()));
    assert!(only_calls
        .callees()
        .iter()
        .any(|c| c.name == "payment-service"));
    // `imported` defaults to true and ports to the lab's default.
    let text = r#"{"from": "a", "to": "b"}"#;
    let call: CallSpec = serde_json::from_str(text).expect("call");
    assert!(call.imported);
    assert_eq!(s.services[0].port, DEFAULT_PORT);
    assert_eq!(s.services[0].workload(), "api-gateway");
}
