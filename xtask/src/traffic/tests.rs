//! Every corpus's fixtures, in every format, read back with `meshsmith_core`: each call of
//! the scene is observed (caller to callee), and no call from inside the mesh that the
//! ground truth does not have (the decoy included) is.

use super::scene::{self, Scene};
use super::{run, Format};
use meshsmith_core::load::traffic::read;
use meshsmith_core::load::{Input, Limits};
use meshsmith_core::model::{ObservedPeer, ObservedTarget, Traffic};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpora(test: &str) -> Vec<PathBuf> {
    crate::shared_corpora(test).unwrap_or_default()
}

/// The caller workloads a peer may be.
fn callers(scene: &Scene, peer: &ObservedPeer) -> BTreeSet<usize> {
    let all = scene.workloads.iter().enumerate();
    match peer {
        ObservedPeer::Workload { namespace, name } => all
            .filter(|(_, w)| &w.name == name && &w.namespace == namespace)
            .map(|(i, _)| i)
            .collect(),
        ObservedPeer::Pod { name, .. } => all
            .filter(|(_, w)| w.pods.iter().any(|p| &p.name == name))
            .map(|(i, _)| i)
            .collect(),
        ObservedPeer::Principal(p) => all
            .filter(|(_, w)| &w.principal() == p)
            .map(|(i, _)| i)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The Services a target may be.
fn callees(scene: &Scene, target: &ObservedTarget) -> BTreeSet<usize> {
    let backs = |pred: &dyn Fn(usize) -> bool| -> BTreeSet<usize> {
        scene
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.backends.iter().any(|&b| pred(b)))
            .map(|(i, _)| i)
            .collect()
    };
    match target {
        ObservedTarget::Service { name, .. } => scene
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| &s.name == name)
            .map(|(i, _)| i)
            .collect(),
        ObservedTarget::Workload { name, .. } => backs(&|b| &scene.workloads[b].name == name),
        ObservedTarget::Pod { name, .. } => {
            backs(&|b| scene.workloads[b].pods.iter().any(|p| &p.name == name))
        }
        ObservedTarget::Host(_) => BTreeSet::new(),
    }
}

fn check(scene: &Scene, traffic: &Traffic, format: Format) {
    let mut seen = BTreeSet::new();
    for o in &traffic.observations {
        let (from, to) = (callers(scene, &o.source), callees(scene, &o.destination));
        if from.is_empty() {
            continue;
        }
        let known = from.iter().any(|&f| {
            to.iter()
                .any(|&t| scene.calls.iter().any(|c| c.caller == f && c.service == t))
        });
        assert!(
            known,
            "{} {}: an observed call the ground truth does not have: {o:?}",
            scene.corpus,
            format.name()
        );
        for &f in &from {
            for &t in &to {
                seen.insert((f, t));
            }
        }
    }
    for c in &scene.calls {
        let principal = scene.workloads[c.caller].principal();
        let shared = scene
            .workloads
            .iter()
            .filter(|w| w.principal() == principal)
            .count()
            > 1;
        assert!(
            seen.contains(&(c.caller, c.service)) || shared,
            "{} {}: {} -> {} not observed",
            scene.corpus,
            format.name(),
            scene.workloads[c.caller].name,
            scene.services[c.service].name
        );
    }
}

#[test]
fn every_corpus_in_every_format_reads_back_as_its_ground_truth() {
    let corpora = corpora("every_corpus_in_every_format_reads_back_as_its_ground_truth");
    if corpora.is_empty() {
        return;
    }
    let out = std::env::temp_dir().join(format!("meshsmith-traffic-{}", std::process::id()));
    for corpus in corpora {
        let scene = scene::build(&corpus, 7).expect("scene");
        assert!(!scene.calls.is_empty(), "{}", corpus.display());
        let dir = out.join(&scene.corpus);
        run(&corpus, &Format::ALL, &dir, 7).expect("writes");
        for format in Format::ALL {
            let traffic = read(&[Input::Path(dir.join(format.name()))], &Limits::default())
                .unwrap_or_else(|e| panic!("{} {}: {e}", scene.corpus, format.name()));
            check(&scene, &traffic, format);
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_same_seed_writes_the_same_files() {
    let Some(corpus) = corpora("the_same_seed_writes_the_same_files")
        .into_iter()
        .find(|c| c.ends_with("bookinfo"))
    else {
        return;
    };
    let out = std::env::temp_dir().join(format!("meshsmith-traffic-seed-{}", std::process::id()));
    let texts: Vec<String> = (0..2)
        .map(|i| {
            let dir = out.join(i.to_string());
            run(&corpus, &[Format::AccessLogPrefix], &dir, 3).expect("writes");
            std::fs::read_to_string(dir.join("kubectl-logs.log")).expect("written")
        })
        .collect();
    assert_eq!(texts[0], texts[1]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_bench_access_log_reads_without_problems() {
    let path = std::env::temp_dir().join(format!("meshsmith-bench-log-{}.log", std::process::id()));
    super::bench_inputs::access_log(&path, 200_000, 1).expect("writes");
    let traffic = read(&[Input::Path(path.clone())], &Limits::default()).expect("reads");
    let _ = std::fs::remove_file(&path);
    assert!(
        traffic.observations.len() > 100,
        "{}",
        traffic.observations.len()
    );
    assert!(traffic.sources[0].calls > 500);
}
