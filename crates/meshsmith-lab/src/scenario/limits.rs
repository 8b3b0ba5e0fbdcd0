//! Circuit breaking: connection-pool overflow and outlier ejection.
//!
//! Pool overflow runs at the spec's own thresholds, not scaled-down ones: the load is derived
//! from them (for HTTP/1.1, `maxConnections` requests first open the pool's connections, then a
//! burst of connections + pending + a few more; for HTTP/2, requests + a few more), every
//! request stays on 127.0.0.1 and is held just long enough for the whole burst to be in flight.
//! It is judged by the caller cluster's `upstream_cx_overflow`, `upstream_rq_pending_overflow`
//! and `upstream_rq_active_overflow`, the `x-envoy-overloaded` replies, and by the pool having
//! admitted its full configured capacity before refusing anything. On istiod, whose clusters
//! balance by least request, a callee with several instances is measured on a fleet of its own
//! with one instance: each host queues its own pending requests, so an uneven spread can leave
//! a connection idle on one host while another refuses. Ejection is judged by
//! `outlier_detection.ejections_enforced_total` and by how many requests the failing instance
//! served before it stopped getting any, from a success that cleared its consecutive errors.

use super::{cluster_stat, secs, Ctx};
use crate::app::Behaviour;
use crate::client::{self, Reply};
use crate::report::ScenarioResult;
use crate::spec::{ConnectionPool, Protocol, ServiceSpec};

/// Requests sent beyond the pool's capacity in one burst.
const EXTRA: u32 = 6;
/// An overflowed request must be answered within this; held ones take `hold` ms.
const FAST_MS: u64 = 250;
/// The shortest hold, and the extra hold per request in the burst: launching a burst of a few
/// hundred connections takes a few hundred milliseconds on a busy 2-core machine.
const MIN_HOLD_MS: u64 = 600;
const HOLD_PER_REQUEST_MS: u64 = 3;
/// The largest burst the lab sends; a pool larger than this cannot be shown to overflow here.
const MAX_BURST: u32 = 4_200;

