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
}

/// Does a per-try timeout lead to another attempt? Envoy treats it as a gateway error.
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
    let per_try = t.retries.per_try_timeout_ms;
    if per_try == 0 || per_try >= t.timeout_ms {
        return Some(TimeoutExpectation {
            cut_ms: t.timeout_ms,
            attempts: 1,
            backoff_ms: 0,
        });
    }
    if !retries_timeouts(&t.retries) {
        return Some(TimeoutExpectation {
            cut_ms: per_try,
            attempts: 1,
            backoff_ms: 0,
        });
    }
    let tries = 1 + t.retries.attempts;
    let backoff_ms: u64 = (1..tries).map(|n| 25 * ((1u64 << n) - 1)).sum();
    let all_tries = u64::from(tries) * per_try;
    if all_tries < t.timeout_ms {
        Some(TimeoutExpectation {
            cut_ms: all_tries,
            attempts: tries,
            backoff_ms,
        })
    } else {
        let fit = t.timeout_ms.div_ceil(per_try);
        Some(TimeoutExpectation {
            cut_ms: t.timeout_ms,
            attempts: tries.min(fit as u32),
            backoff_ms,
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
                "cut at {} (+{} ms), {} attempt(s)",
                secs(e.cut_ms),
                e.backoff_ms + SLACK_MS,
                e.attempts
            ),
            None => format!("cut within {} (the lab's bound)", secs(TIMEOUT_BOUND_MS)),
        };
        ctx.settle(caller, callee).await;
        let probe = probe_id();
        let headers = vec![
            ("x-lab-probe", probe.clone()),
            ("x-lab-delay-ms", hold.to_string()),
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
        let (global, per_try, retried) = (
            stat("upstream_rq_timeout"),
            stat("upstream_rq_per_try_timeout"),
            stat("upstream_rq_retry"),
        );
        let seen = ctx
            .fleet
            .apps_of(&callee.name)
            .first()
            .map_or(0, |a| a.control.probe_count(&probe));
        let elapsed = reply.elapsed.as_millis() as u64;
        let measured = format!(
            "{} after {}, {seen} attempt(s) at callee; timeout +{global}, per-try timeout +{per_try}, retry +{retried}",
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

/// Would the policy retry the lab's transient failure (503, or gRPC UNAVAILABLE)?
fn retries_transient(s: &ServiceSpec) -> bool {
    let r = &s.traffic.retries;
    r.attempts > 0
        && r.retry_on.iter().any(|c| match s.protocol {
            Protocol::Http => matches!(c.as_str(), "5xx" | "gateway-error"),
            Protocol::Grpc => c == "unavailable",
        })
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
        let expected = if retried_expected {
            format!(
                "success after {} attempts; retry +{attempts}, retry success +1",
                attempts + 1
            )
        } else {
            format!(
                "not retried (retryOn {}): failure passed through after 1 attempt",
                callee.traffic.retries.retry_on.join(",")
            )
        };
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
mod tests {
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
            protocol: Protocol::Http,
            mtls: MtlsMode::Strict,
            external_plaintext: false,
            allowed_principals: vec![],
            allow_unauthenticated: false,
            instances: 1,
            traffic: TrafficPolicy {
                timeout_ms,
                retries: RetryPolicy {
                    attempts,
                    per_try_timeout_ms,
                    retry_on: retry_on.iter().map(|s| s.to_string()).collect(),
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
    }
}
