//! The incident replay shows, in numbers, what the generated policy changes when the payment
//! service slows down behind order-service and api-gateway.

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
        report.chain,
        ["api-gateway", "order-service", "payment-service"]
    );
    assert_eq!((old.hops.len(), new.hops.len()), (2, 2));
    // Old settings: nothing cuts the slow service, so every request waits the whole hold and
    // piles up at every hop of the chain.
    assert_eq!(old.succeeded, old.requests);
    assert!(old.blocked_p50_ms >= SLOW_HOLD_MS, "{old:?}");
    for hop in &old.hops {
        assert!(hop.peak_queue >= u64::from(old.requests) / 2, "{hop:?}");
        assert_eq!((hop.overflowed, hop.ejections), (0, 0), "{hop:?}");
    }
    // Generated policy: timeouts bound the wait, pools bound the pile-up at each hop, and the
    // rest fails fast instead of queueing.
    assert!(new.blocked_max_ms < SLOW_HOLD_MS, "{new:?}");
    assert!(new.failed_fast > 0, "{new:?}");
    for (hop, callee) in new.hops.iter().zip(["order-service", "payment-service"]) {
        let pool = spec
            .service(callee)
            .and_then(|s| s.traffic.connection_pool.clone())
            .expect("pool");
        let bound =
            u64::from(pool.max_connections.max(pool.max_requests) + pool.max_pending_requests);
        assert!(hop.peak_queue <= bound, "{hop:?} exceeds {bound}");
    }
    assert!(
        new.blocked_total_ms * 2 < old.blocked_total_ms,
        "{new:?} vs {old:?}"
    );
}
