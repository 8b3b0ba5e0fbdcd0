//! Fixture grid: every rule has a fixture that must fire it and nothing else, the correct
//! configuration fires nothing, and each rule's output is snapshotted.
//!
//! A fixture is an overlay file loaded before `clean/`: its objects replace the clean ones of
//! the same kind and name (the first of two duplicates wins), so each file shows exactly the
//! one mistake it is named after.

mod identity;
mod istio_fields;
mod plan_edit;
mod registry;
mod world;

use super::*;
use crate::inventory::inventory;
use crate::load::{load, Input, Limits};
use crate::model::{Finding, Object};
use std::path::{Path, PathBuf};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check");

pub fn fixture_path(rule: &RuleMeta) -> PathBuf {
    Path::new(FIXTURES)
        .join("fires")
        .join(format!("{}-{}.yaml", rule.code, rule.name))
}

/// The clean configuration with one overlay: its inventory and its test topology.
fn world_with(overlay: &Path) -> (Inventory, Topology) {
    let inputs = [
        Input::Path(Path::new(FIXTURES).join("clean")),
        Input::Path(overlay.to_path_buf()),
    ];
    let loaded = load(&inputs, &Limits::default()).expect("fixture loads");
    let inv = inventory(&loaded.objects, "default");
    let docs: Vec<&Object> = loaded
        .objects
        .iter()
        .filter(|o| o.kind == "TestTopology")
        .collect();
    let topology = world::build(&inv, &docs);
    (inv, topology)
}

/// Loads the clean configuration, then the overlay (if any) over it, and checks it.
pub fn run_fixture(overlay: Option<&Path>, crds: bool) -> Vec<Finding> {
    // The overlay comes last: a later definition replaces the clean one.
    let mut inputs: Vec<Input> = vec![Input::Path(Path::new(FIXTURES).join("clean"))];
    inputs.extend(overlay.map(|o| Input::Path(o.to_path_buf())));
    let mut config = CheckConfig::default();
    // An overlay replaces clean objects of the same name by design; only the fixtures of
    // MS341 are about an object defined twice.
    let about_duplicates = overlay
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("MS341-"));
    if !about_duplicates {
        config.levels.insert("MS341".to_string(), Level::Off);
    }
    let loaded = match load(&inputs, &Limits::default()) {
        Ok(loaded) => loaded,
        Err(failure) => return load_error_findings(&failure.errors, &config),
    };
    let mut inv = inventory(&loaded.objects, "default");
    // As the command line does: what reading noted travels with the inventory.
    inv.notes.splice(0..0, loaded.notes.iter().cloned());
    let docs: Vec<&Object> = loaded
        .objects
        .iter()
        .filter(|o| o.kind == "TestTopology")
        .collect();
    let wants_crds = docs
        .iter()
        .any(|d| d.doc.path(&["config", "crds"]).as_bool() == Some(true));
    // `config: {egressAllow: [host, ...]}`: what the policy file's `egress.allow` lists.
    for doc in &docs {
        for host in doc.doc.path(&["config", "egressAllow"]).as_seq() {
            config.egress_allow.push(crate::policy::EgressAllowance {
                host: host.as_str().unwrap_or("").to_string(),
                reason: "test fixture".into(),
                line: host.line,
            });
        }
    }
    // `config: {kept: [...]}`: what `generate` left to the manifests' own objects, as it
    // hands it over (its `MeshConfig::kept`).
    for doc in &docs {
        for k in doc.doc.path(&["config", "kept"]).as_seq() {
            config.kept.push(kept_object(k, &loaded.objects));
        }
    }
    if crds || wants_crds {
        let crd_dir = Input::Path(Path::new(FIXTURES).join("crds"));
        config.crds = load(&[crd_dir], &Limits::default())
            .expect("CRD fixtures load")
            .objects;
    }
    let topology = world::build(&inv, &docs);
    let edits: Vec<&Object> = loaded
        .objects
        .iter()
        .filter(|o| o.kind == "TestPlanEdit")
        .collect();
    if !edits.is_empty() {
        config.plan_violations = plan_edit::violations(&topology, &edits);
    }
    check(&inv, &topology, &config)
}

/// A kept object written `{service, kind, object, instead_of, would_set, why}`, placed at
/// the line its object is written on.
fn kept_object(k: &crate::model::Node, objects: &[Object]) -> crate::model::KeptObject {
    let text = |key: &str| k.at(key).as_str().unwrap_or("").to_string();
    let id = |key: &str| {
        let t = text(key);
        let (ns, name) = t.split_once('/').unwrap_or(("", ""));
        crate::model::QualifiedName::new(ns, name)
    };
    let kind = crate::model::Kind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text("kind"))
        .expect("a kind meshsmith generates");
    let object = id("object");
    let origin = objects
        .iter()
        .find(|o| {
            o.kind == kind.as_str()
                && o.name == object.name
                && o.namespace.as_deref() == Some(object.namespace.as_str())
        })
        .map(Object::origin)
        .expect("the kept object is in the fixture");
    crate::model::KeptObject {
        service: id("service"),
        kind,
        object,
        origin,
        instead_of: id("instead_of"),
        would_set: text("would_set"),
        why: text("why"),
    }
}

