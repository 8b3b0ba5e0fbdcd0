//! Istio as the judge of everything meshsmith writes: `istioctl analyze --use-kube=false`
//! over the manifests plus the generated configuration, and over the cluster as each step of
//! the rollout plan leaves it (steps applied in order), reports no Error and no Warning that
//! meshsmith caused, for the example, every corpus of `shared/corpora` and a synthetic
//! organisation of 1,000 services.
//!
//! What istioctl says about the manifests alone is the users' own; each such Error or
//! Warning is listed in [`USERS_OWN`] with why it is not meshsmith's, and the list must match
//! what istioctl says exactly. Anything istioctl says once meshsmith's output is applied that
//! it did not say of the manifests alone is meshsmith's, and fails the test. An object of
//! the manifests that meshsmith's output replaces outright (a PeerAuthentication of the same
//! name, which meshsmith then manages) is printed, since istioctl cannot tell.
//!
//! The states are built by `xtask::applied`: steps rendered with `kubectl kustomize` and
//! their `kubectl patch` commands replayed. istioctl is found through `MESHSMITH_ISTIOCTL`,
//! the build `cargo xtask istio-tools istioctl` makes from istio-tools.toml, or PATH, and
//! kubectl through `MESHSMITH_KUBECTL` or PATH; without them the tests say SKIPPED, and with
//! `MESHSMITH_REQUIRE_ISTIOCTL=1` / `MESHSMITH_REQUIRE_KUBECTL=1` (CI) they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::applied::{states, verdicts, Verdict};

/// Errors and Warnings istioctl gives on the users' own manifests, before meshsmith writes
/// anything: (input, code, resource, why it is not meshsmith's). Today there are none: every
/// corpus, the example and the synthetic organisation read clean on their own.
const USERS_OWN: &[(&str, &str, &str, &str)] = &[];

struct Tools {
    istioctl: PathBuf,
    kubectl: PathBuf,
}

fn tools(test: &str) -> Option<Tools> {
    let tool = xtask::istio_tools::tool("istioctl").expect("a known tool");
    let istioctl = xtask::istio_tools::find(tool, test)?;
    let kubectl = PathBuf::from(std::env::var("MESHSMITH_KUBECTL").unwrap_or("kubectl".into()));
    let runs = Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        assert!(
            std::env::var("MESHSMITH_REQUIRE_KUBECTL").as_deref() != Ok("1"),
            "{test}: kubectl is required (MESHSMITH_REQUIRE_KUBECTL=1) but `{}` does not run",
            kubectl.display()
        );
        eprintln!(
            "\n*** SKIPPED: {test}: no kubectl to render the rollout's steps (set MESHSMITH_KUBECTL) ***\n"
        );
        return None;
    }
    Some(Tools { istioctl, kubectl })
}

