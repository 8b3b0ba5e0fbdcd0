//! The incident replay shows, in numbers, what the generated policy changes when the payment
//! service slows down.

mod common;

use common::{envoy_or_skip, fixture, serial};
use meshsmith_lab::incident::SLOW_HOLD_MS;

#[test]
fn the_generated_policy_bounds_blocking_and_pile_up_where_old_settings_do_not() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("incident_replay") else {
        return;
    };
    let spec = fixture();
    let report = meshsmith_lab::incident_blocking(&spec, "payment-service", &envoy, &|_| {})
        .expect("replay runs");
    let (old, new) = (&report.old, &report.generated);
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    assert_eq!(
        (report.service.as_str(), report.caller.as_str()),
        ("payment-service", "order-service")
    );
    // Old settings: nothing cuts the slow callee, so every request waits the whole hold and
    // every request sent during the slowdown piles up at the caller.
    assert_eq!(old.succeeded, old.requests);
    assert!(old.blocked_p50_ms >= SLOW_HOLD_MS, "{old:?}");
    assert!(
        old.peak_sidecar_queue >= u64::from(old.requests) / 2,
        "{old:?}"
    );
    // Generated policy: the route timeout bounds the wait and the pool bounds the pile-up.
    let payment = spec.service("payment-service").expect("payment");
    let pool = payment.traffic.connection_pool.as_ref().expect("pool");
    assert!(new.blocked_max_ms < SLOW_HOLD_MS, "{new:?}");
    assert!(
        new.peak_sidecar_queue <= u64::from(pool.max_requests + pool.max_pending_requests),
        "{new:?}"
    );
    assert!(new.failed_fast > 0, "{new:?}");
    assert!(
        new.blocked_total_ms * 2 < old.blocked_total_ms,
        "{new:?} vs {old:?}"
    );
}
