//! Each format on a small fixture (`tests/fixtures/traffic/`), each error, and arbitrary
//! bytes that must never panic.

mod errors;
mod formats;

use super::*;
use crate::model::{
    Observation, ObservedPeer as Peer, ObservedTarget as Target, Protocol, Reporter, TrafficFormat,
};

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traffic")
        .join(name)
}

pub(super) fn read_fixture(name: &str) -> Traffic {
    match read(&[Input::Path(fixture(name))], &Limits::default()) {
        Ok(t) => t,
        Err(e) => panic!("{name}: {e}"),
    }
}

pub(super) fn fail(name: &str) -> Vec<String> {
    match read(&[Input::Path(fixture(name))], &Limits::default()) {
        Ok(t) => panic!("{name} read: {t:?}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

pub(super) fn bytes_fail(name: &str, bytes: &[u8]) -> Vec<String> {
    match read_bytes(name, bytes, &Limits::default()) {
        Ok(t) => panic!("{name} read: {t:?}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

pub(super) fn workload(ns: &str, name: &str) -> Peer {
    Peer::Workload {
        namespace: ns.into(),
        name: name.into(),
    }
}

pub(super) fn pod(name: &str) -> Peer {
    Peer::Pod {
        namespace: None,
        name: name.into(),
    }
}

pub(super) fn service(ns: &str, name: &str) -> Target {
    Target::Service {
        namespace: Some(ns.into()),
        name: name.into(),
    }
}

pub(super) fn find<'t>(
    t: &'t Traffic,
    source: &Peer,
    destination: &Target,
) -> Vec<&'t Observation> {
    t.observations
        .iter()
        .filter(|o| &o.source == source && &o.destination == destination)
        .collect()
}

#[test]
fn the_result_does_not_depend_on_file_order() {
    let a = Input::Path(fixture("per-pod-text"));
    let b = Input::Path(fixture("kubectl-prefix.log"));
    let one = read(&[a.clone(), b.clone()], &Limits::default()).expect("reads");
    let two = read(&[b, a], &Limits::default()).expect("reads");
    assert_eq!(one, two);
}
