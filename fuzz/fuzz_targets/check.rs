//! Manifests and Istio config -> findings: whatever loads goes through inference, generation
//! and every check rule without a panic, and the findings are the same on a second run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshsmith_core::check::{check, CheckConfig};
use meshsmith_core::generate::{generate, GenerateOptions};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load_bytes, Limits};
use meshsmith_core::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_alias_nodes: 100_000, ..Limits::default() };
    let Ok(loaded) = load_bytes("fuzz.yaml", data, &limits) else { return };
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let _ = generate(&topology, &Policy::default(), &GenerateOptions::default());
    let findings = check(&inv, &topology, &CheckConfig::default());
    assert_eq!(findings, check(&inv, &topology, &CheckConfig::default()), "not deterministic");
});