/// `meshsmith plan` of `manifests` into `out`.
fn plan(manifests: &[PathBuf], out: &Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .arg("plan")
        .args(manifests)
        .arg("-o")
        .arg(out)
        .output()
        .expect("meshsmith runs");
    assert!(
        run.status.success(),
        "plan {manifests:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// What went wrong on one input, as lines; empty when istioctl is content.
fn judge(name: &str, manifests: &[PathBuf], tools: &Tools) -> Vec<String> {
    let work = tempfile::tempdir().expect("temp dir");
    let out = work.path().join("out");
    plan(manifests, &out);
    let states = states(&tools.kubectl, manifests, &out, work.path())
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let verdicts = verdicts(&tools.istioctl, &states).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let mut problems = Vec::new();
    let users: &[Verdict] = &verdicts[0];
    let mut listed: Vec<(&str, &str)> = USERS_OWN
        .iter()
        .filter(|(input, ..)| *input == name)
        .map(|(_, code, resource, _)| (*code, *resource))
        .collect();
    listed.sort();
    let mut said: Vec<(&str, &str)> = users
        .iter()
        .map(|(c, r, _)| (c.as_str(), r.as_str()))
        .collect();
    said.dedup();
    if said != listed {
        problems.push(format!(
            "{name}: istioctl on the manifests alone says {users:?}; USERS_OWN lists {listed:?}"
        ));
    }
    for (state, found) in states.iter().zip(&verdicts).skip(1) {
        for v in found.iter().filter(|v| !users.contains(v)) {
            problems.push(format!(
                "{name} after {}: {} {}: {}",
                state.label, v.0, v.1, v.2
            ));
        }
    }
    if let Some(last) = states.last().filter(|s| !s.replaced.is_empty()) {
        eprintln!(
            "{name}: meshsmith's output replaces {} object(s) of the manifests: {}",
            last.replaced.len(),
            last.replaced.join(", ")
        );
    }
    eprintln!(
        "{name}: {} states judged (the manifests, config/, {} steps)",
        states.len(),
        states.len().saturating_sub(2)
    );
    problems
}

fn assert_clean(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "istioctl finds what meshsmith wrote at fault:\n{}",
        problems.join("\n")
    );
}

#[test]
fn istioctl_is_content_with_the_example_at_every_step() {
    let Some(tools) = tools("istioctl_is_content_with_the_example_at_every_step") else {
        return;
    };
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shopfront");
    assert_clean(&judge("shopfront", &[example], &tools));
}

#[test]
fn istioctl_is_content_with_every_corpus_at_every_step() {
    let test = "istioctl_is_content_with_every_corpus_at_every_step";
    let Some(tools) = tools(test) else {
        return;
    };
    let Some(corpora) = xtask::shared_corpora(test) else {
        return;
    };
    let mut problems = Vec::new();
    for corpus in &corpora {
        let name = corpus.file_name().map(|n| n.to_string_lossy().into_owned());
        problems.extend(judge(
            &name.unwrap_or_default(),
            std::slice::from_ref(corpus),
            &tools,
        ));
    }
    assert_clean(&problems);
}

#[test]
fn istioctl_is_content_with_a_synthetic_organisation_of_1000_services_at_every_step() {
    let Some(tools) =
        tools("istioctl_is_content_with_a_synthetic_organisation_of_1000_services_at_every_step")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let org = dir.path().join("org");
    xtask::synth::write(&xtask::synth::Org::new(1000, 1), &org).expect("synthetic organisation");
    assert_clean(&judge("synthetic-1000", &[org], &tools));
}

#[test]
fn a_message_only_meshsmith_output_brings_fails_the_judgement() {
    // The judge itself: a generated VirtualService on a host the manifests already route
    // (which meshsmith does not write) must be caught, or the tests above prove nothing.
    let Some(tools) = tools("a_message_only_meshsmith_output_brings_fails_the_judgement") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let manifests = dir.path().join("m.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web, namespace: shop}\n\
         spec: {hosts: [web.shop.svc.cluster.local], http: [{route: [{destination: {host: web.shop.svc.cluster.local}}]}]}\n",
    )
    .expect("write");
    let mut cluster = xtask::applied::Cluster::of_manifests(&[manifests]).expect("manifests");
    let users = dir.path().join("users.yaml");
    std::fs::write(&users, cluster.to_yaml().expect("yaml")).expect("write");
    let second = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web-routes, namespace: shop}\n\
         spec: {hosts: [web.shop.svc.cluster.local], http: [{timeout: 3s, route: [{destination: {host: web.shop.svc.cluster.local}}]}]}\n";
    cluster.apply(
        xtask::applied::objects_of(second, "second").expect("yaml"),
        xtask::applied::Author::Meshsmith,
    );
    let both = dir.path().join("both.yaml");
    std::fs::write(&both, cluster.to_yaml().expect("yaml")).expect("write");
    let before = xtask::applied::analyze(&tools.istioctl, &users).expect("istioctl");
    let after = xtask::applied::analyze(&tools.istioctl, &both).expect("istioctl");
    assert!(before.is_empty(), "{before:?}");
    assert!(
        after.iter().any(|m| m.code == "IST0109"),
        "istioctl did not see two VirtualServices for one host: {after:?}"
    );
}
