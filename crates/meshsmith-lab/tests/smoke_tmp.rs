use meshsmith_lab::*;
#[test]
fn smoke() {
    let spec: LabSpec = serde_json::from_str(include_str!("fixtures/shopfront-path.json")).unwrap();
    let envoy = locate_envoy(None).unwrap();
    let opts = LabOptions { envoy, scenarios: vec![] };
    let r = run_blocking(&spec, &opts, &|p| eprintln!("{p:?}")).unwrap();
    for x in &r.results { eprintln!("{} {} {} | exp {} | got {} | {:?}", if x.passed {"PASS"} else {"FAIL"}, x.scenario, x.subject, x.expected, x.measured, x.failure); }
    eprintln!("wall {} startup {}", r.wall_ms, r.startup_ms);
}
