//! A connect failure, provoked for real: on a hop whose generated retryOn has `connect-failure`
//! and whose callee runs two instances, one instance's sidecar is stopped so its port is closed,
//! and the caller's next try that lands there fails to connect.
//!
//! It runs on a fleet of its own (the caller and the callee, started from the same spec
//! entries), so the stopped sidecar never disturbs the main fleet. Probes are sent one at a time
//! until one's first try meets the closed port (the callee has two hosts, and the load balancer
//! picks one of them for each first try); that probe must be retried, each failed try once,
//! within the policy's retries (`previous_hosts` steers a retry to the live instance, though a
//! random pick between idle hosts can meet the closed port again), and succeed:
//! `upstream_cx_connect_fail` = `upstream_rq_retry` ≥ 1, `upstream_rq_retry_success` +1, and the
//! live callee counts exactly one attempt (a failed try never reached an app).

use super::{cluster_stat, describe, probe_id, Ctx};
use crate::fleet::Fleet;
use crate::report::ScenarioResult;
use crate::spec::{EdgeSpec, LabSpec};

/// Probes sent at most before one meets the closed port: round robin meets it within two;
/// least request (Istio's default) picks between two idle hosts at random, so all 16 miss it
/// once in 65536 runs.
const MAX_PROBES: usize = 16;

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
        let spec = LabSpec {
            trust_domain: ctx.fleet.spec.trust_domain.clone(),
            services: vec![caller.clone(), callee.clone()],
            edges: vec![EdgeSpec {
                from: caller.name.clone(),
                to: callee.name.clone(),
            }],
            calls: Vec::new(),
        };
        let mut own =
            match Fleet::start(&spec, &ctx.fleet.envoy, ctx.fleet.istiod_options.as_ref()).await {
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
        let mut result = None;
        let mut missed = 0;
        for _ in 0..MAX_PROBES {
            let probe = probe_id();
            let before = hop.cluster_stats(caller, callee).await;
            let reply = hop
                .call(caller, callee, vec![("x-lab-probe", probe.clone())])
                .await;
            let after = hop.cluster_stats(caller, callee).await;
            let (Ok(before), Ok(after), Ok(reply)) = (before, after, reply) else {
                result = Some(Err("the request or an admin read failed".to_string()));
                break;
            };
            let stat = |name| after.delta(&before, &cluster_stat(&own, callee, name));
            let figures = (
                stat("upstream_cx_connect_fail"),
                stat("upstream_rq_retry"),
                stat("upstream_rq_retry_success"),
            );
            let seen = own
                .apps_of(&callee.name)
                .first()
                .map_or(0, |a| a.control.probe_count(&probe));
            if figures.0 == 0 && figures.1 == 0 && reply.ok() && seen == 1 {
                // Its first try went to the live instance; the next one meets the closed port.
                missed += 1;
                continue;
            }
            result = Some(Ok((reply, figures, seen)));
            break;
        }
        drop(own);
        let (measured, failure) = match result {
            None => (
                format!("{missed} probes, none met the closed port"),
                Some(format!(
                    "no probe's try met the closed port in {MAX_PROBES} probes"
                )),
            ),
            Some(Err(why)) => ("not measured".into(), Some(why)),
            Some(Ok((reply, (failed, retried, success), seen))) => {
                let measured = format!(
                    "{} after {seen} attempt(s) at callee; connect failures +{failed}, retry \
                     +{retried}, retry success +{success} ({missed} earlier probe(s) went \
                     straight to the live instance)",
                    describe(&reply)
                );
                // `previous_hosts` steers a retry away from the host that failed, but host
                // selection is itself retried only a few times: under a load balancer that picks
                // at random between idle hosts (least request), a retry can meet the closed port
                // again and is then retried again, within the policy's retries.
                let allowed = callee.traffic.retries.attempts;
                let failure = if !reply.ok() {
                    Some(format!(
                        "the connect failure was not retried to success ({})",
                        describe(&reply)
                    ))
                } else if failed == 0
                    || failed != retried
                    || retried > u64::from(allowed)
                    || (success, seen) != (1, 1)
                {
                    Some(format!(
                        "expected every connect failure retried (connect failures = retries, \
                         1 to {allowed}), retry success +1 and 1 attempt at callee; got \
                         +{failed}, +{retried}, +{success} and {seen}"
                    ))
                } else {
                    None
                };
                (measured, failure)
            }
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}
