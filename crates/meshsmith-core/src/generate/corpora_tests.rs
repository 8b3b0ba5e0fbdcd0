//! On every corpus of `shared/corpora`, with no traffic, no enforced AuthorizationPolicy
//! denies a call of the ground truth (`expected-graph.json`), visible in the manifests or not:
//! where meshsmith cannot know a service's callers, its policy ships in dry-run.

use super::schema_tests::require_shared;
use super::*;
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load, Input, Limits};
use serde_json::Value;
use std::path::Path;

/// A ground-truth name (Service, or workload when it has none) -> its graph node.
fn node<'a>(topology: &'a Topology, expected: &Value, name: &str) -> Option<&'a MeshService> {
    let workload = expected["services"][name]["workload"].as_str();
    topology
        .services
        .iter()
        .find(|s| s.id.name == name || s.service.as_deref() == Some(name))
        .or_else(|| {
            topology.services.iter().find(|s| {
                s.workloads
                    .iter()
                    .any(|w| Some(w.name.as_str()) == workload || w.name == name)
            })
        })
}

/// The principals an enforced ALLOW policy of `callee` admits, or `None` when every policy
/// of it is in dry-run (nothing enforced).
fn enforced_principals(mesh: &MeshConfig, callee: &QualifiedName) -> Option<Vec<String>> {
    let enforced: Vec<&Resource> = mesh
        .resources
        .iter()
        .filter(|r| r.kind == Kind::AuthorizationPolicy && &r.owner == callee)
        .filter(|r| r.annotations.get(DRY_RUN_ANNOTATION) != Some("true"))
        .map(Box::as_ref)
        .collect();
    if enforced.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for r in enforced {
        if let Spec::AuthorizationPolicy(ap) = &r.spec {
            for rule in &ap.rules {
                for from in &rule.from {
                    out.extend(from.source.principals.iter().cloned());
                }
            }
        }
    }
    Some(out)
}

/// The account a workload runs as once the generated configuration is applied: the
/// generated ServiceAccount that names it, else its own.
fn account<'a>(mesh: &'a MeshConfig, ns: &str, w: &'a WorkloadRef) -> &'a str {
    let wanted = format!("{}/{}", w.kind.as_str(), w.name);
    mesh.of_kind(Kind::ServiceAccount)
        .find(|r| {
            r.namespace == ns && r.annotations.get(ACCOUNT_FOR_ANNOTATION) == Some(wanted.as_str())
        })
        .map_or(&w.service_account, |r| &r.name)
}

/// Ground-truth calls an enforced policy would deny, as `caller -> callee` lines.
fn denied_calls(dir: &Path, enforce_unverified: bool) -> (usize, Vec<String>) {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected-graph.json")).expect("expected graph"),
    )
    .expect("expected graph is JSON");
    let loaded = load(&[Input::Path(dir.to_path_buf())], &Limits::default()).expect("corpus loads");
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let options = GenerateOptions {
        enforce_unverified,
        ..GenerateOptions::default()
    };
    let mesh = generate(&topology, &Policy::default(), &options);
    let mut denied = Vec::new();
    let mut checked = 0;
    let services = expected["services"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (from, svc) in &services {
        for call in svc["calls"].as_array().into_iter().flatten() {
            if call["target_in_corpus"] == Value::Bool(false) {
                continue;
            }
            let to = call["target"].as_str().unwrap_or("");
            let (Some(caller), Some(callee)) = (
                node(&topology, &expected, from),
                node(&topology, &expected, to),
            ) else {
                continue;
            };
            checked += 1;
            let Some(admitted) = enforced_principals(&mesh, &callee.id) else {
                continue;
            };
            let missing = caller.workloads.iter().any(|w| {
                let p = format!(
                    "{}/ns/{}/sa/{}",
                    Policy::default().trust_domain,
                    caller.id.namespace,
                    account(&mesh, &caller.id.namespace, w)
                );
                !admitted.contains(&p)
            });
            if missing || caller.workloads.is_empty() {
                denied.push(format!("{from} -> {to}"));
            }
        }
    }
    (checked, denied)
}