/// One finding per paragraph, with paths relative to the fixture folder.
pub fn render(findings: &[Finding]) -> String {
    let prefix = format!("{FIXTURES}/");
    findings
        .iter()
        .map(|f| {
            let place = f
                .origin
                .as_ref()
                .map_or_else(|| "-".to_string(), |o| o.to_string().replace(&prefix, ""));
            format!(
                "{} {} {} [{}] {}\n  at {}\n  {}\n  help: {}\n",
                f.severity,
                f.code,
                f.name,
                f.istio_code.unwrap_or("-"),
                f.resource.replace(&prefix, ""),
                place,
                f.message.replace(&prefix, ""),
                f.help
            )
        })
        .collect()
}

#[test]
fn the_correct_configuration_triggers_nothing() {
    let findings = run_fixture(None, false);
    assert!(
        findings.is_empty(),
        "unexpected findings:\n{}",
        render(&findings)
    );
}

#[test]
fn the_correct_configuration_passes_its_crds() {
    let findings = run_fixture(None, true);
    assert!(
        findings.is_empty(),
        "unexpected findings:\n{}",
        render(&findings)
    );
}

#[test]
fn every_rule_fires_on_its_fixture_and_nothing_else() {
    for rule in RULES {
        let path = fixture_path(&rule.meta);
        assert!(
            path.exists(),
            "{} has no fixture at {}",
            rule.meta.code,
            path.display()
        );
        let findings = run_fixture(Some(&path), false);
        assert!(
            !findings.is_empty(),
            "{} did not fire on its fixture",
            rule.meta.code
        );
        let companions = companions(&path);
        let others: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.code != rule.meta.code && !companions.contains(&f.code.to_string()))
            .collect();
        assert!(
            others.is_empty(),
            "{}'s fixture also fired:\n{}",
            rule.meta.code,
            render(&others.into_iter().cloned().collect::<Vec<_>>())
        );
        insta::assert_snapshot!(
            format!("{}-{}", rule.meta.code, rule.meta.name),
            render(&findings)
        );
        // Also when snapshots are being written: a missing file must not pass unnoticed.
        let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "src/check/tests/snapshots/meshsmith_core__check__tests__{}-{}.snap",
            rule.meta.code, rule.meta.name
        ));
        assert!(snapshot.exists(), "{} has no snapshot", rule.meta.code);
    }
}

/// The codes a fixture says fire with its rule by necessity, in a `# Also fires: MS332
/// (why)` comment line: istioctl reports a missing Gateway twice, for example (IST0101 and
/// IST0132), and MS331 and MS332 do as it does.
fn companions(fixture: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(fixture).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("# Also fires: "))
        .flat_map(|l| l.split([',', ' ']).filter(|w| w.starts_with("MS")))
        .map(str::to_string)
        .collect()
}

/// `<folder>/<code>-...yaml` fixtures with the code they are about.
fn coded_fixtures(folder: &str) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(Path::new(FIXTURES).join(folder))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            Some((name.split('-').next()?.to_string(), p))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn more_ways_to_fire_a_rule_fire_it_and_nothing_else() {
    let fixtures = coded_fixtures("more");
    assert!(fixtures.len() >= 5);
    for (code, path) in fixtures {
        assert!(rule(&code).is_some(), "{}: no rule {code}", path.display());
        let findings = run_fixture(Some(&path), false);
        assert!(
            !findings.is_empty() && findings.iter().all(|f| f.code == code),
            "{} should fire {code} only:\n{}",
            path.display(),
            render(&findings)
        );
    }
}

#[test]
#[ignore = "prints the findings of every extra fixture, for review"]
fn show_more_fixtures() {
    let odd = (
        String::new(),
        Path::new(FIXTURES).join("odd/odd-shapes.yaml"),
    );
    let all = coded_fixtures("more")
        .into_iter()
        .chain(coded_fixtures("passes"));
    for (_, path) in all.chain(std::iter::once(odd)) {
        println!(
            "== {}\n{}",
            path.display(),
            render(&run_fixture(Some(&path), false))
        );
    }
}

