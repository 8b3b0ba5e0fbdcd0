//! A dry-run AuthorizationPolicy on real Envoy: it enforces nothing and records what it would
//! have done.
//!
//! For every callee whose policy is dry-run: an identity the policy does not list (the lab's
//! intruder, over mTLS straight at the inbound port) is served (200), and Envoy records the
//! shadow denial twice: the counter `rbac.istio_dry_run_allow_.shadow_denied` and the access
//! log entry's `dry_run_result: denied`. A caller the policy lists, calling through its own
//! sidecar, is served and shadow-allowed, with the matched policy in `dry_run_policy`. With no
//! dry-run policy among the lab's services the scenario says so instead of running.

use super::{describe, Ctx, RbacCounters};
use crate::access_log::{self, field};
use crate::client::{self, Reply};
use crate::fleet::fqdn;
use crate::report::ScenarioResult;
use crate::spec::ServiceSpec;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a request's access-log entry may take to appear (Envoy flushes every 20 ms).
const LOG_WAIT: Duration = Duration::from_millis(1500);

pub(super) async fn dry_run(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let spec = &ctx.fleet.spec;
    let dry: Vec<&ServiceSpec> = spec.callees().into_iter().filter(|c| c.dry_run).collect();
    if dry.is_empty() {
        return vec![ctx.not_run(
            "-",
            "an unlisted identity served, its shadow denial recorded",
            "no service in the lab has a dry-run AuthorizationPolicy (istio.io/dry-run: \"true\")"
                .into(),
        )];
    }
    let mut out = Vec::new();
    for callee in dry {
        out.push(unlisted(ctx, callee).await);
        out.push(listed(ctx, callee).await);
    }
    out
}

/// The entries a service's sidecars have logged so far, per sidecar.
pub(super) fn log_marks(ctx: &Ctx<'_>, service: &str) -> Vec<usize> {
    ctx.fleet
        .sidecars
        .iter()
        .filter(|s| s.service == service)
        .map(|s| access_log::read_json(&s.logs.json).len())
        .collect()
}

