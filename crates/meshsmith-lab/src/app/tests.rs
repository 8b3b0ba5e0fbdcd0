//! The test app's controls, exercised directly (no sidecar): identity echo, fail-first counted
//! per probe across replicas, instance-wide failure, and gRPC framing with trailers.

use super::*;
use crate::client::{loopback, send, AppRequest};

fn request(grpc: bool, headers: Vec<(&'static str, String)>) -> AppRequest {
    AppRequest {
        host: "payment-service".into(),
        grpc,
        headers,
    }
}

#[tokio::test]
async fn fail_first_counts_attempts_per_probe_across_replicas() {
    let probes = Arc::new(ProbeBook::default());
    let a = start("payment-service", 0, probes.clone())
        .await
        .expect("app a");
    let b = start("payment-service", 1, probes).await.expect("app b");
    let h = || {
        vec![
            ("x-lab-probe", "p1".to_string()),
            ("x-lab-fail-first", "2".to_string()),
        ]
    };
    let first = send(loopback(a.port), &request(false, h()))
        .await
        .expect("first");
    let second = send(loopback(b.port), &request(false, h()))
        .await
        .expect("second");
    let third = send(loopback(a.port), &request(false, h()))
        .await
        .expect("third");
    assert_eq!((first.status, second.status, third.status), (503, 503, 200));
    assert_eq!(a.control.probe_count("p1"), 3);
    assert_eq!((a.control.requests(), b.control.requests()), (2, 1));
    assert_eq!(
        third.app_field("service").as_deref(),
        Some("payment-service")
    );
}

#[tokio::test]
async fn grpc_answers_carry_a_framed_message_and_grpc_status_trailers() {
    let app = start("payment-service", 0, Arc::default())
        .await
        .expect("app");
    let ok = send(loopback(app.port), &request(true, vec![]))
        .await
        .expect("ok");
    assert_eq!((ok.status, ok.grpc_status), (200, Some(0)));
    assert_eq!(ok.body[0], 0, "uncompressed frame");
    assert_eq!(ok.app_field("instance"), None,);
    assert_eq!(ok.app_field("service").as_deref(), Some("payment-service"));
    app.control.set(Behaviour {
        delay_ms: 0,
        fail: true,
    });
    let failing = send(loopback(app.port), &request(true, vec![]))
        .await
        .expect("failing");
    assert_eq!((failing.status, failing.grpc_status), (200, Some(14)));
    assert!(!failing.ok());
}

#[tokio::test]
async fn the_peer_is_read_from_the_sidecar_header_only() {
    let app = start("order-service", 0, Arc::default())
        .await
        .expect("app");
    let xfcc = "Hash=abc;URI=spiffe://cluster.local/ns/edge/sa/api-gateway".to_string();
    let with = send(
        loopback(app.port),
        &request(false, vec![("x-forwarded-client-cert", xfcc)]),
    )
    .await
    .expect("with");
    assert_eq!(
        with.app_field("peer").as_deref(),
        Some("spiffe://cluster.local/ns/edge/sa/api-gateway")
    );
    let without = send(loopback(app.port), &request(false, vec![]))
        .await
        .expect("without");
    assert_eq!(without.app_field("peer").as_deref(), Some(""));
}

#[tokio::test]
async fn a_call_without_a_sidecar_fails_instead_of_pretending() {
    let app = start("order-service", 0, Arc::default())
        .await
        .expect("app");
    let r = send(
        loopback(app.port),
        &request(false, vec![("x-lab-call", "payment-service".to_string())]),
    )
    .await
    .expect("reply");
    assert_eq!(r.status, 503);
}
