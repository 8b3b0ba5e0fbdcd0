//! Timeouts and retries, provoked through the caller's sidecar and counted twice: by the
//! caller's cluster counters (`upstream_rq_timeout`, `upstream_rq_per_try_timeout`,
//! `upstream_rq_retry`, `upstream_rq_retry_success`) and by the callee app, which counts every
//! attempt of a probe on arrival.

use super::{cluster_stat, describe, probe_id, secs, Ctx};
use crate::report::ScenarioResult;
use crate::spec::{Protocol, RetryPolicy, ServiceSpec};

/// The longest route timeout the lab waits out; longer ones are reported as not cutting a
/// slowed callee. 10 s is the longest role default (external integrations).
pub const TIMEOUT_BOUND_MS: u64 = 10_000;
/// How much longer than the timeout the slowed callee holds a request.
const HOLD_MARGIN_MS: u64 = 1_000;
/// Scheduling slack on a shared 2-core machine, on top of Envoy's retry back-off.
const SLACK_MS: u64 = 300;

/// What the policy should do with a callee that never answers in time.
struct TimeoutExpectation {
    cut_ms: u64,
    attempts: u32,
    /// Upper bound of the jittered back-off between attempts (25 ms base, doubling).
    backoff_ms: u64,
    /// Why these figures follow from the policy, for the expected column.
    why: String,
}

/// Does a per-try timeout lead to another attempt? Envoy resets the try and retries it only
/// under conditions that cover a reset after the request was sent: `5xx`, `gateway-error`,
/// `reset` (`reset-before-request`, `connect-failure`, `refused-stream` and the gRPC conditions
/// do not).
fn retries_timeouts(r: &RetryPolicy) -> bool {
    r.attempts > 0
        && r.retry_on
            .iter()
            .any(|c| matches!(c.as_str(), "5xx" | "gateway-error" | "reset"))
}

fn expect_timeout(s: &ServiceSpec) -> Option<TimeoutExpectation> {
    let t = &s.traffic;
    if t.timeout_ms == 0 {
        return None;
    }
    let r = &t.retries;
    let per_try = r.per_try_timeout_ms;
    let retry_on = r.retry_on.join(",");
    if per_try == 0 || per_try >= t.timeout_ms {
        return Some(TimeoutExpectation {
            cut_ms: t.timeout_ms,
            attempts: 1,
            backoff_ms: 0,
            why: "the route timeout ends the request and its retries".into(),
        });
    }
    if !retries_timeouts(r) {
        let why = if r.attempts == 0 {
            format!("per-try timeout {}, no retries", secs(per_try))
        } else {
            format!(
                "per-try timeout {}; retryOn {retry_on} does not cover it (only 5xx, \
                 gateway-error, reset do), so 1 of 1 + {} allowed",
                secs(per_try),
                r.attempts
            )
        };
        return Some(TimeoutExpectation {
            cut_ms: per_try,
            attempts: 1,
            backoff_ms: 0,
            why,
        });
    }
    let tries = 1 + r.attempts;
    let backoff_ms: u64 = (1..tries).map(|n| 25 * ((1u64 << n) - 1)).sum();
    let all_tries = u64::from(tries) * per_try;
    if all_tries < t.timeout_ms {
        Some(TimeoutExpectation {
            cut_ms: all_tries,
            attempts: tries,
            backoff_ms,
            why: format!(
                "retryOn {retry_on} retries a per-try timeout: 1 + {} tries of {}",
                r.attempts,
                secs(per_try)
            ),
        })
    } else {
        let fit = t.timeout_ms.div_ceil(per_try);
        Some(TimeoutExpectation {
            cut_ms: t.timeout_ms,
            attempts: tries.min(fit as u32),
            backoff_ms,
            why: format!(
                "retryOn {retry_on} retries a per-try timeout of {}; the route timeout {} \
                 ends the last of the 1 + {} tries",
                secs(per_try),
                secs(t.timeout_ms),
                r.attempts
            ),
        })
    }
}

