//! What `meshsmith generate C -o D && meshsmith check C D` does, in process, on every corpus
//! of `shared/corpora` and on the bundled example: the generated configuration passes
//! meshsmith's own check. Every error or warning must have a code from [`INPUT_CAUSED`],
//! findings about the users' own manifests that no generated configuration can remove, and
//! must point into those manifests, never into a generated file; anything else is a defect
//! of the generator.

use super::schema_tests::require_shared;
use super::*;
use crate::check::{check, CheckConfig};
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load, Input, Limits};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Codes a check of manifests plus generated configuration reports because of the
/// manifests, each with why generation cannot (and must not) make it go away.
pub(super) const INPUT_CAUSED: [(&str, &str); 18] = [
    ("MS101", "a manifest that reads with a warning, such as a key written twice (kubectl keeps the later value): the user's YAML"),
    ("MS102", "a Service port with neither appProtocol nor a protocol-prefixed name: the fix is a merge patch to the user's Service, which generate does not rewrite"),
    ("MS104", "a namespace without the istio-injection label in the manifests: the generated namespace patch adds it when applied, but check reads the Namespace as written"),
    ("MS106", "a workload whose pod template does not say whether it wants a sidecar: an annotation in the user's Deployment"),
    ("MS107", "a Deployment behind several of the user's Services that declare one port with two protocols: the user's Services"),
    ("MS108", "a Deployment behind several of the user's Services that reach one container port through different Service ports: the user's Services"),
    ("MS206", "a name in the manifests that no Service has (dangling): only the user knows what it should name"),
    ("MS208", "callers unknown: the manifests do not show who calls the service, so its policies ship in dry-run"),
    ("MS209", "a workload whose calls may be hidden (registry client, configuration in the image, a proxy)"),
    ("MS210", "a caller read from low-confidence evidence in the manifests"),
    ("MS211", "traffic: a dry-run policy would have denied observed requests"),
    ("MS212", "traffic: a name that matches nothing in the manifests"),
    ("MS213", "traffic: callers from outside the mesh"),
    ("MS214", "traffic: a call the manifests suggest that the traffic never showed"),
    ("MS215", "an enforced policy on a service whose callers are not known: only with --enforce-unverified, the user's explicit choice (never passed here)"),
    ("MS216", "a cloud metadata endpoint or link-local address named in the manifests: only the user can remove it, or allow it in the policy file with a reason"),
    ("MS303", "a VirtualService in the user's own manifests routes to a host no Service has"),
    ("MS311", "each PERMISSIVE exception listed with its reason, for review (information)"),
];

/// Where the generated files are said to be, as `check C D` would read them.
const GENERATED: &str = "<generated>";

/// Errors and warnings of `check` over the manifests of `dir` and their generated
/// configuration, by code.
fn self_check(dir: &Path) -> BTreeMap<&'static str, Vec<Finding>> {
    let loaded = load(&[Input::Path(dir.to_path_buf())], &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    self_check_loaded(loaded, &dir.display().to_string(), &Policy::default())
}

/// [`self_check`] of manifests already read from `place`, under a policy.
pub(super) fn self_check_loaded(
    loaded: crate::load::Loaded,
    place: &str,
    policy: &Policy,
) -> BTreeMap<&'static str, Vec<Finding>> {
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let options = GenerateOptions {
        namespace_labels: inv.namespace_labels(),
        ..GenerateOptions::default()
    };
    let mesh = generate(&topology, policy, &options);
    // Nothing in a generated object says where the manifests were read from.
    for r in &mesh.resources {
        for (key, value) in r.annotations.iter() {
            assert!(
                ![".yaml:", ".yml:", ".json:", place]
                    .iter()
                    .any(|p| value.contains(p)),
                "{} {}/{}: {key} names a file: {value}",
                r.kind.as_str(),
                r.namespace,
                r.name
            );
        }
    }
    let header = Header {
        version: "test".into(),
        inputs: Vec::new(),
    };
    let generated = layout_with_objects(&mesh, &header, Path::new(GENERATED));
    let mut objects = loaded.objects;
    objects.extend(generated.objects);
    // As `check C D` does: everything read is inferred again, generated objects included,
    // and what reading the manifests noted (keys written twice) goes along.
    let mut both = inventory(&objects, "default");
    both.notes.splice(0..0, loaded.notes);
    let topology = infer(&both);
    let mut out: BTreeMap<&'static str, Vec<Finding>> = BTreeMap::new();
    let config = CheckConfig {
        egress_allow: policy.egress_allow.clone(),
        ..CheckConfig::default()
    };
    for f in check(&both, &topology, &config) {
        if f.severity >= Severity::Warning {
            out.entry(f.code).or_default().push(f);
        }
    }
    out
}

