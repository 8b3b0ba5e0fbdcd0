//! Traffic and the policy file's confirmed callers as evidence: names matched to the
//! inventory, observed edges, unseen calls, and how they settle who calls a service.

use super::*;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};
use std::sync::Arc;

/// A bookinfo-like application: `productpage` (exposed by a LoadBalancer) calls `reviews` in
/// code; `reviews` reads `ratings` from a ConfigMap shared by three workloads (low confidence);
/// `details` is called by nobody the manifests show. `reviews-v1` and `reviews-v2` share the
/// `reviews` Service and its account; `batch` runs as `default`, as does `details`.
const APP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: endpoints, namespace: shop}
data: {RATINGS_URL: "http://ratings:9080"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: productpage-v1, namespace: shop}
spec:
  template:
    metadata: {labels: {app: productpage}}
    spec:
      serviceAccountName: productpage
      containers: [{name: app, image: shop/productpage:1, envFrom: [{configMapRef: {name: endpoints}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: shop}
spec: {type: LoadBalancer, selector: {app: productpage}, ports: [{name: http, port: 9080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: shop}
spec:
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      serviceAccountName: reviews
      containers: [{name: app, image: shop/reviews:1, envFrom: [{configMapRef: {name: endpoints}}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: shop}
spec:
  template:
    metadata: {labels: {app: reviews, version: v2}}
    spec:
      serviceAccountName: reviews
      containers: [{name: app, image: shop/reviews:2, envFrom: [{configMapRef: {name: endpoints}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ratings-v1, namespace: shop}
spec:
  template:
    metadata: {labels: {app: ratings}}
    spec:
      serviceAccountName: ratings
      containers: [{name: app, image: shop/ratings:1}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: shop}
spec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: details-v1, namespace: shop}
spec:
  template:
    metadata: {labels: {app: details}}
    spec:
      containers: [{name: app, image: shop/details:1}]
---
apiVersion: v1
kind: Service
metadata: {name: details, namespace: shop}
spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: batch, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: batch}}
        spec:
          containers: [{name: app, image: shop/batch:1}]
"#;

fn inv() -> Inventory {
    let loaded = load_text("app.yaml", APP, &Limits::default()).expect("fixture parses");
    inventory(&loaded.objects, "default")
}

fn origin(line: u32) -> Origin {
    Origin::new(&Arc::from("traffic.log"), line)
}

fn call(
    source: ObservedPeer,
    destination: ObservedTarget,
    requests: u64,
    line: u32,
) -> Observation {
    Observation {
        source,
        destination,
        port: Some(9080),
        protocol: Some(Protocol::Http),
        reporter: Reporter::Source,
        counts: CallCounts {
            requests,
            ok: requests,
            mtls: requests,
            ..CallCounts::default()
        },
        origin: origin(line),
        format: TrafficFormat::AccessLogText,
        detail: format!("line {line}"),
    }
}

fn pod(name: &str) -> ObservedPeer {
    ObservedPeer::Pod {
        namespace: None,
        name: name.to_string(),
    }
}

fn service(name: &str) -> ObservedTarget {
    ObservedTarget::Service {
        namespace: Some("shop".to_string()),
        name: name.to_string(),
    }
}

fn with(observations: Vec<Observation>) -> Topology {
    let traffic = Traffic {
        observations,
        sources: Vec::new(),
    };
    infer_with(
        &inv(),
        &Extra {
            traffic: Some(&traffic),
            declared: &[],
        },
    )
}

fn edge<'a>(t: &'a Topology, from: &str, to: &str) -> Option<&'a Edge> {
    t.edges
        .iter()
        .find(|e| e.from.name == from && e.to.name == to)
}

fn level(t: &Topology, name: &str) -> Completeness {
    t.find(name).expect("service").callers.level
}

#[test]
fn without_traffic_nobody_s_callers_are_guessed() {
    let t = infer(&inv());
    assert!(t.traffic.is_none());
    // Exposed, called by nobody: only outside traffic reaches it.
    assert_eq!(level(&t, "productpage"), Completeness::Known);
    assert_eq!(level(&t, "details"), Completeness::Unknown);
    assert_eq!(level(&t, "reviews"), Completeness::Unknown);
    // Its only callers come from a ConfigMap three workloads share.
    let ratings = t.find("ratings").expect("ratings");
    assert_eq!(ratings.callers.level, Completeness::Partial);
    assert!(ratings.callers.reasons.iter().all(|r| r.code == "MS210"));
    // A workload no Service selects cannot be called by name.
    assert_eq!(level(&t, "batch"), Completeness::Known);
}

#[test]
fn a_pod_in_a_log_is_its_workload_and_its_call_an_observed_edge() {
    let t = with(vec![
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("reviews"),
            40,
            3,
        ),
        // The same call, reported by a pod of a later ReplicaSet: one edge, counts summed.
        call(
            pod("productpage-v1-7f8d9c6b5a-k2x9q"),
            service("reviews"),
            2,
            9,
        ),
    ]);
    let e = edge(&t, "productpage", "reviews").expect("observed edge");
    assert_eq!(e.confidence, Confidence::Observed);
    assert_eq!(e.observed.map(|c| c.requests), Some(42));
    assert_eq!(e.port, Some(9080));
    let ev = &e.evidence[0];
    assert_eq!(ev.kind, HintKind::Traffic);
    assert_eq!(ev.origin, origin(3));
    assert!(
        ev.detail.starts_with("observed 42 requests (42 ok; mTLS)"),
        "{}",
        ev.detail
    );
    let report = t.traffic.as_ref().expect("report");
    assert!(report.unmatched.is_empty(), "{:?}", report.unmatched);
    assert_eq!(report.called.len(), 1);
}

#[test]
fn both_sides_reporting_one_call_count_it_once() {
    let mut inbound = call(
        ObservedPeer::Principal("spiffe://cluster.local/ns/shop/sa/productpage".into()),
        ObservedTarget::Pod {
            namespace: Some("shop".into()),
            name: "reviews-v2-5b64f47978-x7k2p".into(),
        },
        40,
        5,
    );
    inbound.reporter = Reporter::Destination;
    let t = with(vec![
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("reviews"),
            40,
            3,
        ),
        inbound,
    ]);
    let e = edge(&t, "productpage", "reviews").expect("edge");
    assert_eq!(e.observed.map(|c| c.requests), Some(40));
}

#[test]
fn names_that_match_nothing_or_several_are_reported_never_invented() {
    let t = with(vec![
        call(
            pod("legacy-batch-5d9f7c6b4-abcde"),
            service("reviews"),
            3,
            1,
        ),
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("inventory"),
            3,
            2,
        ),
        // `default` runs both details-v1 and the batch job: which one called is unknowable.
        call(
            ObservedPeer::Principal("cluster.local/ns/shop/sa/default".into()),
            service("ratings"),
            3,
            4,
        ),
    ]);
    let report = t.traffic.as_ref().expect("report");
    let names: Vec<(&str, &str)> = report
        .unmatched
        .iter()
        .map(|u| (u.side, u.name.as_str()))
        .collect();
    assert!(
        names.contains(&("source", "legacy-batch-5d9f7c6b4-abcde")),
        "{names:?}"
    );
    assert!(
        names.contains(&("destination", "inventory.shop")),
        "{names:?}"
    );
    let shared = report
        .unmatched
        .iter()
        .find(|u| u.name.ends_with("sa/default"))
        .expect("shared identity reported");
    assert!(
        shared.why.contains("shared by 2 services"),
        "{}",
        shared.why
    );
    assert_eq!(t.services.len(), 5, "no node was invented");
    assert!(edge(&t, "details", "ratings").is_none());
}

#[test]
fn callers_from_outside_the_mesh_are_reported_per_service() {
    let t = with(vec![
        call(ObservedPeer::Unknown, service("productpage"), 25, 1),
        call(ObservedPeer::Unknown, service("productpage"), 5, 2),
    ]);
    let report = t.traffic.as_ref().expect("report");
    assert_eq!(report.outside.len(), 1);
    assert_eq!(report.outside[0].service.name, "productpage");
    assert_eq!(report.outside[0].requests, 30);
    assert!(t.edges.iter().all(|e| e.to.name != "productpage"));
}

#[test]
fn a_low_confidence_call_the_traffic_never_shows_is_left_out() {
    // ratings is covered (called by someone else); reviews -> ratings never shows.
    let t = with(vec![call(
        pod("productpage-v1-6b746f74dc-9stp2"),
        service("ratings"),
        7,
        1,
    )]);
    assert!(edge(&t, "reviews", "ratings").is_none());
    assert!(edge(&t, "productpage", "ratings").is_some());
    let report = t.traffic.as_ref().expect("report");
    let unseen = report
        .unseen
        .iter()
        .find(|u| u.from.name == "reviews" && u.to.name == "ratings")
        .expect("reported");
    assert!(unseen.dropped);
    assert_eq!(level(&t, "ratings"), Completeness::Known);
}

#[test]
fn traffic_settles_who_calls_a_service() {
    let t = with(vec![
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("reviews"),
            10,
            1,
        ),
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("details"),
            10,
            2,
        ),
        call(
            pod("reviews-v2-5b64f47978-x7k2p"),
            service("ratings"),
            10,
            3,
        ),
    ]);
    for name in ["reviews", "details", "ratings", "productpage"] {
        let s = t.find(name).expect("service");
        assert_eq!(
            s.callers.level,
            Completeness::Known,
            "{name}: {:?}",
            s.callers
        );
    }
    assert_eq!(
        t.find("reviews").expect("reviews").callers.basis,
        "every caller was observed in traffic"
    );
}

