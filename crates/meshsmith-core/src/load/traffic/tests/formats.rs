//! Each format read from its fixture.

use super::*;

#[test]
fn prometheus_instant_vector() {
    let t = read_fixture("prometheus-instant.json");
    let calls = find(
        &t,
        &workload("default", "productpage-v1"),
        &service("default", "reviews"),
    );
    assert_eq!(calls.len(), 1, "{:#?}", t.observations);
    let c = calls[0];
    assert_eq!(
        (c.counts.requests, c.counts.ok, c.counts.server_errors),
        (1217, 1205, 12)
    );
    assert_eq!(c.counts.mtls, 1217);
    assert_eq!(c.reporter, Reporter::Destination);
    assert_eq!(c.protocol, Some(Protocol::Http));
    assert_eq!(c.format, TrafficFormat::PrometheusJson);
    assert_eq!(c.origin.line, 2);
    assert!(
        c.detail.contains("source_workload=\"productpage-v1\""),
        "{}",
        c.detail
    );
    let outside = find(&t, &Peer::Unknown, &service("default", "productpage"));
    assert_eq!(outside[0].counts.plaintext, 88);
    let tcp = find(
        &t,
        &workload("default", "ratings-v2"),
        &service("default", "mongodb"),
    );
    assert_eq!(tcp[0].protocol, Some(Protocol::Tcp));
    // A zero-valued series is no call.
    assert!(find(
        &t,
        &workload("default", "details-v1"),
        &service("default", "ratings")
    )
    .is_empty());
    assert_eq!(t.sources[0].lines, 5);
    assert_eq!(t.sources[0].calls, 4);
}

#[test]
fn prometheus_range_vector_counts_increase() {
    let t = read_fixture("prometheus-range.json");
    let v3 = find(
        &t,
        &workload("default", "reviews-v3"),
        &service("default", "ratings"),
    );
    // 100 -> 160 (+60), reset to 20 (+20), -> 50 (+30).
    assert_eq!(v3[0].counts.requests, 110);
    assert_eq!(v3[0].origin.line, 6);
    // A counter that did not move over the window is no call.
    assert!(find(
        &t,
        &workload("default", "reviews-v1"),
        &service("default", "ratings")
    )
    .is_empty());
    let mongo = find(
        &t,
        &Peer::Principal("cluster.local/ns/default/sa/bookinfo-ratings".into()),
        &Target::Workload {
            namespace: "default".into(),
            name: "mongodb-v1".into(),
        },
    );
    assert_eq!(mongo[0].counts.requests, 3);
    assert_eq!(mongo[0].protocol, Some(Protocol::Tcp));
}

#[test]
fn prometheus_exposition_text_and_dry_run_metric() {
    let t = read_fixture("prometheus-text.txt");
    let details = find(
        &t,
        &workload("default", "productpage-v1"),
        &service("default", "details"),
    );
    assert_eq!(details[0].counts.requests, 422);
    assert_eq!(details[0].counts.denied, 2);
    assert_eq!(details[0].counts.client_errors, 2);
    let external = find(
        &t,
        &workload("default", "productpage-v1"),
        &Target::Host("www.googleapis.com".into()),
    );
    assert_eq!(external.len(), 1);
    let shadow = find(
        &t,
        &Peer::Unknown,
        &Target::Pod {
            namespace: Some("default".into()),
            name: "ratings-v1-85c74b6cb4-xk2mp".into(),
        },
    );
    assert_eq!(shadow.len(), 1, "{:#?}", t.observations);
    assert_eq!(shadow[0].counts.shadow_denied, 3);
    assert_eq!(shadow[0].port, Some(9080));
    assert!(shadow[0].detail.contains("does not name the caller"));
    assert_eq!(t.sources[0].format, TrafficFormat::PrometheusText);
}

#[test]
fn raw_shadow_denied_stat_takes_the_pod_from_the_file_name() {
    let text = b"envoy_http_inbound_0_0_0_0_8080_rbac_istio_dry_run_allow_shadow_denied 4\nenvoy_http_inbound_0_0_0_0_8080_rbac_istio_dry_run_allow_shadow_allowed 9\n";
    let t = read_bytes(
        "stats/payment-6d9f8b7c5d-abcde.prom",
        text,
        &Limits::default(),
    )
    .expect("reads");
    assert_eq!(t.observations.len(), 1);
    let o = &t.observations[0];
    assert_eq!(
        o.destination,
        Target::Pod {
            namespace: None,
            name: "payment-6d9f8b7c5d-abcde".into()
        }
    );
    assert_eq!((o.counts.shadow_denied, o.port), (4, Some(8080)));
    let errors = bytes_fail("<stdin>", &text[..]);
    assert!(
        errors[0].contains("a metric without the needed labels"),
        "{errors:?}"
    );
}