pub(super) async fn timeouts(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx.fleet.spec.callees() {
        let Some(caller) = ctx.first_caller(callee) else {
            continue;
        };
        let subject = format!("{} -> {}", caller.name, callee.name);
        ctx.start(&subject);
        let t = &callee.traffic;
        let hold = t.timeout_ms.clamp(1, TIMEOUT_BOUND_MS) + HOLD_MARGIN_MS;
        let expectation = expect_timeout(callee).filter(|_| t.timeout_ms <= TIMEOUT_BOUND_MS);
        let expected = match &expectation {
            Some(e) => format!(
                "cut at {} (+{} ms), {} attempt(s) at callee: {}",
                secs(e.cut_ms),
                e.backoff_ms + SLACK_MS,
                e.attempts,
                e.why
            ),
            None => format!("cut within {} (the lab's bound)", secs(TIMEOUT_BOUND_MS)),
        };
        ctx.settle(caller, callee).await;
        let probe = probe_id();
        let headers = vec![
            ("x-lab-probe", probe.clone()),
            ("x-lab-delay-ms", hold.to_string()),
        ];
        let inbound = inbound_timeouts(callee);
        let before = ctx.cluster_stats(caller, callee).await;
        let inbound_before = ctx.service_stats(&callee.name, &inbound).await;
        let reply = ctx.call(caller, callee, headers).await;
        let after = ctx.cluster_stats(caller, callee).await;
        let inbound_after = ctx.service_stats(&callee.name, &inbound).await;
        let (Ok(before), Ok(after), Ok(inbound_before), Ok(inbound_after), Ok(reply)) =
            (before, after, inbound_before, inbound_after, reply)
        else {
            out.push(ctx.broken(
                &subject,
                expected,
                "the request or an admin read failed".into(),
            ));
            continue;
        };
        let stat = |name| after.delta(&before, &cluster_stat(ctx.fleet, callee, name));
        let (caller_global, per_try, retried) = (
            stat("upstream_rq_timeout"),
            stat("upstream_rq_per_try_timeout"),
            stat("upstream_rq_retry"),
        );
        // A gRPC caller's sidecar passes the time left on to the callee in `grpc-timeout`,
        // and an inbound route that honours it (Istio's do, with `max_stream_duration`'s
        // `grpc_timeout_header_max`) cuts the request at the same deadline from the callee's
        // side, answering DEADLINE_EXCEEDED. Whichever proxy's timer fires first, Envoy cut
        // the request at the configured time; the callee's cut is counted on its inbound side.
        let callee_cut: u64 = inbound_timeout_stats(callee)
            .iter()
            .map(|name| inbound_after.delta(&inbound_before, name))
            .sum();
        let global = caller_global + callee_cut;
        let seen = ctx
            .fleet
            .apps_of(&callee.name)
            .first()
            .map_or(0, |a| a.control.probe_count(&probe));
        let elapsed = reply.elapsed.as_millis() as u64;
        let callee_side = if callee_cut > 0 {
            format!(" (+{callee_cut} at the callee's sidecar, from the deadline passed on in grpc-timeout)")
        } else {
            String::new()
        };
        let measured = format!(
            "{} after {}, {seen} attempt(s) at callee; timeout +{global}{callee_side}, per-try timeout +{per_try}, retry +{retried}",
            describe(&reply),
            secs(elapsed)
        );
        let failure = match &expectation {
            None if t.timeout_ms == 0 => Some(format!(
                "{} has no route timeout: a callee slowed for {} held the caller for {}",
                callee.name,
                secs(hold),
                secs(elapsed)
            )),
            None if global + per_try > 0 && !reply.ok() => Some(format!(
                "route timeout {} is longer than the lab's {} bound; only per-try timeouts cut this request \
                 (at {}), a request they do not cover waits up to {}",
                secs(t.timeout_ms),
                secs(TIMEOUT_BOUND_MS),
                secs(elapsed),
                secs(t.timeout_ms)
            )),
            None => Some(format!(
                "route timeout {} is longer than the lab's {} bound: a callee slowed for {} was not cut ({} after {})",
                secs(t.timeout_ms),
                secs(TIMEOUT_BOUND_MS),
                secs(hold),
                describe(&reply),
                secs(elapsed)
            )),
            Some(e) => {
                if global + per_try == 0 || reply.ok() {
                    Some("Envoy counted no timeout: the slow callee was not cut".into())
                } else if elapsed + 50 < e.cut_ms || elapsed > e.cut_ms + e.backoff_ms + SLACK_MS {
                    Some(format!("cut at {}, expected {}", secs(elapsed), secs(e.cut_ms)))
                } else if seen != e.attempts || u64::from(e.attempts) != 1 + retried {
                    Some(format!(
                        "{seen} attempts reached {} (Envoy retried {retried} times), expected {} (retries {} on {}, per-try {})",
                        callee.name,
                        e.attempts,
                        t.retries.attempts,
                        t.retries.retry_on.join(","),
                        secs(t.retries.per_try_timeout_ms)
                    ))
                } else {
                    None
                }
            }
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

/// The counters of `callee`'s own sidecar that move when it cuts a request at the deadline
/// the caller passed on: a route timeout on its inbound cluster, or the stream's maximum
/// duration taken from `grpc-timeout` on its inbound listener.
fn inbound_timeout_stats(callee: &ServiceSpec) -> [String; 2] {
    let port = callee.target_port();
    [
        format!(
            "cluster.{}.upstream_rq_timeout",
            crate::bootstrap::inbound_cluster(port)
        ),
        format!(
            "http.{}.downstream_rq_max_duration_reached",
            crate::bootstrap::inbound_stat_prefix(port)
        ),
    ]
}

/// A stats filter for [`inbound_timeout_stats`].
fn inbound_timeouts(callee: &ServiceSpec) -> String {
    let names: Vec<String> = inbound_timeout_stats(callee)
        .iter()
        .map(|n| super::regex_escape(n))
        .collect();
    format!("^({})$", names.join("|"))
}

/// The transient failure the lab injects into `s`, and whether its policy retries it: an HTTP
/// 503, or for gRPC UNAVAILABLE (14) in a trailers-only response, the only form Envoy's gRPC
/// conditions read.
fn transient(s: &ServiceSpec) -> (&'static str, bool) {
    let r = &s.traffic.retries;
    let has = |c: &str| r.retry_on.iter().any(|k| k == c);
    match s.protocol {
        Protocol::Http => (
            "503",
            has("5xx")
                || has("gateway-error")
                || (has("retriable-status-codes") && r.retriable_status_codes.contains(&503)),
        ),
        Protocol::Grpc => (
            "grpc-status 14 UNAVAILABLE (trailers-only)",
            has("unavailable"),
        ),
    }
}

/// Would the policy retry the lab's transient failure?
fn retries_transient(s: &ServiceSpec) -> bool {
    s.traffic.retries.attempts > 0 && transient(s).1
}

/// The expected column of the retry check.
fn retry_expected(s: &ServiceSpec) -> String {
    let r = &s.traffic.retries;
    let (failure, covered) = transient(s);
    let mut retry_on = r.retry_on.join(",");
    if !r.retriable_status_codes.is_empty() {
        let codes: Vec<String> = r
            .retriable_status_codes
            .iter()
            .map(u16::to_string)
            .collect();
        retry_on = format!("{retry_on} [{}]", codes.join(","));
    }
    if r.attempts == 0 {
        format!(
            "not retried (attempts 0, no retry policy): {failure} passed through after 1 attempt"
        )
    } else if covered {
        format!(
            "first {} answer(s) {failure}, covered by retryOn {retry_on}: success after {} \
             attempts; retry +{}, retry success +1",
            r.attempts,
            r.attempts + 1,
            r.attempts
        )
    } else if s.protocol == Protocol::Http {
        format!(
            "not retried: {failure} is outside retryOn {retry_on} (as in Istio's own default \
             since 1.27); passed through after 1 attempt"
        )
    } else {
        format!(
            "not retried: {failure} is outside retryOn {retry_on}; passed through after 1 attempt"
        )
    }
}

pub(super) async fn retries(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx.fleet.spec.callees() {
        let Some(caller) = ctx.first_caller(callee) else {
            continue;
        };
        let subject = format!("{} -> {}", caller.name, callee.name);
        ctx.start(&subject);
        let retried_expected = retries_transient(callee);
        let attempts = callee.traffic.retries.attempts;
        let fail_first = if retried_expected { attempts } else { 1 };
        let expected = retry_expected(callee);
        ctx.settle(caller, callee).await;
        let probe = probe_id();
        let headers = vec![
            ("x-lab-probe", probe.clone()),
            ("x-lab-fail-first", fail_first.to_string()),
        ];
        let before = ctx.cluster_stats(caller, callee).await;
        let reply = ctx.call(caller, callee, headers).await;
        let after = ctx.cluster_stats(caller, callee).await;
        let (Ok(before), Ok(after), Ok(reply)) = (before, after, reply) else {
            out.push(ctx.broken(
                &subject,
                expected,
                "the request or an admin read failed".into(),
            ));
            continue;
        };
        let stat = |name| after.delta(&before, &cluster_stat(ctx.fleet, callee, name));
        let (retried, success) = (stat("upstream_rq_retry"), stat("upstream_rq_retry_success"));
        let seen = ctx
            .fleet
            .apps_of(&callee.name)
            .first()
            .map_or(0, |a| a.control.probe_count(&probe));
        let measured = format!(
            "{} after {seen} attempt(s) at callee; retry +{retried}, retry success +{success}",
            describe(&reply)
        );
        let failure = if retried_expected {
            if !reply.ok() || success != 1 {
                Some(format!(
                    "transient failures were not retried to success ({} after {seen} attempts)",
                    describe(&reply)
                ))
            } else if seen != attempts + 1 || retried != u64::from(attempts) {
                Some(format!(
                    "expected {} attempts, callee saw {seen}, Envoy retried {retried}",
                    attempts + 1
                ))
            } else {
                None
            }
        } else if seen != 1 || retried != 0 {
            Some(format!(
                "{} retried a failure its retryOn excludes ({seen} attempts)",
                caller.name
            ))
        } else if reply.ok() {
            Some("the injected failure did not reach the caller".into())
        } else {
            None
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

#[cfg(test)]
mod tests;
