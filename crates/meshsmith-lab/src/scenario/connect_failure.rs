//! A connect failure, provoked for real: on a hop whose generated retryOn has `connect-failure`
//! and whose callee runs two instances, one instance's sidecar is stopped so its port is closed,
//! and the caller's next try that lands there fails to connect.
//!
//! It runs on a fleet of its own (the caller and the callee, started from the same spec
//! entries), so the stopped sidecar never disturbs the main fleet. Probes are sent one at a time
//! until one's first try meets the closed port (the callee has two hosts, and the load balancer
//! picks one of them for each first try); that probe must be retried, each failed try once,
//! within the policy's retries (`previous_hosts` steers a retry to the live instance, though a
//! random pick between idle hosts can meet the closed port again: under least request such a
//! probe, every try a connect failure, is reported and the next one that meets the port is
//! judged, at most twice), and succeed:
//! `upstream_cx_connect_fail` = `upstream_rq_retry` ≥ 1, `upstream_rq_retry_success` +1, and the
//! live callee counts exactly one attempt (a failed try never reached an app).

use super::{cluster_stat, describe, probe_id, Ctx};
use crate::report::ScenarioResult;

/// Probes sent at most: round robin meets the closed port every second probe; least request
/// (Istio's default) picks between two idle hosts at random, so all 24 miss it once in 16
/// million runs.
const MAX_PROBES: usize = 24;

