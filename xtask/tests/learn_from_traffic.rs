//! The loop on every corpus, in every traffic format: fixtures written from the ground truth
//! (with outside callers, probes, 5xx, a renamed pod and an unused decoy), read back with
//! `--traffic`'s reader, inferred with the manifests. Every ground-truth call Istio can see is
//! found and nothing else is (recall and precision 1.0), and every enforced policy admits
//! exactly the ground truth's callers.

use meshsmith_core::generate::{generate, GenerateOptions};
use meshsmith_core::infer::{infer_with, Extra};
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, traffic, Input, Limits};
use meshsmith_core::model::*;
use meshsmith_core::policy::Policy;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use xtask::traffic::Format;

/// Ground-truth names: a Service's, or a workload's when it has none.
fn gt_name(expected: &Value, s: &MeshService) -> String {
    let services = expected["services"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if services.contains_key(s.id.name.as_str()) {
        return s.id.name.to_string();
    }
    for (name, svc) in &services {
        let workloads: Vec<&str> = match &svc["workload"] {
            Value::String(w) => vec![w.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if s.workloads
            .iter()
            .any(|w| workloads.contains(&w.name.as_str()))
        {
            return name.clone();
        }
    }
    s.id.name.to_string()
}

/// Calls as (caller, callee) ground-truth names.
type Calls = BTreeSet<(String, String)>;

/// (caller, callee) of the ground truth: every call, and the ones Istio's proxies can see.
fn ground_truth(expected: &Value) -> (Calls, Calls) {
    let mut all = BTreeSet::new();
    let mut observable = BTreeSet::new();
    for (from, svc) in expected["services"].as_object().into_iter().flatten() {
        for call in svc["calls"].as_array().into_iter().flatten() {
            if call["target_in_corpus"] == Value::Bool(false) {
                continue;
            }
            let edge = (
                from.clone(),
                call["target"].as_str().unwrap_or("").to_string(),
            );
            // Sidecars do not intercept UDP (jaeger's 6831 thrift): no traffic can show it.
            if call["protocol"] != "udp" {
                observable.insert(edge.clone());
            }
            all.insert(edge);
        }
    }
    (all, observable)
}

/// The problems found, and how many enforced policies were checked.
fn learn(corpus: &Path, format: Format, dir: &Path) -> (Vec<String>, usize) {
    let corpus_name = corpus.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("expected-graph.json")).expect("ground truth"),
    )
    .expect("ground truth is JSON");
    let out = dir.join(format.name());
    xtask::traffic::run(corpus, &[format], &out, 1).expect("fixtures");
    let traffic = traffic::read(&[Input::Path(out)], &Limits::default())
        .unwrap_or_else(|e| panic!("{corpus_name} {}: {e}", format.name()));
    let loaded = load(&[Input::Path(corpus.to_path_buf())], &Limits::default()).expect("corpus");
    let inv = inventory(&loaded.objects, "default");
    let extra = Extra {
        traffic: Some(&traffic),
        declared: &[],
    };
    let topology = infer_with(&inv, &extra);
    let names: BTreeMap<&QualifiedName, String> = topology
        .services
        .iter()
        .map(|s| (&s.id, gt_name(&expected, s)))
        .collect();
    let reported: Calls = topology
        .edges
        .iter()
        .map(|e| (names[&e.from].clone(), names[&e.to].clone()))
        .collect();
    let (all, observable) = ground_truth(&expected);
    let at = format!("{corpus_name} {}", format.name());
    let mut problems: Vec<String> = observable
        .difference(&reported)
        .map(|(f, t)| format!("{at}: missed {f} -> {t}"))
        .collect();
    problems.extend(
        reported
            .difference(&all)
            .map(|(f, t)| format!("{at}: invented {f} -> {t}")),
    );
    let (wrong, checked) = admitted_exactly(&topology, &names, &all, &at);
    problems.extend(wrong);
    (problems, checked)
}

/// Every enforced policy admits exactly the principals of its ground-truth callers.
fn admitted_exactly(
    topology: &Topology,
    names: &BTreeMap<&QualifiedName, String>,
    truth: &Calls,
    at: &str,
) -> (Vec<String>, usize) {
    let policy = Policy::default();
    let mesh = generate(topology, &policy, &GenerateOptions::default());
    let by_name: BTreeMap<&String, &MeshService> = topology
        .services
        .iter()
        .map(|s| (&names[&s.id], s))
        .collect();
    // A caller that shared its account with a non-caller runs as the account generated for
    // it (annotated with the workload) once its patch is applied.
    let moved: BTreeMap<(String, String), String> = mesh
        .of_kind(Kind::ServiceAccount)
        .filter_map(|a| {
            let workload = a.annotations.get(ACCOUNT_FOR_ANNOTATION)?;
            Some(((a.namespace.clone(), workload.to_string()), a.name.clone()))
        })
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for r in mesh.of_kind(Kind::AuthorizationPolicy) {
        if r.annotations.get(DRY_RUN_ANNOTATION) == Some("true") {
            continue;
        }
        checked += 1;
        let Spec::AuthorizationPolicy(ap) = &r.spec else {
            continue;
        };
        let admitted: BTreeSet<&str> = ap
            .rules
            .iter()
            .flat_map(|rule| &rule.from)
            .flat_map(|f| f.source.principals.iter().map(String::as_str))
            .filter(|p| *p != policy.ingress_gateway_principal)
            .collect();
        let callee = &names[&r.owner];
        let wanted: BTreeSet<String> = truth
            .iter()
            .filter(|(_, to)| to == callee)
            .filter_map(|(from, _)| by_name.get(from))
            .flat_map(|caller| {
                caller.workloads.iter().map(|w| {
                    let ns = &caller.id.namespace;
                    let account = moved
                        .get(&(ns.to_string(), format!("{}/{}", w.kind.as_str(), w.name)))
                        .unwrap_or(&w.service_account);
                    format!("{}/ns/{ns}/sa/{account}", policy.trust_domain)
                })
            })
            .collect();
        let wanted: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
        if admitted != wanted {
            problems.push(format!(
                "{at}: {} admits {admitted:?}, its callers are {wanted:?}",
                r.name
            ));
        }
    }
    (problems, checked)
}

#[test]
fn traffic_shows_every_ground_truth_call_and_the_enforced_policies_admit_exactly_them() {
    let Some(corpora) =
        xtask::shared_corpora("traffic_shows_every_ground_truth_call_and_the_enforced_policies")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    let mut enforced = 0;
    for corpus in &corpora {
        for format in Format::ALL {
            let sub = dir.path().join(corpus.file_name().expect("name"));
            let (wrong, checked) = learn(corpus, format, &sub);
            problems.extend(wrong);
            enforced += checked;
        }
    }
    assert!(corpora.len() >= 7, "expected the seven corpora");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // With the traffic, nearly every service's callers are known and its policy enforced:
    // the comparison above covered them, not just a few.
    assert!(
        enforced >= 700,
        "only {enforced} enforced policies were compared"
    );
}
