//! Calls on the real examples/shopfront: resolution against the chosen services, and whether the
//! caller's generated Sidecar imports the callee, read as Istio reads egress hosts.

use super::*;
use crate::from_mesh::spec_from_mesh;
use crate::from_mesh::tests::pipeline;
use meshsmith_core::model::Resource;

fn path() -> Vec<String> {
    [
        "order-service",
        "payment-service",
        "stripe-webhook",
        "user-service",
    ]
    .map(String::from)
    .to_vec()
}

fn call(text: &str) -> Call {
    Call::parse(text).expect("FROM:TO")
}

fn sidecar_hosts<'a>(mesh: &'a mut MeshConfig, workload: &str) -> &'a mut Vec<String> {
    mesh.resources
        .iter_mut()
        .map(|r| &mut **r)
        .find(|r: &&mut Resource| r.kind == Kind::Sidecar && r.name == workload)
        .and_then(|r| match &mut r.spec {
            Spec::Sidecar(s) => s.egress.first_mut().map(|e| &mut e.hosts),
            _ => None,
        })
        .expect("a generated Sidecar")
}

#[test]
fn a_call_is_kept_apart_from_the_edges_with_whether_the_callers_sidecar_imports_the_callee() {
    let (topology, mut mesh, _) = pipeline("");
    // stripe-webhook calls payment-service only: its Sidecar does not import user-service.
    let calls = [call("stripe-webhook:user-service.shop")];
    let spec = spec_from_mesh(&topology, &mesh, &path(), &calls, "cluster.local").expect("spec");
    assert_eq!(
        spec.calls,
        [CallSpec {
            from: "stripe-webhook".into(),
            to: "user-service".into(),
            imported: false
        }]
    );
    assert!(!spec
        .edges
        .iter()
        .any(|e| e.from == "stripe-webhook" && e.to == "user-service"));
    for hosts in [
        "shop/user-service.shop.svc.cluster.local",
        "shop/*",
        "*/*",
        "*/*.shop.svc.cluster.local",
    ] {
        let mut edited = mesh.clone();
        sidecar_hosts(&mut edited, "stripe-webhook").push(hosts.into());
        let spec =
            spec_from_mesh(&topology, &edited, &path(), &calls, "cluster.local").expect("spec");
        assert!(spec.calls[0].imported, "{hosts}");
    }
    // An exclusion wins over a wildcard that would import it.
    let hosts = sidecar_hosts(&mut mesh, "stripe-webhook");
    hosts.push("*/*".into());
    hosts.push("~shop/user-service.shop.svc.cluster.local".into());
    let spec = spec_from_mesh(&topology, &mesh, &path(), &calls, "cluster.local").expect("spec");
    assert!(!spec.calls[0].imported);
    // Without a Sidecar the whole mesh is visible.
    mesh.resources
        .retain(|r| !(r.kind == Kind::Sidecar && r.name == "stripe-webhook"));
    let spec = spec_from_mesh(&topology, &mesh, &path(), &calls, "cluster.local").expect("spec");
    assert!(spec.calls[0].imported);
}

#[test]
fn calls_alone_are_enough_and_bad_ones_say_why() {
    let (topology, mesh, _) = pipeline("");
    // Two services the graph does not join: the call is what the lab runs.
    let apart = ["email-worker".to_string(), "payment-service".to_string()];
    let spec = spec_from_mesh(
        &topology,
        &mesh,
        &apart,
        &[call("email-worker:payment-service")],
        "cluster.local",
    )
    .expect("spec");
    assert!(spec.edges.is_empty());
    assert_eq!(spec.calls.len(), 1);
    assert_eq!(spec.validate(), Ok(()));
    assert!(matches!(Call::parse("api"), Err(FromMeshError::BadCall(_))));
    assert!(matches!(
        Call::parse("api:"),
        Err(FromMeshError::BadCall(_))
    ));
    let not_chosen = spec_from_mesh(
        &topology,
        &mesh,
        &path(),
        &[call("order-service:email-worker")],
        "cluster.local",
    );
    assert!(
        matches!(&not_chosen, Err(FromMeshError::BadCall(why)) if why.contains("add it to --services")),
        "{not_chosen:?}"
    );
    let itself = spec_from_mesh(
        &topology,
        &mesh,
        &path(),
        &[call("order-service:order-service.shop")],
        "cluster.local",
    );
    assert!(
        matches!(itself, Err(FromMeshError::BadCall(_))),
        "{itself:?}"
    );
    let unknown = spec_from_mesh(
        &topology,
        &mesh,
        &path(),
        &[call("order-service:nope")],
        "x",
    );
    assert_eq!(unknown, Err(FromMeshError::UnknownService("nope".into())));
}

#[test]
fn egress_hosts_match_as_istio_reads_them() {
    let fqdn = "ledger.finance.svc.cluster.local";
    let m = |entry| egress_matches(entry, "store", "finance", fqdn);
    assert!(m("finance/ledger.finance.svc.cluster.local"));
    assert!(m("*/ledger.finance.svc.cluster.local"));
    assert!(m("finance/*"));
    assert!(m("*/*.svc.cluster.local"));
    assert!(!m("store/*"));
    assert!(!m("./*"), "`.` is the Sidecar's own namespace");
    assert!(egress_matches("./*", "finance", "finance", fqdn));
    assert!(!m("~/*"));
    assert!(!m("istio-system/*"));
    assert!(!m("finance/other.finance.svc.cluster.local"));
    assert!(!m("ledger.finance.svc.cluster.local"), "no namespace part");
}