pub(super) async fn connect_failures(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx.fleet.spec.callees() {
        let r = &callee.traffic.retries;
        if r.attempts == 0 || !r.retry_on.iter().any(|c| c == "connect-failure") {
            continue;
        }
        if callee.instances < 2 {
            continue;
        }
        let Some(caller) = ctx.first_caller(callee) else {
            continue;
        };
        let subject = format!(
            "{} -> {} (one instance's port closed)",
            caller.name, callee.name
        );
        ctx.start(&subject);
        let expected = format!(
            "the try that meets the closed port fails to connect and is retried (retryOn {}) \
             until it reaches the live instance: success after 1 attempt at callee; connect \
             failures = retries, 1 to {}, retry success +1",
            r.retry_on.join(","),
            r.attempts
        );
        let mut own = match ctx.hop_fleet(caller, callee.clone()).await {
            Ok(fleet) => fleet,
            Err(e) => {
                out.push(ctx.broken(&subject, expected, format!("bringing up the hop: {e}")));
                continue;
            }
        };
        // Stopping the sidecar (SIGKILL and reap) closes its inbound port.
        if let Some(i) = own
            .sidecars
            .iter()
            .position(|s| s.service == callee.name && s.instance == 0)
        {
            drop(own.sidecars.remove(i));
        }
        let hop = Ctx {
            fleet: &own,
            kind: ctx.kind,
            progress: ctx.progress,
        };
        let least_request = own.istiod_options.is_some();
        let mut outcome = Probing::default();
        for _ in 0..MAX_PROBES {
            let probe = probe_id();
            let before = hop.cluster_stats(caller, callee).await;
            let reply = hop
                .call(caller, callee, vec![("x-lab-probe", probe.clone())])
                .await;
            let after = hop.cluster_stats(caller, callee).await;
            let (Ok(before), Ok(after), Ok(reply)) = (before, after, reply) else {
                outcome.broken = Some("the request or an admin read failed".to_string());
                break;
            };
            let stat = |name| after.delta(&before, &cluster_stat(&own, callee, name));
            let met = Met {
                ok: reply.ok(),
                reply: describe(&reply),
                failed: stat("upstream_cx_connect_fail"),
                retried: stat("upstream_rq_retry"),
                success: stat("upstream_rq_retry_success"),
                seen: own
                    .apps_of(&callee.name)
                    .first()
                    .map_or(0, |a| u64::from(a.control.probe_count(&probe))),
            };
            if met.failed == 0 && met.retried == 0 && met.ok && met.seen == 1 {
                // Its first try went to the live instance; the next one meets the closed port.
                outcome.missed += 1;
                continue;
            }
            // Under least request a retry that picked the closed port again after every
            // reselection `previous_hosts` allows is Istio's behaviour, not a fault: take the
            // next probe that meets the closed port, a few times at most.
            let unlucky = least_request && met.exhausted_on_closed_port(r.attempts);
            outcome.met.push(met);
            if !unlucky || outcome.met.len() > MAX_UNLUCKY {
                break;
            }
        }
        drop(own);
        let (measured, failure) = outcome.verdict(r.attempts);
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

/// Probes that met the closed port, at most this many of them retried onto it again under
/// least request before the scenario counts it as a failure: with two hosts each reselection
/// meets the closed port half the time and `previous_hosts` reselects five times, so a correct
/// mesh exhausts a single retry on it once in 64 such probes, three times in a row once in
/// 262,144 runs.
const MAX_UNLUCKY: usize = 2;

/// One probe whose tries met the closed port, as its reply and the caller's counters show it.
struct Met {
    ok: bool,
    reply: String,
    failed: u64,
    retried: u64,
    success: u64,
    /// Tries that reached the live instance's app.
    seen: u64,
}

impl Met {
    /// Every try it was allowed failed to connect, none reached an app: host selection met the
    /// closed port again on each retry.
    fn exhausted_on_closed_port(&self, attempts: u32) -> bool {
        let allowed = u64::from(attempts);
        !self.ok
            && self.seen == 0
            && self.success == 0
            && self.retried == allowed
            && self.failed == allowed + 1
    }

    fn measured(&self) -> String {
        format!(
            "{} after {} attempt(s) at callee; connect failures +{}, retry +{}, retry success +{}",
            self.reply, self.seen, self.failed, self.retried, self.success
        )
    }
}

#[derive(Default)]
struct Probing {
    /// Probes whose first try went straight to the live instance.
    missed: usize,
    met: Vec<Met>,
    broken: Option<String>,
}

impl Probing {
    /// What was measured and, when it falls short, why: the last probe that met the closed port
    /// must have been retried to success, every connect failure retried within the policy's
    /// retries, and reached the live instance's app exactly once.
    fn verdict(&self, allowed: u32) -> (String, Option<String>) {
        if let Some(why) = &self.broken {
            return ("not measured".into(), Some(why.clone()));
        }
        let Some((last, earlier)) = self.met.split_last() else {
            return (
                format!("{} probes, none met the closed port", self.missed),
                Some(format!(
                    "no probe's try met the closed port in {MAX_PROBES} probes"
                )),
            );
        };
        let mut measured = format!(
            "{} ({} earlier probe(s) went straight to the live instance",
            last.measured(),
            self.missed
        );
        if !earlier.is_empty() {
            let each: Vec<String> = earlier.iter().map(Met::measured).collect();
            measured.push_str(&format!(
                "; {} earlier probe(s) met the closed port on every try, as least request's \
                 random pick between two idle hosts can after the reselections previous_hosts \
                 allows: {}",
                earlier.len(),
                each.join("; ")
            ));
        }
        measured.push(')');
        let failure = if !last.ok {
            Some(format!(
                "the connect failure was not retried to success ({})",
                last.reply
            ))
        } else if last.failed == 0
            || last.failed != last.retried
            || last.retried > u64::from(allowed)
            || (last.success, last.seen) != (1, 1)
        {
            Some(format!(
                "expected every connect failure retried (connect failures = retries, 1 to \
                 {allowed}), retry success +1 and 1 attempt at callee; got +{}, +{}, +{} and {}",
                last.failed, last.retried, last.success, last.seen
            ))
        } else {
            None
        };
        (measured, failure)
    }
}

#[cfg(test)]
mod tests {
    use super::{Met, Probing, MAX_UNLUCKY};

    fn met(ok: bool, failed: u64, retried: u64, success: u64, seen: u64) -> Met {
        Met {
            ok,
            reply: if ok { "HTTP 200" } else { "HTTP 503" }.to_string(),
            failed,
            retried,
            success,
            seen,
        }
    }

    #[test]
    fn a_retry_that_reaches_the_live_instance_passes() {
        let p = Probing {
            missed: 1,
            met: vec![met(true, 1, 1, 1, 1)],
            broken: None,
        };
        let (measured, failure) = p.verdict(1);
        assert_eq!(failure, None);
        assert!(measured.starts_with(
            "HTTP 200 after 1 attempt(s) at callee; connect failures +1, retry +1, retry success +1"
        ));
    }

    #[test]
    fn exhausting_the_retries_on_the_closed_port_is_recognised_only_in_its_exact_shape() {
        assert!(met(false, 2, 1, 0, 0).exhausted_on_closed_port(1));
        assert!(met(false, 3, 2, 0, 0).exhausted_on_closed_port(2));
        // A retry that was never made, or a try that reached an app, is not that.
        assert!(!met(false, 1, 0, 0, 0).exhausted_on_closed_port(1));
        assert!(!met(false, 2, 1, 0, 1).exhausted_on_closed_port(1));
        assert!(!met(true, 2, 2, 1, 1).exhausted_on_closed_port(1));
    }

    #[test]
    fn an_unlucky_probe_is_reported_and_the_next_one_judged() {
        let p = Probing {
            missed: 0,
            met: vec![met(false, 2, 1, 0, 0), met(true, 1, 1, 1, 1)],
            broken: None,
        };
        let (measured, failure) = p.verdict(1);
        assert_eq!(failure, None);
        assert!(measured.contains("1 earlier probe(s) met the closed port on every try"));
        assert!(measured.contains("HTTP 503 after 0 attempt(s) at callee; connect failures +2"));
    }

    #[test]
    fn a_probe_that_never_succeeds_fails_the_scenario() {
        let unlucky = (0..=MAX_UNLUCKY).map(|_| met(false, 2, 1, 0, 0)).collect();
        let p = Probing {
            missed: 0,
            met: unlucky,
            broken: None,
        };
        let (_, failure) = p.verdict(1);
        assert!(failure
            .expect("a failure")
            .starts_with("the connect failure was not retried to success (HTTP 503)"));
        // More retries than the policy allows fail too.
        let p = Probing {
            missed: 0,
            met: vec![met(true, 2, 2, 1, 1)],
            broken: None,
        };
        assert!(p.verdict(1).1.is_some());
        let p = Probing::default();
        assert!(p
            .verdict(1)
            .1
            .expect("a failure")
            .starts_with("no probe's try"));
    }
}