#[test]
fn no_enforced_policy_denies_a_ground_truth_call_on_any_corpus() {
    let Some(shared) = require_shared() else {
        return;
    };
    let corpora = shared.join("corpora");
    let mut dirs: Vec<_> = std::fs::read_dir(&corpora)
        .expect("corpora folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected-graph.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 7,
        "expected the seven corpora in {}",
        corpora.display()
    );
    let mut report = Vec::new();
    let mut total = 0;
    let mut denied_if_enforced = 0;
    for dir in &dirs {
        let (checked, denied) = denied_calls(dir, false);
        total += checked;
        for d in denied {
            report.push(format!("{}: {d}", dir.display()));
        }
        denied_if_enforced += denied_calls(dir, true).1.len();
    }
    assert!(
        total > 200,
        "only {total} ground-truth calls were evaluated"
    );
    // The same evaluation with every policy enforced, as before callers were assessed,
    // finds the calls that would break: it can fail.
    assert!(
        denied_if_enforced * 2 > total,
        "enforcing every guess should deny most hidden calls ({denied_if_enforced} of {total})"
    );
    assert!(
        report.is_empty(),
        "enforced policies deny ground-truth calls:\n{}",
        report.join("\n")
    );
}

/// The corpora's folders, sorted; the seven of them.
fn corpora(shared: &Path) -> Vec<std::path::PathBuf> {
    let corpora = shared.join("corpora");
    let mut dirs: Vec<_> = std::fs::read_dir(&corpora)
        .expect("corpora folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected-graph.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 7,
        "expected the seven corpora in {}",
        corpora.display()
    );
    dirs
}

/// Whether the generation notes say which shared identity keeps `pair`'s source admitted
/// (a caller whose account cannot move, such as a Job's): the one excuse for a non-caller.
fn explained(mesh: &MeshConfig, pair: &super::least_privilege::Pair) -> bool {
    pair.identity.as_ref().is_some_and(|id| {
        let account = format!("runs as ServiceAccount {}", id.service_account);
        mesh.notes
            .iter()
            .any(|n| n.contains(&account) && n.contains(&pair.callee.to_string()))
    })
}

#[test]
fn generated_policies_admit_exactly_the_callers_on_their_ports_on_every_corpus() {
    // Before accounts of their own and ports on every rule, the policies (read as enforced)
    // admitted 39 caller/callee pairs no edge has on aks-store-demo, 12 on sock-shop and 9 on
    // spring-petclinic-cloud, through the `default` account every workload shares, and every
    // caller on every port of its callee.
    let Some(shared) = require_shared() else {
        return;
    };
    let mut report = Vec::new();
    let mut evaluated = 0;
    let mut accounts = 0;
    for dir in corpora(&shared) {
        let loaded = load(&[Input::Path(dir.clone())], &Limits::default()).expect("corpus loads");
        let inv = inventory(&loaded.objects, "default");
        let topology = infer(&inv);
        let options = GenerateOptions {
            namespace_labels: inv.namespace_labels(),
            service_accounts: inv
                .service_accounts
                .iter()
                .map(|a| (a.namespace.clone(), a.name.clone()))
                .collect(),
            ..GenerateOptions::default()
        };
        let mesh = generate(&topology, &Policy::default(), &options);
        let verdicts =
            super::least_privilege::evaluate(&topology, &loaded.objects, &mesh, &options);
        let name = dir.display();
        for pair in verdicts.extra.iter().filter(|p| !explained(&mesh, p)) {
            report.push(format!("{name}: admitted without an edge: {pair}"));
        }
        for pair in &verdicts.denied {
            report.push(format!("{name}: call denied: {pair}"));
        }
        for rule in &verdicts.portless {
            report.push(format!("{name}: ALLOW rule without ports: {rule}"));
        }
        evaluated += verdicts.evaluated;
        accounts += mesh.of_kind(Kind::ServiceAccount).count();
    }
    eprintln!("{evaluated} (source, workload, port) decisions, {accounts} accounts generated");
    assert!(evaluated > 1000, "only {evaluated} decisions evaluated");
    // aks-store-demo 5, sock-shop 1, spring-petclinic-cloud 1.
    assert!(accounts >= 7, "only {accounts} accounts generated");
    assert!(report.is_empty(), "{}", report.join("\n"));
}
