use meshsmith_lab::*;
#[test]
fn smoke_incident() {
    let spec: LabSpec = serde_json::from_str(include_str!("fixtures/shopfront-path.json")).unwrap();
    let envoy = locate_envoy(None).unwrap();
    let r = incident_blocking(&spec, "payment-service", &envoy, &|p| eprintln!("{p:?}")).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&r).unwrap());
}
