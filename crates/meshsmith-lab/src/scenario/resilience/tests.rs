//! The expectations of the timeout and retry checks, derived from the policy as Envoy applies it.

use super::*;
use crate::spec::{MtlsMode, TrafficPolicy};

fn service(
    timeout_ms: u64,
    attempts: u32,
    per_try_timeout_ms: u64,
    retry_on: &[&str],
) -> ServiceSpec {
    ServiceSpec {
        name: "s".into(),
        namespace: "n".into(),
        service_account: "s".into(),
        workload: None,
        port: 8080,
        target_port: None,
        protocol: Protocol::Http,
        mtls: MtlsMode::Strict,
        external_plaintext: false,
        allowed_principals: vec![],
        allow_unauthenticated: false,
        dry_run: false,
        instances: 1,
        traffic: TrafficPolicy {
            timeout_ms,
            retries: RetryPolicy {
                attempts,
                per_try_timeout_ms,
                retry_on: retry_on.iter().map(|s| s.to_string()).collect(),
                retriable_status_codes: vec![],
            },
            outlier_detection: None,
            connection_pool: None,
        },
    }
}

#[test]
fn timeout_expectation_follows_per_try_and_retry_on() {
    let e = expect_timeout(&service(3000, 2, 1000, &["5xx"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (3000, 3));
    let e = expect_timeout(&service(3000, 1, 0, &["connect-failure"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (3000, 1));
    let e = expect_timeout(&service(5000, 2, 1000, &["5xx"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (3000, 3));
    let e = expect_timeout(&service(5000, 2, 1000, &["connect-failure"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (1000, 1));
    assert!(expect_timeout(&service(0, 2, 1000, &["5xx"])).is_none());
}

#[test]
fn a_per_try_timeout_is_retried_only_under_conditions_that_cover_it() {
    // The generated gRPC leaf: 2 retries, but none of its conditions covers a per-try timeout.
    let mut grpc = service(
        3000,
        2,
        1000,
        &[
            "connect-failure",
            "refused-stream",
            "unavailable",
            "cancelled",
        ],
    );
    grpc.protocol = Protocol::Grpc;
    let e = expect_timeout(&grpc).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (1000, 1));
    assert!(e.why.contains("does not cover it"), "{}", e.why);
    assert!(e.why.contains("1 of 1 + 2 allowed"), "{}", e.why);
    let e = expect_timeout(&service(3000, 2, 1000, &["reset-before-request"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (1000, 1));
    let e = expect_timeout(&service(5000, 2, 1000, &["gateway-error"])).expect("finite");
    assert_eq!((e.cut_ms, e.attempts), (3000, 3));
    assert!(e.why.contains("1 + 2 tries"), "{}", e.why);
}

#[test]
fn transient_failures_are_retried_only_when_retry_on_covers_them() {
    assert!(retries_transient(&service(3000, 2, 0, &["5xx"])));
    assert!(!retries_transient(&service(3000, 0, 0, &["5xx"])));
    assert!(!retries_transient(&service(
        3000,
        1,
        0,
        &["connect-failure", "refused-stream"]
    )));
    let mut grpc = service(3000, 2, 0, &["unavailable"]);
    grpc.protocol = Protocol::Grpc;
    assert!(retries_transient(&grpc));
    // A 503 listed as a retriable status code is covered; another code is not.
    let mut codes = service(3000, 1, 0, &["retriable-status-codes"]);
    codes.traffic.retries.retriable_status_codes = vec![503];
    assert!(retries_transient(&codes));
    codes.traffic.retries.retriable_status_codes = vec![502];
    assert!(!retries_transient(&codes));
    // gRPC: only `unavailable` covers UNAVAILABLE; `5xx` reads HTTP statuses, and the reply is 200.
    let mut five = service(3000, 2, 0, &["5xx"]);
    five.protocol = Protocol::Grpc;
    assert!(!retries_transient(&five));
}

#[test]
fn the_expected_column_says_why() {
    let mut grpc = service(3000, 2, 1000, &["unavailable", "cancelled"]);
    grpc.protocol = Protocol::Grpc;
    let text = retry_expected(&grpc);
    assert!(
        text.contains("success after 3 attempts; retry +2, retry success +1"),
        "{text}"
    );
    assert!(text.contains("UNAVAILABLE"), "{text}");
    let text = retry_expected(&service(
        10_000,
        1,
        5000,
        &["connect-failure", "refused-stream"],
    ));
    assert!(
        text.starts_with("not retried: 503 is outside retryOn connect-failure,refused-stream"),
        "{text}"
    );
    assert!(text.contains("since 1.27"), "{text}");
    let text = retry_expected(&service(5000, 0, 0, &[]));
    assert!(text.contains("attempts 0"), "{text}");
}