#[test]
fn a_dry_run_denial_from_an_unidentified_caller_keeps_callers_partial() {
    let mut denied = call(
        ObservedPeer::MeshUnidentified,
        ObservedTarget::Pod {
            namespace: None,
            name: "details-v1-6d8b7c9f5-q2w3e".into(),
        },
        0,
        8,
    );
    denied.counts.shadow_denied = 4;
    let t = with(vec![
        call(
            pod("productpage-v1-6b746f74dc-9stp2"),
            service("details"),
            10,
            1,
        ),
        denied,
    ]);
    let details = t.find("details").expect("details");
    assert_eq!(details.callers.level, Completeness::Partial);
    assert_eq!(details.callers.reasons[0].code, "MS211");
    let report = t.traffic.as_ref().expect("report");
    assert_eq!(report.shadow_denied.len(), 1);
    assert_eq!(report.shadow_denied[0].requests, 4);
}

#[test]
fn a_denied_call_from_an_identified_caller_becomes_an_edge() {
    let mut denied = call(
        ObservedPeer::Principal("spiffe://cluster.local/ns/shop/sa/productpage".into()),
        ObservedTarget::Pod {
            namespace: None,
            name: "details-v1-6d8b7c9f5-q2w3e".into(),
        },
        0,
        8,
    );
    denied.counts.shadow_denied = 4;
    let t = with(vec![denied]);
    let e = edge(&t, "productpage", "details").expect("learned from the denial");
    assert_eq!(e.confidence, Confidence::Observed);
    assert_eq!(level(&t, "details"), Completeness::Known);
}

#[test]
fn the_policy_file_confirms_callers() {
    let declared = [DeclaredCallers {
        service: "details".into(),
        callers: vec!["productpage".into(), "nobody".into()],
        reason: "read in productpage's code".into(),
        origin: Origin::new(&Arc::from("meshsmith.yaml"), 4),
    }];
    let t = infer_with(
        &inv(),
        &Extra {
            traffic: None,
            declared: &declared,
        },
    );
    let details = t.find("details").expect("details");
    assert_eq!(details.callers.level, Completeness::Known);
    assert!(details.callers.basis.contains("meshsmith.yaml:4"));
    let e = edge(&t, "productpage", "details").expect("declared edge");
    assert_eq!(e.evidence[0].kind, HintKind::PolicyFile);
    assert!(t
        .notes
        .iter()
        .any(|n| n.message.contains("caller `nobody`")));
}