fn inputs() -> Option<Vec<PathBuf>> {
    let shared = require_shared()?;
    let corpora = shared.join("corpora");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&corpora)
        .unwrap_or_else(|e| panic!("{}: {e}", corpora.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected-graph.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 7,
        "expected the seven corpora in {}",
        corpora.display()
    );
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront"));
    Some(dirs)
}

#[test]
fn generated_configuration_passes_meshsmiths_own_check_on_every_corpus() {
    let Some(dirs) = inputs() else {
        return;
    };
    let allowed: BTreeMap<&str, &str> = INPUT_CAUSED.into_iter().collect();
    let mut defects = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let found = self_check(dir);
        let counts: Vec<String> = found
            .iter()
            .map(|(c, f)| format!("{c} x{}", f.len()))
            .collect();
        eprintln!("{name}: {}", counts.join(", "));
        for (code, findings) in &found {
            for f in findings {
                let in_generated = f
                    .origin
                    .as_ref()
                    .is_some_and(|o| o.file.starts_with(GENERATED));
                if !allowed.contains_key(code) || in_generated {
                    defects.push(format!("{name}: {code} {}: {}", f.resource, f.message));
                }
            }
        }
    }
    assert!(
        defects.is_empty(),
        "generated configuration fails meshsmith's own check:\n{}",
        defects.join("\n")
    );
}

#[test]
fn the_example_has_no_deadline_inversion_left() {
    // Before timeouts were derived along the graph, the example's 5 s aggregators sat over
    // a 10 s external integration and a 10 s worker: two MS203 warnings.
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    let found = self_check(&example);
    assert!(!found.contains_key("MS203"), "{:?}", found.get("MS203"));
    assert!(!found.contains_key("MS202"), "{:?}", found.get("MS202"));
}

/// The node of a corpus called `name`, with the mTLS reason its generated
/// PeerAuthentications carry, if any.
fn role_and_mtls_reason(path: &Path, name: &str) -> (Role, Option<String>) {
    let loaded = load(&[Input::Path(path.to_path_buf())], &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let topology = infer(&inventory(&loaded.objects, "default"));
    let mesh = generate(&topology, &Policy::default(), &GenerateOptions::default());
    let node = topology
        .find(name)
        .unwrap_or_else(|| panic!("{}: no {name}", path.display()));
    let reason = mesh
        .of_kind(Kind::PeerAuthentication)
        .find(|r| r.owner == node.id)
        .and_then(|r| r.annotations.get(MTLS_REASON_ANNOTATION))
        .map(str::to_string);
    (node.role, reason)
}

#[test]
fn the_corpora_front_ends_are_front_doors_and_their_datastores_datastores() {
    let Some(shared) = require_shared() else {
        return;
    };
    let corpora = shared.join("corpora");
    // Before, the exposed front ends were webhook receivers (PERMISSIVE "webhook receiver,
    // ..."), the 3306 and 27017 services sync APIs, the NodePort dashboard a sync API.
    for (path, name, role) in [
        ("online-boutique", "frontend", Role::Gateway),
        (
            "online-boutique/release/kubernetes-manifests.yaml",
            "frontend",
            Role::Gateway,
        ),
        ("sock-shop", "front-end", Role::Gateway),
        ("aks-store-demo", "store-front", Role::Gateway),
        ("train-ticket", "ts-ui-dashboard", Role::Gateway),
        ("spring-petclinic-cloud", "api-gateway", Role::Gateway),
        ("sock-shop", "catalogue-db", Role::Datastore),
        ("sock-shop", "user-db", Role::Datastore),
    ] {
        let (got, reason) = role_and_mtls_reason(&corpora.join(path), name);
        assert_eq!(got, role, "{path}: {name}");
        if role == Role::Gateway {
            // PERMISSIVE only because its own LoadBalancer or NodePort Service really sends
            // plain traffic, and said so without naming a file.
            let reason = reason.unwrap_or_default();
            assert!(
                reason.starts_with(
                    "front door: plain traffic from outside the mesh reaches it directly"
                ),
                "{path}: {name}: {reason}"
            );
        }
    }
}