pub(super) async fn pool_overflow(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx.fleet.spec.callees() {
        let Some(pool) = &callee.traffic.connection_pool else {
            continue;
        };
        let Some(caller) = ctx.first_caller(callee) else {
            continue;
        };
        let subject = format!("{} -> {}", caller.name, callee.name);
        ctx.start(&subject);
        let load = load(callee, pool);
        let (capacity, burst) = (load.capacity, load.burst);
        let expected = format!(
            "of {burst}, the first {capacity} admitted ({} connections / {} pending / {} requests), the rest 503 within {FAST_MS} ms",
            pool.max_connections, pool.max_pending_requests, pool.max_requests
        );
        if burst > MAX_BURST {
            out.push(ctx.broken(
                &subject,
                expected,
                format!(
                    "a pool admitting {capacity} requests needs a burst of {burst}, more than the lab's {MAX_BURST}"
                ),
            ));
            continue;
        }
        // Under least request (Istio's default, so on istiod) each host queues its own pending
        // requests and a burst is spread unevenly over hosts whose warm connections differ in
        // number, so a connection can sit idle on one host while another queues: the cluster
        // refuses a few below its limits. One instance of the callee, on a fleet of its own,
        // leaves the pool alone to decide; round robin (the lab's own translation) is exact
        // with every instance.
        let (measured, failure) = if ctx.fleet.istiod_options.is_some() && callee.instances > 1 {
            let mut one = callee.clone();
            one.instances = 1;
            match ctx.hop_fleet(caller, one.clone()).await {
                Ok(own) => {
                    let hop = Ctx {
                        fleet: &own,
                        kind: ctx.kind,
                        progress: ctx.progress,
                    };
                    let (measured, failure) = overflow(&hop, caller, &one, pool, load).await;
                    (format!("{measured} (one instance of the callee)"), failure)
                }
                Err(e) => (
                    "not measured".into(),
                    Some(format!("bringing up the hop with one instance: {e}")),
                ),
            }
        } else {
            overflow(ctx, caller, callee, pool, load).await
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

/// Open the pool's connections, send the burst and judge it by the caller's counters and the
/// replies: what was measured and, when the pool falls short, why.
async fn overflow(
    ctx: &Ctx<'_>,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
    pool: &ConnectionPool,
    Load {
        capacity,
        burst,
        hold,
    }: Load,
) -> (String, Option<String>) {
    // A cold pool queues requests while it connects, so it refuses early; open the pool's
    // connections first (HTTP/1.1: one per held request) so the burst meets the
    // steady-state limits.
    ctx.settle(caller, callee).await;
    if callee.protocol == Protocol::Http {
        let warm = pool.max_connections.min(pool.max_requests);
        burst_of(ctx, caller, callee, warm, hold).await;
    }
    let before = ctx.cluster_stats(caller, callee).await;
    let replies = burst_of(ctx, caller, callee, burst, hold).await;
    let after = ctx.cluster_stats(caller, callee).await;
    let (Ok(before), Ok(after)) = (before, after) else {
        return (
            "not measured".into(),
            Some("could not read the caller's admin counters".into()),
        );
    };
    let stat = |name| after.delta(&before, &cluster_stat(ctx.fleet, callee, name));
    // A refused request is counted as a pending (HTTP/1.1) or active (HTTP/2) overflow;
    // connection overflows only say a request had to wait for a connection.
    let counted = stat("upstream_rq_pending_overflow") + stat("upstream_rq_active_overflow");
    let cx_overflow = stat("upstream_cx_overflow");
    let retried = stat("upstream_rq_retry");
    let overloaded: Vec<&Reply> = replies
        .iter()
        .flatten()
        .filter(|r| r.headers.get("x-envoy-overloaded").is_some())
        .collect();
    let slowest = overloaded
        .iter()
        .map(|r| r.elapsed.as_millis() as u64)
        .max()
        .unwrap_or(0);
    let served = replies.iter().flatten().filter(|r| r.ok()).count();
    let measured = format!(
            "{} of {burst} overflowed (slowest {}), {served} served after {hold} ms hold; request overflow +{counted}, connection overflow +{cx_overflow}, retry +{retried}",
            overloaded.len(),
            secs(slowest)
        );
    let failure = if overloaded.is_empty() {
        Some(format!(
            "no request overflowed: {}'s connection pool does not limit a burst of {burst}",
            callee.name
        ))
    } else if slowest > FAST_MS {
        Some(format!(
            "overflow 503s took up to {}, not fast",
            secs(slowest)
        ))
    } else if (served as u64) < u64::from(capacity) {
        Some(format!(
                "only {served} of {burst} were admitted: {}'s pool refuses below its configured {capacity}",
                callee.name
            ))
    } else if retried > 0 {
        Some(format!(
            "{retried} requests of the burst failed and were retried: something behind the \
                 pool refused them, so the pool's own limit is not what was measured"
        ))
    } else if counted < overloaded.len() as u64 {
        Some(format!(
            "{} overloaded replies but request overflow counters moved by {counted}",
            overloaded.len()
        ))
    } else {
        None
    };
    (measured, failure)
}

/// The load a pool-overflow check sends, derived from the callee's own spec.
#[derive(Debug, PartialEq, Eq)]
struct Load {
    /// Requests the pool admits at once.
    capacity: u32,
    /// Requests sent at once: the capacity plus `EXTRA`.
    burst: u32,
    /// How long the callee holds each request.
    hold: u64,
}

fn load(callee: &ServiceSpec, pool: &ConnectionPool) -> Load {
    // HTTP/1.1 runs one request per connection and queues the rest as pending; HTTP/2
    // multiplexes, so only the request limit counts once connections are open.
    let capacity = match callee.protocol {
        Protocol::Http => pool
            .max_connections
            .min(pool.max_requests)
            .saturating_add(pool.max_pending_requests),
        Protocol::Grpc => pool.max_requests,
    };
    let burst = capacity.saturating_add(EXTRA);
    let t = &callee.traffic;
    // Held requests must stay within every timeout so only the pool limits them.
    let bound = [t.timeout_ms, t.retries.per_try_timeout_ms]
        .into_iter()
        .filter(|v| *v > 0)
        .min();
    let wanted = MIN_HOLD_MS.max(u64::from(burst) * HOLD_PER_REQUEST_MS);
    let hold = bound.map_or(wanted, |b| (b / 2).min(wanted));
    Load {
        capacity,
        burst,
        hold,
    }
}

/// Send `n` requests at once from `caller` to `callee`, each held `hold` ms by the callee.
async fn burst_of(
    ctx: &Ctx<'_>,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
    n: u32,
    hold: u64,
) -> Vec<Result<Reply, String>> {
    if callee.protocol == Protocol::Grpc {
        return match ctx.request(caller, callee, vec![("x-lab-delay-ms", hold.to_string())]) {
            Ok((port, req)) => client::send_grpc_burst(port, &req, n).await,
            Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
        };
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let request = ctx.request(caller, callee, vec![("x-lab-delay-ms", hold.to_string())]);
        tasks.spawn(async move {
            let (port, req) = request?;
            client::send(port, &req).await
        });
    }
    let mut replies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        replies.push(joined.map_err(|e| e.to_string()).and_then(|r| r));
    }
    replies
}

/// Calls at most, beyond the settling ones, for the instance about to fail to answer one
/// success first (under least request all 16 miss it once in 65,536 runs).
const RESET_CALLS: u32 = 16;

/// How often, and how far apart, the ejection counter is read after a failure.
const EJECTION_POLLS: u32 = 20;
const EJECTION_POLL_MS: u64 = 10;

pub(super) async fn outlier_ejection(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx.fleet.spec.callees() {
        let Some(outlier) = &callee.traffic.outlier_detection else {
            continue;
        };
        if callee.instances < 2 {
            continue;
        }
        let Some(caller) = ctx.first_caller(callee) else {
            continue;
        };
        let subject = format!("{} -> {}", caller.name, callee.name);
        ctx.start(&subject);
        let n = outlier.consecutive_5xx;
        let expected = format!("failing instance ejected after {n} consecutive 5xx; ejections +1");
        let apps = ctx.fleet.apps_of(&callee.name);
        let Some(bad) = apps.first() else { continue };
        // A 5xx an earlier scenario left on the instance (a timeout counts as one) would count
        // toward this one's consecutive errors until a success resets them: it answers at least
        // one request before it starts failing. Round robin reaches it within the settling
        // calls; least request picks at random, so a few more may be needed.
        let answered = bad.control.requests();
        ctx.settle(caller, callee).await;
        for _ in 0..RESET_CALLS {
            if bad.control.requests() > answered {
                break;
            }
            let _ = ctx.call(caller, callee, Vec::new()).await;
        }
        let before = ctx.cluster_stats(caller, callee).await;
        let served_before = bad.control.requests();
        bad.control.set(Behaviour {
            delay_ms: 0,
            fail: true,
        });
        // Enough requests for the failing instance to see `n` failures and then some, under
        // any load balancer (round robin alternates; Istio's default, least request, picks
        // between equally idle hosts at random): stop once it has served `n + 2`.
        let cap = 8 * n + 4 * callee.instances;
        let mut sent = 0;
        let enforced = cluster_stat(
            ctx.fleet,
            callee,
            "outlier_detection.ejections_enforced_total",
        );
        let mut ok = 0;
        // The failure count at which Envoy ejected the instance. Ejection is decided on
        // Envoy's main thread a moment after the worker saw the failure, so after each
        // failure served by the bad instance the counter is polled before the next request.
        let mut ejected_after: Option<u64> = None;
        // Once ejected, a few more requests show the instance gets no more traffic.
        let mut until = cap;
        while sent < until && bad.control.requests() - served_before < u64::from(n) + 2 {
            sent += 1;
            let served = bad.control.requests();
            if ctx
                .call(caller, callee, Vec::new())
                .await
                .is_ok_and(|r| r.ok())
            {
                ok += 1;
            }
            let failures = bad.control.requests() - served_before;
            if bad.control.requests() == served || ejected_after.is_some() {
                continue;
            }
            if let Ok(before) = &before {
                for _ in 0..EJECTION_POLLS {
                    let seen = ctx
                        .cluster_stats(caller, callee)
                        .await
                        .map(|s| s.delta(before, &enforced));
                    if seen.is_ok_and(|d| d > 0) {
                        ejected_after = Some(failures);
                        until = cap.min(sent + 2 * callee.instances);
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(EJECTION_POLL_MS)).await;
                }
            }
        }
        bad.control.set(Behaviour::default());
        let after = ctx.cluster_stats(caller, callee).await;
        let (Ok(before), Ok(after)) = (before, after) else {
            out.push(ctx.broken(
                &subject,
                expected,
                "could not read the caller's admin counters".into(),
            ));
            continue;
        };
        let ejected = after.delta(&before, &enforced);
        let active = after.get(&cluster_stat(
            ctx.fleet,
            callee,
            "outlier_detection.ejections_active",
        ));
        let served_bad = bad.control.requests() - served_before;
        let measured = format!(
            "ejected after {} failures; failing instance served {served_bad} of {sent} ({ok} answered OK); ejections +{ejected}, active {active}",
            ejected_after.map_or("?".to_string(), |f| f.to_string())
        );
        let failure = if ejected == 0 {
            Some(format!(
                "the failing instance of {} was never ejected",
                callee.name
            ))
        } else if ejected_after != Some(u64::from(n)) {
            Some(format!(
                "ejected after {} failures, expected after {n} consecutive 5xx",
                ejected_after.map_or("an unknown number of".to_string(), |f| f.to_string())
            ))
        } else {
            None
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MtlsMode, RetryPolicy, TrafficPolicy};

    fn callee(protocol: Protocol, timeout_ms: u64, per_try_timeout_ms: u64) -> ServiceSpec {
        ServiceSpec {
            name: "s".into(),
            namespace: "n".into(),
            service_account: "s".into(),
            workload: None,
            port: 8080,
            target_port: None,
            protocol,
            mtls: MtlsMode::Strict,
            external_plaintext: false,
            allowed_principals: vec![],
            allow_unauthenticated: false,
            dry_run: false,
            instances: 1,
            traffic: TrafficPolicy {
                timeout_ms,
                retries: RetryPolicy {
                    attempts: 0,
                    per_try_timeout_ms,
                    retry_on: vec![],
                    retriable_status_codes: vec![],
                },
                outlier_detection: None,
                connection_pool: None,
            },
        }
    }

    const POOL: ConnectionPool = ConnectionPool {
        max_connections: 100,
        max_pending_requests: 100,
        max_requests: 1000,
        max_requests_per_connection: 0,
        max_retries: u32::MAX,
        retry_budget: None,
    };

    #[test]
    fn the_load_follows_the_real_thresholds() {
        // HTTP/1.1: connections + pending, held long enough for 206 requests to be in flight
        // but within half the per-try timeout.
        let l = load(&callee(Protocol::Http, 5000, 1660), &POOL);
        assert_eq!((l.capacity, l.burst, l.hold), (200, 206, 618));
        let l = load(&callee(Protocol::Http, 5000, 1000), &POOL);
        assert_eq!(l.hold, 500);
        // HTTP/2: the request limit, a longer hold for the larger burst.
        let l = load(&callee(Protocol::Grpc, 10_000, 0), &POOL);
        assert_eq!((l.capacity, l.burst, l.hold), (1000, 1006, 3018));
        let small = ConnectionPool {
            max_connections: 4,
            max_pending_requests: 4,
            max_requests: 64,
            max_requests_per_connection: 0,
            max_retries: u32::MAX,
            retry_budget: None,
        };
        let l = load(&callee(Protocol::Http, 0, 0), &small);
        assert_eq!((l.capacity, l.burst, l.hold), (8, 14, MIN_HOLD_MS));
    }
}