/// The first entry logged by a sidecar of `service` after `marks` that `wanted` accepts,
/// waiting for Envoy's flush.
pub(super) async fn logged_after(
    ctx: &Ctx<'_>,
    service: &str,
    marks: &[usize],
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let started = Instant::now();
    loop {
        let sidecars = ctx.fleet.sidecars.iter().filter(|s| s.service == service);
        for (s, mark) in sidecars.zip(marks) {
            let entries = access_log::read_json(&s.logs.json);
            if let Some(e) = entries.into_iter().skip(*mark).find(|e| wanted(e)) {
                return Some(e);
            }
        }
        if started.elapsed() > LOG_WAIT {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `dry_run_result=… dry_run_policy=…` of an entry, for the measured column.
pub(super) fn dry_run_fields(entry: Option<&Value>) -> String {
    match entry {
        Some(e) => format!(
            "log dry_run_result={} dry_run_policy={}",
            field(e, "dry_run_result").unwrap_or("-"),
            field(e, "dry_run_policy").unwrap_or("-")
        ),
        None => "no access-log entry".into(),
    }
}

async fn unlisted(ctx: &Ctx<'_>, callee: &ServiceSpec) -> ScenarioResult {
    let fleet = ctx.fleet;
    let intruder = fleet.intruder.spiffe_id.clone();
    let subject = format!("{intruder} -> {}", callee.name);
    ctx.start(&subject);
    let expected = "HTTP 200 (not enforced), shadow denied +1, log dry_run_result=denied";
    let Some(port) = fleet.sidecar(&callee.name, 0).and_then(|s| s.inbound) else {
        return ctx.broken(&subject, expected.into(), "no inbound listener".into());
    };
    let rbac = RbacCounters::of(callee);
    let marks = log_marks(ctx, &callee.name);
    let before = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let reply = client::send_mtls(
        port,
        &fqdn(callee),
        &crate::bootstrap::sni(callee.port, &fqdn(callee)),
        &fleet.intruder,
        fleet.ca.der(),
        &fleet.spec.spiffe_id(callee),
    )
    .await;
    let after = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let entry = logged_after(ctx, &callee.name, &marks, |e| {
        field(e, "downstream_peer_uri_san") == Some(intruder.as_str())
    })
    .await;
    let (Ok(before), Ok(after), Ok(reply)) = (before, after, reply) else {
        return ctx.broken(
            &subject,
            expected.into(),
            "the request or the admin counters failed".into(),
        );
    };
    let [allowed, denied, shadow_allowed, shadow_denied] = rbac.deltas(&before, &after);
    let measured = format!(
        "{}, shadow denied +{shadow_denied} allowed +{shadow_allowed}, rbac allowed +{allowed} \
         denied +{denied}, {}",
        describe(&reply),
        dry_run_fields(entry.as_ref())
    );
    let logged = entry.as_ref().and_then(|e| field(e, "dry_run_result"));
    let failure = if reply.status == 403 || denied > 0 {
        Some(format!(
            "{}'s dry-run policy was enforced: an unlisted identity got 403",
            callee.name
        ))
    } else if !reply.ok() {
        Some(format!("the request failed with {}", describe(&reply)))
    } else if shadow_denied != 1 {
        Some("Envoy did not count the shadow denial".into())
    } else if logged != Some("denied") {
        Some("the access log does not carry dry_run_result=denied".into())
    } else {
        None
    };
    ctx.finish(&subject, expected.into(), measured, failure)
}

async fn listed(ctx: &Ctx<'_>, callee: &ServiceSpec) -> ScenarioResult {
    let spec = &ctx.fleet.spec;
    let caller = spec
        .services
        .iter()
        .filter(|s| callee.allowed_principals.contains(&spec.principal(s)))
        .find(|s| {
            spec.targets_of(&s.name)
                .iter()
                .any(|(t, _)| t.name == callee.name)
        });
    let expected = "HTTP 200, shadow allowed +1, log dry_run_result=allowed";
    let Some(caller) = caller else {
        return ctx.not_run(
            &format!("listed caller -> {}", callee.name),
            expected,
            format!(
                "no service in the lab that calls {} is listed in its dry-run policy{}",
                callee.name,
                if callee.allowed_principals.is_empty() {
                    " (it lists nobody yet: every call is shadow-denied)"
                } else {
                    ""
                }
            ),
        );
    };
    let subject = format!("{} -> {}", caller.name, callee.name);
    ctx.start(&subject);
    let id = spec.spiffe_id(caller);
    let rbac = RbacCounters::of(callee);
    let marks = log_marks(ctx, &callee.name);
    let before = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let reply = ctx.call(caller, callee, Vec::new()).await;
    let after = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let entry = logged_after(ctx, &callee.name, &marks, |e| {
        field(e, "downstream_peer_uri_san") == Some(id.as_str())
    })
    .await;
    let (Ok(before), Ok(after), Ok(reply)) = (before, after, reply) else {
        return ctx.broken(
            &subject,
            expected.into(),
            "the request or the admin counters failed".into(),
        );
    };
    let [_, _, shadow_allowed, shadow_denied] = rbac.deltas(&before, &after);
    ctx.finish(
        &subject,
        expected.into(),
        format!(
            "{}, shadow allowed +{shadow_allowed} denied +{shadow_denied}, {}",
            describe(&reply),
            dry_run_fields(entry.as_ref())
        ),
        judge_listed(&reply, shadow_allowed, entry.as_ref()),
    )
}

fn judge_listed(reply: &Reply, shadow_allowed: u64, entry: Option<&Value>) -> Option<String> {
    if !reply.ok() {
        Some(format!("the listed caller got {}", describe(reply)))
    } else if shadow_allowed != 1 {
        Some("Envoy did not count a shadow allow for a caller the policy lists".into())
    } else if entry.and_then(|e| field(e, "dry_run_result")) != Some("allowed") {
        Some("the access log does not carry dry_run_result=allowed".into())
    } else {
        None
    }
}