#[test]
fn per_pod_text_logs() {
    let t = read_fixture("per-pod-text");
    let pp = pod("productpage-v1-6b746f74dc-9stp2");
    let reviews = find(&t, &pp, &service("default", "reviews"));
    assert_eq!(reviews.len(), 1);
    let r = reviews[0];
    assert_eq!(
        (r.counts.requests, r.counts.ok, r.counts.server_errors),
        (2, 1, 1)
    );
    assert_eq!(
        (r.port, r.reporter, r.protocol),
        (Some(9080), Reporter::Source, Some(Protocol::Http))
    );
    assert!(!r.detail.contains("token"), "{}", r.detail);
    assert_eq!(
        find(&t, &pp, &Target::Host("www.googleapis.com".into()))[0].port,
        Some(443)
    );
    // Inbound: an outside caller (no SNI) and a mesh caller the text format does not name.
    let self_pod = |name: &str, ns: Option<&str>| Target::Pod {
        namespace: ns.map(str::to_string),
        name: name.into(),
    };
    let outside = find(
        &t,
        &Peer::Unknown,
        &self_pod("productpage-v1-6b746f74dc-9stp2", None),
    );
    assert_eq!(outside[0].counts.plaintext, 1);
    let meshed = find(
        &t,
        &Peer::MeshUnidentified,
        &self_pod("reviews-v2-7d7f8c9b5d-x4k2p", Some("default")),
    );
    assert_eq!(
        (meshed[0].counts.mtls, meshed[0].reporter),
        (1, Reporter::Destination)
    );
    let probe = find(
        &t,
        &Peer::Unknown,
        &self_pod("reviews-v2-7d7f8c9b5d-x4k2p", None),
    );
    assert_eq!(probe.len(), 1);
    let sources: Vec<_> = t.sources.iter().map(|s| (s.format, s.lines)).collect();
    assert_eq!(
        sources,
        vec![
            (TrafficFormat::AccessLogText, 8),
            (TrafficFormat::AccessLogText, 3)
        ]
    );
}

#[test]
fn kubectl_prefix_stream() {
    let t = read_fixture("kubectl-prefix.log");
    assert_eq!(
        find(
            &t,
            &pod("productpage-v1-6b746f74dc-9stp2"),
            &service("default", "details")
        )
        .len(),
        1
    );
    assert_eq!(
        find(
            &t,
            &pod("reviews-v3-8f9c7d6b5a-q7w8e"),
            &service("default", "ratings")
        )
        .len(),
        1
    );
    let tcp = find(
        &t,
        &pod("ratings-v2-mysql-6c8d9f7b4-zz9yy"),
        &service("default", "mysqldb"),
    );
    assert_eq!(tcp[0].protocol, Some(Protocol::Tcp));
    assert_eq!(tcp[0].origin.line, 5);
}

#[test]
fn per_pod_json_logs_with_peer_and_dry_run() {
    let t = read_fixture("per-pod-json");
    let me = Target::Pod {
        namespace: Some("default".into()),
        name: "ratings-v1-85c74b6cb4-xk2mp".into(),
    };
    let reviews = find(
        &t,
        &Peer::Principal("cluster.local/ns/default/sa/bookinfo-reviews".into()),
        &me,
    );
    assert_eq!(reviews[0].counts.shadow_denied, 1);
    assert!(reviews[0]
        .detail
        .contains("ns[default]-policy[ratings]-rule[0]"));
    let sleep = find(
        &t,
        &Peer::Principal("cluster.local/ns/default/sa/sleep".into()),
        &me,
    );
    assert_eq!(
        (sleep[0].counts.denied, sleep[0].counts.client_errors),
        (1, 1)
    );
    let mongo = find(
        &t,
        &pod("ratings-v1-85c74b6cb4-xk2mp"),
        &service("default", "mongodb"),
    );
    assert_eq!(
        (mongo[0].protocol, mongo[0].port),
        (Some(Protocol::Tcp), Some(27017))
    );
    assert_eq!(t.sources[0].format, TrafficFormat::AccessLogJson);
}

#[test]
fn rbac_debug_lines_give_shadow_denials() {
    let t = read_fixture("rbac-dry-run-debug.log");
    assert_eq!(t.observations.len(), 1, "{:#?}", t.observations);
    let o = &t.observations[0];
    assert_eq!(
        o.source,
        Peer::Principal("cluster.local/ns/foo/sa/sleep".into())
    );
    assert_eq!(
        o.destination,
        Target::Pod {
            namespace: Some("foo".into()),
            name: "httpbin-74fb669cc6-95qm8".into()
        }
    );
    assert_eq!(
        (o.counts.shadow_denied, o.port, o.origin.line),
        (1, Some(80), 5)
    );
    assert!(o.detail.contains("deny-path-headers"));
}

#[test]
fn kiali_graph() {
    let t = read_fixture("kiali-graph.json");
    let pp = workload("default", "productpage-v1");
    let reviews = find(&t, &pp, &service("default", "reviews"));
    assert_eq!(reviews[0].counts.requests, 600);
    assert_eq!(
        (reviews[0].counts.server_errors, reviews[0].counts.mtls),
        (60, 600)
    );
    assert_eq!(reviews[0].format, TrafficFormat::KialiGraph);
    assert!(
        find(
            &t,
            &Peer::Unknown,
            &Target::Workload {
                namespace: "default".into(),
                name: "productpage-v1".into()
            }
        )
        .len()
            == 1
    );
    // The idle edge and the service-to-workload hop are no calls.
    assert!(find(
        &t,
        &pp,
        &Target::Workload {
            namespace: "default".into(),
            name: "details-v1".into()
        }
    )
    .is_empty());
    assert_eq!(t.observations.len(), 3, "{:#?}", t.observations);
    assert_eq!(
        find(&t, &pp, &Target::Host("www.googleapis.com".into()))[0]
            .counts
            .requests,
        1
    );
}
