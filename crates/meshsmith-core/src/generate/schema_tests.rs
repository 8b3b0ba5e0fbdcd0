//! Every generated document, as written (YAML text read back), validated against the Istio
//! CRD schemas of both snapshots in `shared/istio/crds`, for both API versions.
//!
//! The CRD schemas are OpenAPI with Kubernetes extensions, so a pre-pass makes them plain
//! JSON Schema: `nullable: true` becomes a `null` type, `x-kubernetes-*` keys go (CEL rules
//! are not checked), and objects with fixed properties reject unknown ones, which is what
//! the API server's pruning would otherwise silently drop.

use super::fixtures::{shopfront, shopfront_and_odd_shapes};
use super::*;
use crate::load::{parse_documents, Limits};
use crate::policy::IstioVersion;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// `MESHSMITH_SHARED`, or a `shared/istio/crds` folder beside the workspace or above it.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("MESHSMITH_SHARED") {
        let dir = PathBuf::from(dir);
        return dir.join("istio/crds").is_dir().then_some(dir);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace
        .ancestors()
        .map(|a| a.join("shared"))
        .chain(std::iter::once(workspace.join("../shared")))
        .find(|d| d.join("istio/crds").is_dir())
}

pub(crate) fn require_shared() -> Option<PathBuf> {
    match shared_dir() {
        Some(dir) => Some(dir),
        None if std::env::var("MESHSMITH_REQUIRE_SHARED").as_deref() == Ok("1") => {
            panic!("shared/istio/crds not found and MESHSMITH_REQUIRE_SHARED=1")
        }
        None => {
            eprintln!("\n*** SKIPPED: CRD schema validation: shared/istio/crds not found (set MESHSMITH_SHARED) ***\n");
            None
        }
    }
}

/// Makes a CRD's OpenAPI schema plain, strict JSON Schema.
fn plain_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, val) in map {
                if k.starts_with("x-kubernetes-") || k == "nullable" {
                    continue;
                }
                let val = if k == "properties" {
                    Value::Object(
                        val.as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(p, s)| (p.clone(), plain_schema(s)))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    )
                } else {
                    plain_schema(val)
                };
                out.insert(k.clone(), val);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            let open = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if out.contains_key("properties") && !out.contains_key("additionalProperties") && !open
            {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(plain_schema).collect()),
        other => other.clone(),
    }
}

/// The schema of `kind` at `version` from a snapshot's full CRD file.
fn crd_schema(snapshot: &Path, kind: Kind, version: &str) -> Value {
    let file = snapshot.join(format!("{}.{}.yaml", kind.as_str(), kind.group()));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let docs = parse_documents(&text, &Limits::default()).expect("CRD parses");
    let crd = docs[0].root.to_json();
    let versions = crd["spec"]["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let v = versions
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{} has no version {version}", file.display()));
    let schema = &v["schema"]["openAPIV3Schema"];
    let mut root = plain_schema(schema);
    // The root also holds apiVersion, kind and metadata, which the CRD leaves to Kubernetes.
    if let Some(props) = root["properties"].as_object_mut() {
        for k in ["apiVersion", "kind"] {
            props.insert(k.into(), json!({"type": "string"}));
        }
        props.insert("metadata".into(), json!({"type": "object"}));
    }
    root
}

/// The document exactly as it would be read back from the written file.
fn as_written(r: &Resource) -> Value {
    let text = yaml::to_yaml(&layout::to_value(r));
    let docs = parse_documents(&text, &Limits::default()).expect("generated YAML parses");
    docs[0].root.to_json()
}

fn validate(snapshot: &Path, version: &str, config: &MeshConfig) -> usize {
    let mut checked = 0;
    // ServiceAccounts and patches are Kubernetes objects, not Istio resources.
    for kind in Kind::ALL.into_iter().filter(|k| k.is_istio()) {
        let schema = crd_schema(snapshot, kind, version);
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        for r in config.of_kind(kind) {
            let doc = as_written(r);
            let errors: Vec<String> = validator
                .iter_errors(&doc)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{} {}/{} {version} in {}: {errors:?}",
                kind.as_str(),
                r.namespace,
                r.name,
                snapshot.display()
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn every_generated_document_validates_against_the_crds() {
    let Some(shared) = require_shared() else {
        return;
    };
    let snapshots = [
        ("release-1.30.3", IstioVersion::new(1, 30)),
        ("latest", IstioVersion::new(1, 31)),
    ];
    for (dir, istio) in snapshots {
        let snapshot = shared.join("istio/crds").join(dir);
        for api_version in [ApiVersion::V1, ApiVersion::V1beta1] {
            for target in [istio, IstioVersion::new(1, 25)] {
                let options = GenerateOptions {
                    api_version,
                    istio_version: Some(target),
                    ..GenerateOptions::default()
                };
                let config = generate(&shopfront_and_odd_shapes(), &Policy::default(), &options);
                let checked = validate(&snapshot, api_version.as_str(), &config);
                assert!(checked >= 22 * 5, "only {checked} documents checked");
            }
        }
    }
}

#[test]
fn the_validation_rejects_what_istio_would_reject() {
    let Some(shared) = require_shared() else {
        return;
    };
    let snapshot = shared.join("istio/crds/latest");
    let config = generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions::default(),
    );
    let pa = config
        .of_kind(Kind::PeerAuthentication)
        .next()
        .expect("a PeerAuthentication");
    let schema = crd_schema(&snapshot, Kind::PeerAuthentication, "v1");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let good = as_written(pa);
    assert!(validator.is_valid(&good));
    let mut bad_mode = good.clone();
    bad_mode["spec"]["mtls"]["mode"] = json!("SOMETIMES");
    assert!(!validator.is_valid(&bad_mode));
    let mut unknown_field = good.clone();
    unknown_field["spec"]["mtls"]["strict"] = json!(true);
    assert!(!validator.is_valid(&unknown_field));
}

/// What `generate` makes of real manifests: the bundled example and every shared corpus.
fn real_topologies(shared: &Path) -> Vec<(String, Topology)> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![workspace.join("examples/shopfront")];
    let mut corpora: Vec<PathBuf> = std::fs::read_dir(shared.join("corpora"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    corpora.sort();
    dirs.extend(corpora);
    dirs.into_iter()
        .map(|dir| {
            let loaded =
                crate::load::load(&[crate::load::Input::Path(dir.clone())], &Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let topology =
                crate::infer::infer(&crate::inventory::inventory(&loaded.objects, "default"));
            (dir.display().to_string(), topology)
        })
        .collect()
}

#[test]
fn generated_config_for_the_example_and_every_corpus_validates() {
    let Some(shared) = require_shared() else {
        return;
    };
    let topologies = real_topologies(&shared);
    assert!(
        topologies.len() >= 8,
        "example + 7 corpora, found {}",
        topologies.len()
    );
    for (dir, istio) in [
        ("release-1.30.3", IstioVersion::new(1, 30)),
        ("latest", IstioVersion::new(1, 31)),
    ] {
        let snapshot = shared.join("istio/crds").join(dir);
        for api_version in [ApiVersion::V1, ApiVersion::V1beta1] {
            let options = GenerateOptions {
                api_version,
                istio_version: Some(istio),
                ..GenerateOptions::default()
            };
            for (name, topology) in &topologies {
                let config = generate(topology, &Policy::default(), &options);
                let checked = validate(&snapshot, api_version.as_str(), &config);
                assert!(checked > 0, "{name}: nothing generated");
            }
        }
    }
}