#[test]
fn near_misses_do_not_fire_their_rule() {
    let fixtures = coded_fixtures("passes");
    for rule in RULES {
        assert!(
            fixtures.iter().any(|(code, _)| code == rule.meta.code),
            "{} has no near-miss fixture in passes/",
            rule.meta.code
        );
    }
    for (code, path) in fixtures {
        assert!(rule(&code).is_some(), "{}: no rule {code}", path.display());
        let findings = run_fixture(Some(&path), false);
        let fired: Vec<Finding> = findings.into_iter().filter(|f| f.code == code).collect();
        assert!(
            fired.is_empty(),
            "{} fired {code}:\n{}",
            path.display(),
            render(&fired)
        );
    }
}

#[test]
fn levels_silence_or_change_a_code() {
    let path = Path::new(FIXTURES).join("fires/MS303-unknown-destination-host.yaml");
    let (inv, topology) = world_with(&path);
    let mut config = CheckConfig::default();
    // The overlay replaces a clean VirtualService by design (see `run_fixture`).
    config.levels.insert("MS341".into(), Level::Off);
    config.levels.insert("MS303".into(), Level::Warning);
    let findings = check(&inv, &topology, &config);
    assert!(!findings.is_empty());
    assert!(findings
        .iter()
        .all(|f| f.severity == crate::model::Severity::Warning));
    config.levels.insert("MS303".into(), Level::Off);
    assert!(check(&inv, &topology, &config).is_empty());
}

#[test]
fn the_retry_amplification_limit_is_configurable() {
    let path = Path::new(FIXTURES).join("fires/MS204-retry-amplification.yaml");
    let (inv, topology) = world_with(&path);
    let mut config = CheckConfig::default();
    assert!(check(&inv, &topology, &config)
        .iter()
        .any(|f| f.code == "MS204"));
    config.retry_amplification_limit = 12;
    assert!(!check(&inv, &topology, &config)
        .iter()
        .any(|f| f.code == "MS204"));
}

#[test]
fn output_is_sorted_and_stable() {
    let path = Path::new(FIXTURES).join("fires/MS310-mtls-not-strict.yaml");
    let a = run_fixture(Some(&path), false);
    let b = run_fixture(Some(&path), false);
    assert_eq!(a, b);
    let mut sorted = a.clone();
    crate::model::sort_findings(&mut sorted);
    assert_eq!(a, sorted);
}

/// Time per rule over a corpus folder named by `MESHSMITH_CHECK_CORPUS` (manifests plus a
/// TestTopology document). A report for people, run in release mode by hand; it asserts
/// nothing about time.
#[test]
#[ignore = "timing report; needs MESHSMITH_CHECK_CORPUS"]
fn rule_timing_report() {
    let Some(dir) = std::env::var_os("MESHSMITH_CHECK_CORPUS") else {
        return;
    };
    let started = std::time::Instant::now();
    let loaded =
        load(&[Input::Path(PathBuf::from(dir))], &Limits::default()).expect("corpus loads");
    let inv = inventory(&loaded.objects, "default");
    let docs: Vec<&Object> = loaded
        .objects
        .iter()
        .filter(|o| o.kind == "TestTopology")
        .collect();
    let topology = world::build(&inv, &docs);
    println!("load + inventory + topology: {:?}", started.elapsed());
    let config = CheckConfig::default();
    let ctx = Context {
        inventory: &inv,
        topology: &topology,
        config: &config,
        index: Index::new(&inv, &topology),
    };
    for rule in RULES {
        let started = std::time::Instant::now();
        let mut findings = Vec::new();
        (rule.run)(&ctx, &mut findings);
        println!(
            "{} {:>6} findings {:?}",
            rule.meta.code,
            findings.len(),
            started.elapsed()
        );
    }
}

#[test]
fn odd_shapes_are_reported_without_panicking() {
    let path = Path::new(FIXTURES).join("odd/odd-shapes.yaml");
    let findings = run_fixture(Some(&path), false);
    let with_crds = run_fixture(Some(&path), true);
    // The typed field check sees the wrong shapes; the CRD check sees them too.
    assert!(
        findings.iter().filter(|f| f.code == "MS301").count() >= 10,
        "{}",
        render(&findings)
    );
    assert!(
        with_crds.iter().any(|f| f.code == "MS302"),
        "{}",
        render(&with_crds)
    );
}

#[test]
fn the_unedited_plan_of_the_fixture_world_breaks_no_rule() {
    let loaded = load(
        &[Input::Path(Path::new(FIXTURES).join("clean"))],
        &Limits::default(),
    )
    .expect("fixture loads");
    let inv = inventory(&loaded.objects, "default");
    let docs: Vec<&Object> = loaded
        .objects
        .iter()
        .filter(|o| o.kind == "TestTopology")
        .collect();
    let topology = world::build(&inv, &docs);
    if std::env::var_os("SHOW_PLAN").is_some() {
        println!("{}", plan_edit::planned_json(&topology));
    }
    let found = plan_edit::violations(&topology, &[]);
    assert!(found.is_empty(), "{found:?}");
}
