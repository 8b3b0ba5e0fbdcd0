//! The incident replay on examples/shopfront shows, in numbers, what the generated policy
//! changes when the payment service slows down behind order-service and api-gateway. The old
//! settings are the ones the callers hard-code today (map's timeout audit), the new ones are the
//! generated resources. The verdict names the better run and why the old settings' answers do
//! not count.

mod common;

use common::{envoy_or_skip, generated, serial, spec_from};
use meshsmith_lab::from_mesh::old_settings;
use meshsmith_lab::incident::Better;

#[test]
fn the_generated_policy_bounds_blocking_where_the_old_settings_do_not() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("incident_replay") else {
        return;
    };
    let (topology, mesh, trust_domain) = generated("");
    let spec = spec_from(&topology, &mesh, &trust_domain);
    let old = old_settings(&topology, &spec);
    let report = meshsmith_lab::incident_blocking(&spec, "payment-service", &old, &envoy, &|_| {})
        .expect("replay runs");
    let (before, after) = (&report.old, &report.generated);
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    assert_eq!(
        report.chain,
        ["api-gateway", "order-service", "payment-service"]
    );
    assert!(
        report
            .old_sources
            .iter()
            .any(|s| s.starts_with("order-service -> payment-service: ")
                && s.contains("PAYMENT_TIMEOUT=30s")
                && s.contains("PAYMENT_RETRIES=3")),
        "{:?}",
        report.old_sources
    );
    assert_eq!((before.hops.len(), after.hops.len()), (2, 2));
    // Old settings: the 30 s per-try timeout never cuts the slow service, so every request waits
    // the whole hold and piles up at every hop.
    assert_eq!(before.succeeded, before.requests);
    assert!(before.blocked_p50_ms >= report.hold_ms, "{before:?}");
    for hop in &before.hops {
        assert!(hop.peak_queue >= u64::from(before.requests) / 2, "{hop:?}");
        assert_eq!((hop.overflowed, hop.ejections), (0, 0), "{hop:?}");
    }
    // Generated policy: the timeouts along the chain (from the VirtualServices) bound every
    // wait, and the pile-up stays within each hop's generated pool. On each hop the per-try
    // timeout cuts first where there is one, else the route timeout; no request is answered
    // before the first cut along the chain, and none waits past the front hop's route timeout.
    let cut = |callee: &str| {
        spec.service(callee)
            .map(|s| match s.traffic.retries.per_try_timeout_ms {
                0 => s.traffic.timeout_ms,
                per_try => per_try,
            })
            .expect("on the chain")
    };
    let first_cut = cut("order-service").min(cut("payment-service"));
    assert!(first_cut > 0 && first_cut < report.hold_ms);
    let front_timeout = spec
        .service("order-service")
        .map(|s| s.traffic.timeout_ms)
        .expect("order-service");
    assert!(after.blocked_max_ms < report.hold_ms, "{after:?}");
    assert!(after.blocked_max_ms + 50 >= first_cut, "{after:?}");
    assert!(after.blocked_max_ms <= front_timeout + 300, "{after:?}");
    for (hop, callee) in after.hops.iter().zip(["order-service", "payment-service"]) {
        let pool = spec
            .service(callee)
            .and_then(|s| s.traffic.connection_pool.clone())
            .expect("pool");
        let bound =
            u64::from(pool.max_connections.max(pool.max_requests) + pool.max_pending_requests);
        assert!(hop.peak_queue <= bound, "{hop:?} exceeds {bound}");
    }
    assert!(
        after.blocked_total_ms * 2 < before.blocked_total_ms,
        "{after:?} vs {before:?}"
    );
    // The verdict says so, and that the old settings' answers came only from the short hold:
    // their 30 s tries outlast it.
    let verdict = &report.verdict;
    assert_eq!(verdict.better, Better::GeneratedPolicy, "{verdict:?}");
    assert!(
        verdict.caller_time_ratio.is_some_and(|r| r > 2.0),
        "{verdict:?}"
    );
    assert!(verdict.old_successes_from_scaling, "{verdict:?}");
    assert_eq!(after.wait_bound_ms, Some(front_timeout), "{after:?}");
    assert!(
        before.wait_bound_ms.is_some_and(|b| b > report.hold_ms),
        "{before:?}"
    );
}
