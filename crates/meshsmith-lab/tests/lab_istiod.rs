//! The lab on Istio's own control plane: the generated configuration of the default
//! examples/shopfront path, translated by istiod (pilot-discovery in file mode on loopback),
//! enforced by Envoy sidecars configured over xDS. Every scenario passes, istiod's translation
//! agrees with meshsmith's on every compared field, and nothing (Envoy, istiod, file) is left
//! behind, also when the run is cancelled halfway.
//!
//! pilot-discovery comes from MESHSMITH_ISTIOD or `cargo xtask istio-tools pilot-discovery`
//! (target/istio-tools/<version>/); without it these tests skip loudly, and with
//! MESHSMITH_REQUIRE_ISTIOD=1 they fail instead.

mod common;

use common::{
    assert_cleaned_up, assert_scenario, cancel_midway_and_assert_cleaned_up, envoy_or_skip,
    generated, options, serial, spec_from,
};
use meshsmith_lab::from_mesh::for_istiod;
use meshsmith_lab::istiod::IstiodOptions;
use meshsmith_lab::{LabOptions, LabSpec, ScenarioKind};
use std::path::PathBuf;

/// pilot-discovery, or a loud skip (a failure with MESHSMITH_REQUIRE_ISTIOD=1).
fn istiod_or_skip(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("MESHSMITH_ISTIOD")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(pinned_build);
    if found.is_none() {
        let how = "`cargo xtask istio-tools pilot-discovery` builds it from istio-tools.toml, or set MESHSMITH_ISTIOD";
        assert!(
            std::env::var("MESHSMITH_REQUIRE_ISTIOD").as_deref() != Ok("1"),
            "{test}: no pilot-discovery and MESHSMITH_REQUIRE_ISTIOD=1 ({how})"
        );
        // Straight to the real stderr, past the test harness's capture.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {test}: no pilot-discovery ({how}) ***\n"
        );
    }
    found
}

/// `target/istio-tools/<pinned version>/pilot-discovery`, if built.
fn pinned_build() -> Option<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let pin = std::fs::read_to_string(root.join("istio-tools.toml")).ok()?;
    let version = pin.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "version").then(|| v.trim().trim_matches('"').to_string())
    })?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target
        .join("istio-tools")
        .join(version)
        .join("pilot-discovery");
    binary.is_file().then_some(binary)
}

/// The default path and the options that run it on istiod.
fn on_istiod(envoy: PathBuf, istiod: PathBuf, scenarios: &[ScenarioKind]) -> (LabSpec, LabOptions) {
    let (topology, mesh, trust_domain) = generated("");
    let spec = spec_from(&topology, &mesh, &trust_domain);
    let mut opts = options(envoy, scenarios);
    opts.istiod = Some(IstiodOptions {
        binary: istiod,
        generated: for_istiod(&topology, &mesh, &spec),
    });
    (spec, opts)
}

#[test]
fn every_scenario_passes_with_istiod_translating_the_generated_configuration() {
    let _lab = serial();
    let (Some(envoy), Some(istiod)) = (
        envoy_or_skip("istiod_every_scenario_passes"),
        istiod_or_skip("istiod_every_scenario_passes"),
    ) else {
        return;
    };
    let (spec, opts) = on_istiod(envoy, istiod, &[]);
    let report = meshsmith_lab::run_blocking(&spec, &opts, &|_| {}).expect("lab runs on istiod");
    for r in &report.results {
        eprintln!("{r}");
    }
    for r in &report.results {
        assert_scenario(r, r.passed, "passes with istiod's configuration");
    }
    // The same 27 checks as with meshsmith's own translation, and the same two with nothing
    // to act on: no scenario is dropped on istiod.
    assert_eq!(report.results.iter().filter(|r| !r.not_run).count(), 27);
    assert_eq!(report.control_plane, "istiod");
    let istiod = report.istiod.as_ref().expect("istiod's part of the report");
    assert!(
        istiod.version.contains("1.31"),
        "version {}",
        istiod.version
    );
    assert!(istiod.not_covered.is_empty(), "{:?}", istiod.not_covered);
    // Every generated policy kind of the path went to istiod, as generate wrote it.
    for kind in [
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "AuthorizationPolicy",
    ] {
        assert!(
            istiod.given.iter().any(|g| g.starts_with(kind)),
            "no {kind} given to istiod: {:?}",
            istiod.given
        );
    }
    // The translation diff covers routes, clusters and inbound listeners of every sidecar,
    // and istiod's translation agrees with meshsmith's on all of it.
    assert_eq!(istiod.diff_error, None);
    assert!(
        istiod.fields_compared > 100,
        "{} fields",
        istiod.fields_compared
    );
    // The expected differences: istiod's RBAC also checks the inbound port, which meshsmith's
    // own listener cannot (`diff::PORT_CONDITION`), and Istio balances by least request where
    // the lab keeps round robin (`diff::LOAD_BALANCER`); nothing else differs.
    let unexplained: Vec<_> = istiod
        .differences
        .iter()
        .filter(|d| d.explained.is_none())
        .collect();
    assert!(
        unexplained.is_empty(),
        "istiod and meshsmith translate differently: {unexplained:#?}"
    );
    assert!(istiod
        .differences
        .iter()
        .all(|d| d.field == "rbac.destination_ports" || d.field == "lb_policy"));
    // The run's processes include istiod, and none of them outlived it.
    assert_eq!(report.envoy_pids.len(), report.sidecars + 1);
    assert_cleaned_up(&report.envoy_pids, &report.run_dir);
}

#[test]
fn cancelling_a_run_on_istiod_stops_istiod_and_every_envoy() {
    let _lab = serial();
    let (Some(envoy), Some(istiod)) = (
        envoy_or_skip("istiod_cancelling_a_run"),
        istiod_or_skip("istiod_cancelling_a_run"),
    ) else {
        return;
    };
    let (spec, opts) = on_istiod(envoy, istiod, &[ScenarioKind::Timeout]);
    cancel_midway_and_assert_cleaned_up(&spec, &opts);
}
