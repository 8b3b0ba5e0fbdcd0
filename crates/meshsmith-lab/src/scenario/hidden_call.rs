//! Calls the manifests do not show (`--call FROM:TO`): FROM's app calls TO through FROM's own
//! sidecar, as code that builds the address itself would, and the row says what the mesh did.
//!
//! What Istio does with such a call decides the expectation. When FROM's sidecar has TO in its
//! configuration (no Sidecar resource, or egress hosts that import TO), the call goes over mTLS
//! to TO's sidecar and TO's AuthorizationPolicy decides: dry-run serves it and records the
//! shadow result, an enforced policy that lists FROM serves it, one that does not answers 403.
//! When it does not, the call leaves through `PassthroughCluster` in plaintext: a STRICT port
//! closes the connection (in a pod the app sees the reset; the lab's HTTP listener answers 503
//! `UC`), a PERMISSIVE one sees no identity. A row passes when the call
//! succeeds and Envoy's counters agree, and fails when the mesh would break a call the code
//! makes, saying which resource breaks it.

use super::dry_run::{dry_run_fields, log_marks, logged_after};
use super::{describe, Ctx, RbacCounters};
use crate::access_log::field;
use crate::fleet::fqdn;
use crate::report::ScenarioResult;
use crate::spec::{CallSpec, MtlsMode, ServiceSpec};

/// What the mesh does with one call, from the spec alone.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Plaintext through PassthroughCluster to a STRICT port: the connection is closed.
    Refused,
    /// The callee's enforced policy does not admit the caller: 403.
    Denied,
    /// Served; under a dry-run policy with the shadow result (`Some(true)` allowed).
    Served { shadow: Option<bool> },
}

fn outcome(ctx: &Ctx<'_>, call: &CallSpec, caller: &ServiceSpec, callee: &ServiceSpec) -> Outcome {
    if !call.imported && callee.mtls == MtlsMode::Strict {
        return Outcome::Refused;
    }
    // Through PassthroughCluster the request carries no identity.
    let admitted = if call.imported {
        let principal = ctx.fleet.spec.principal(caller);
        callee.allowed_principals.contains(&principal)
    } else {
        callee.allow_unauthenticated
    };
    match (callee.dry_run, admitted) {
        (true, listed) => Outcome::Served {
            shadow: Some(listed),
        },
        (false, true) => Outcome::Served { shadow: None },
        (false, false) => Outcome::Denied,
    }
}

fn expectation(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Refused => "closed: plaintext through PassthroughCluster to a STRICT port",
        Outcome::Denied => "403: the enforced policy does not list the caller",
        Outcome::Served { shadow: Some(true) } => "HTTP 200, shadow allowed +1 (dry-run)",
        Outcome::Served {
            shadow: Some(false),
        } => "HTTP 200 (dry-run: not enforced), shadow denied +1, log dry_run_result=denied",
        Outcome::Served { shadow: None } => "HTTP 200, rbac allowed +1",
    }
}

pub(super) async fn hidden_calls(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let spec = &ctx.fleet.spec;
    if spec.calls.is_empty() {
        return vec![ctx.not_run(
            "-",
            "a call the graph does not show, made through the caller's sidecar",
            "no call given (--call FROM:TO)".into(),
        )];
    }
    let mut out = Vec::new();
    for call in &spec.calls {
        let (Some(caller), Some(callee)) = (spec.service(&call.from), spec.service(&call.to))
        else {
            continue;
        };
        out.push(one(ctx, call, caller, callee).await);
    }
    out
}

async fn one(
    ctx: &Ctx<'_>,
    call: &CallSpec,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
) -> ScenarioResult {
    let spec = &ctx.fleet.spec;
    let in_graph = spec
        .edges
        .iter()
        .any(|e| e.from == call.from && e.to == call.to);
    let subject = format!(
        "{} -> {} ({})",
        caller.name,
        callee.name,
        if in_graph {
            "an edge of the graph now"
        } else {
            "not in the graph"
        }
    );
    if !call.imported && ctx.fleet.istiod.is_some() {
        return ctx.not_run(
            &subject,
            expectation(&outcome(ctx, call, caller, callee)),
            crate::istiod::PASSTHROUGH_NOT_COVERED.into(),
        );
    }
    ctx.start(&subject);
    let outcome = outcome(ctx, call, caller, callee);
    let expected = expectation(&outcome).to_string();
    let rbac = RbacCounters::of(callee);
    let callee_marks = log_marks(ctx, &callee.name);
    let caller_marks = log_marks(ctx, &caller.name);
    let before = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let reply = ctx.call(caller, callee, Vec::new()).await;
    let after = ctx.service_stats(&callee.name, &rbac.filter()).await;
    let host = fqdn(callee);
    let sent = logged_after(ctx, &caller.name, &caller_marks, |e| {
        field(e, "authority") == Some(host.as_str())
    })
    .await;
    let received = logged_after(ctx, &callee.name, &callee_marks, |e| {
        field(e, "authority") == Some(host.as_str())
    })
    .await;
    let (Ok(before), Ok(after)) = (before, after) else {
        return ctx.broken(
            &subject,
            expected,
            "could not read the callee's admin counters".into(),
        );
    };
    let counts = rbac.deltas(&before, &after);
    let answer = match &reply {
        Ok(r) => describe(r),
        Err(e) => format!("no answer ({e})"),
    };
    let route = sent
        .as_ref()
        .and_then(|e| field(e, "upstream_cluster"))
        .unwrap_or("-");
    let measured = format!(
        "{answer} via {route}, rbac allowed +{} denied +{}, shadow allowed +{} denied +{}, {}",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        dry_run_fields(received.as_ref())
    );
    let served = reply.as_ref().is_ok_and(|r| r.ok());
    let failure = judge(call, caller, callee, &outcome, served, counts);
    ctx.finish(&subject, expected, measured, failure)
}

/// Why the call failed or the counters disagree with the policy; `None` when all is as it
/// should be.
fn judge(
    call: &CallSpec,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
    outcome: &Outcome,
    served: bool,
    [allowed, denied, shadow_allowed, shadow_denied]: [u64; 4],
) -> Option<String> {
    let (from, to) = (&caller.name, &callee.name);
    match outcome {
        Outcome::Refused => Some(format!(
            "{from}'s Sidecar does not import {to}: the call leaves through PassthroughCluster in \
             plaintext and {to}'s STRICT port closes it; {from}'s Sidecar egress must list {to}"
        )),
        Outcome::Denied => Some(format!(
            "{to}'s AuthorizationPolicy is enforced and does not list {from}{}: the call {from} \
             makes in code is denied ({}rbac denied +{denied}); learn it from traffic (map \
             --traffic) or list {from} as a caller in the policy file",
            if call.imported {
                ""
            } else {
                " (through PassthroughCluster it carries no identity)"
            },
            if served { "yet served, " } else { "403, " },
        )),
        Outcome::Served { .. } if !served => Some(format!(
            "{from} -> {to} failed although {to}'s policy admits it"
        )),
        Outcome::Served { shadow: Some(true) } if shadow_allowed != 1 => {
            Some("served, but Envoy counted no shadow allow".into())
        }
        Outcome::Served {
            shadow: Some(false),
        } if shadow_denied != 1 => {
            Some("served, but Envoy did not record the shadow denial".into())
        }
        Outcome::Served { shadow: None } if allowed != 1 => {
            Some("served, but RBAC counted no allowed request".into())
        }
        Outcome::Served { .. } => None,
    }
}
