//! Who may talk to whom: allowed edges, an unknown identity, STRICT and PERMISSIVE ports.
//!
//! Judged by the callee sidecar's counters under its inbound stat prefix
//! (`http.inbound_0.0.0.0_<port>.`): `rbac.allowed|denied` for an enforced AuthorizationPolicy,
//! `rbac.istio_dry_run_allow_.shadow_allowed|shadow_denied` for a dry-run one,
//! `listener.<addr>.no_filter_chain_match` for plaintext reaching a port with no plaintext
//! chain, and `downstream_rq_completed` with no TLS handshake for plaintext served. An unknown
//! identity against a dry-run policy is the `dry-run` scenario's, not this one's.

use super::{describe, Ctx, RbacCounters};
use crate::client::{self, Reply};
use crate::fleet::fqdn;
use crate::report::ScenarioResult;
use crate::spec::{MtlsMode, Protocol, ServiceSpec};

pub(super) async fn allowed_edges(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let spec = &ctx.fleet.spec;
    let mut out = Vec::new();
    for edge in &spec.edges {
        let (Some(caller), Some(callee)) = (spec.service(&edge.from), spec.service(&edge.to))
        else {
            continue;
        };
        let subject = format!("{} -> {}", caller.name, callee.name);
        ctx.start(&subject);
        let caller_id = spec.spiffe_id(caller);
        let mut expected = match callee.protocol {
            Protocol::Http => format!("HTTP 200 as {caller_id}"),
            Protocol::Grpc => format!("grpc-status 0 as {caller_id}"),
        };
        if callee.dry_run {
            expected.push_str(", shadow allowed +1 (dry-run policy)");
        }
        let rbac = RbacCounters::of(callee);
        let before = ctx.service_stats(&callee.name, &rbac.filter()).await;
        let reply = ctx.call(caller, callee, Vec::new()).await;
        let after = ctx.service_stats(&callee.name, &rbac.filter()).await;
        let (Ok(before), Ok(after)) = (before, after) else {
            out.push(ctx.broken(
                &subject,
                expected,
                "could not read the callee's admin counters".into(),
            ));
            continue;
        };
        let counts = rbac.deltas(&before, &after);
        let result = match reply {
            Err(e) => ctx.finish(
                &subject,
                expected,
                format!("no answer: {e}"),
                Some(format!("{subject}: the call did not complete")),
            ),
            Ok(reply) => {
                let (measured, failure) = judge_edge(ctx, caller, callee, &reply, counts);
                ctx.finish(&subject, expected, measured, failure)
            }
        };
        out.push(result);
    }
    out
}

/// How an allowed edge's answer reads, and what in the policy broke if it failed.
fn judge_edge(
    ctx: &Ctx<'_>,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
    reply: &Reply,
    [allowed, denied, shadow_allowed, shadow_denied]: [u64; 4],
) -> (String, Option<String>) {
    let spec = &ctx.fleet.spec;
    let caller_id = spec.spiffe_id(caller);
    let subject = format!("{} -> {}", caller.name, callee.name);
    let peer = reply.app_field("peer").unwrap_or_default();
    let counters = if callee.dry_run {
        format!("shadow allowed +{shadow_allowed} denied +{shadow_denied}")
    } else {
        format!("rbac allowed +{allowed} denied +{denied}")
    };
    let measured = format!(
        "{} as {}, {counters}",
        describe(reply),
        if peer.is_empty() { "-" } else { &peer }
    );
    let failure = if denied > 0 {
        Some(format!(
            "{}'s AuthorizationPolicy does not allow caller {} ({}): RBAC denied the edge",
            callee.name,
            caller.name,
            spec.principal(caller)
        ))
    } else if shadow_denied > 0 {
        Some(format!(
            "{}'s dry-run AuthorizationPolicy does not list caller {} ({}): enforced, it would \
             deny the edge",
            callee.name,
            caller.name,
            spec.principal(caller)
        ))
    } else if !reply.ok() {
        Some(format!(
            "{subject} failed with {} (no RBAC denial)",
            describe(reply)
        ))
    } else if peer != caller_id {
        Some(format!(
            "{} saw caller identity `{peer}`, expected `{caller_id}`",
            callee.name
        ))
    } else if callee.dry_run && shadow_allowed == 0 {
        Some("the request was served but RBAC recorded no shadow result".into())
    } else if !callee.dry_run && allowed == 0 {
        Some("the request was served but RBAC counted no allowed request".into())
    } else {
        None
    };
    (measured, failure)
}

pub(super) async fn unauthorized(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let fleet = ctx.fleet;
    let mut out = Vec::new();
    for callee in fleet.spec.callees().into_iter().filter(|c| !c.dry_run) {
        let subject = format!("{} -> {}", fleet.intruder.spiffe_id, callee.name);
        ctx.start(&subject);
        let expected = "403, rbac denied +1".to_string();
        let Some(port) = fleet.sidecar(&callee.name, 0).and_then(|s| s.inbound) else {
            out.push(ctx.broken(
                &subject,
                expected,
                format!("{} has no inbound listener", callee.name),
            ));
            continue;
        };
        let rbac = RbacCounters::of(callee);
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
        let (Ok(before), Ok(after)) = (before, after) else {
            out.push(ctx.broken(
                &subject,
                expected,
                "could not read the callee's admin counters".into(),
            ));
            continue;
        };
        let denied = after.delta(&before, &rbac.denied());
        let result = match reply {
            Err(e) => ctx.finish(
                &subject,
                expected,
                format!("no answer: {e}"),
                Some(format!(
                    "mTLS to {} failed before authorization: {e}",
                    callee.name
                )),
            ),
            Ok(reply) => {
                let measured = format!("{}, rbac denied +{denied}", describe(&reply));
                let failure = if reply.status == 403 && denied == 1 {
                    None
                } else if reply.status == 403 {
                    Some(format!("403 but RBAC denied counter moved by {denied}"))
                } else {
                    Some(format!(
                        "{} served an identity its AuthorizationPolicy does not name ({})",
                        callee.name,
                        describe(&reply)
                    ))
                };
                ctx.finish(&subject, expected, measured, failure)
            }
        };
        out.push(result);
    }
    out
}

/// Plaintext straight at an inbound port; the counters that moved tell which chain took it:
/// `no_filter_chain_match` when none did, requests completed with no TLS handshake when the
/// plaintext chain served it.
async fn plaintext_probe(
    ctx: &Ctx<'_>,
    service: &ServiceSpec,
) -> Result<(Result<client::Reply, String>, u64, u64), String> {
    let sidecar = ctx.fleet.sidecar(&service.name, 0).ok_or("no sidecar")?;
    let port = sidecar.inbound.ok_or("no inbound listener")?;
    let listener = format!("listener.{}_{}", port.ip(), port.port());
    let no_match = format!("{listener}.no_filter_chain_match");
    let handshakes = format!("{listener}.ssl.handshake");
    let completed = format!(
        "http.{}.downstream_rq_completed",
        crate::bootstrap::inbound_stat_prefix(service.target_port())
    );
    let filter = format!(
        "^({})$",
        [&no_match, &handshakes, &completed]
            .map(|n| super::regex_escape(n))
            .join("|")
    );
    let before = sidecar
        .process
        .stats(&filter)
        .await
        .map_err(|e| e.to_string())?;
    let reply = client::send_plaintext(port, &service.name).await;
    let after = sidecar
        .process
        .stats(&filter)
        .await
        .map_err(|e| e.to_string())?;
    let served = if after.delta(&before, &handshakes) == 0 {
        after.delta(&before, &completed)
    } else {
        0
    };
    Ok((reply, after.delta(&before, &no_match), served))
}

/// (reply, how it reads, no_filter_chain_match delta, plaintext-served delta).
type PlaintextAnswer = (Result<client::Reply, String>, String, u64, u64);

/// A plaintext request to `callee`'s inbound port: the reply, how it reads in the table
/// ("closed" when the connection was refused), and the rejected / plaintext-served counters.
async fn plaintext_answer(ctx: &Ctx<'_>, callee: &ServiceSpec) -> Result<PlaintextAnswer, String> {
    let (reply, rejected, served) = plaintext_probe(ctx, callee).await?;
    let answer = match &reply {
        Ok(r) => describe(r),
        Err(_) => "closed".to_string(),
    };
    Ok((reply, answer, rejected, served))
}

pub(super) async fn strict(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx
        .fleet
        .spec
        .callees()
        .into_iter()
        .filter(|s| !s.external_plaintext)
    {
        let subject = format!("plaintext -> {}", callee.name);
        ctx.start(&subject);
        let expected = "closed, no_filter_chain_match +1".to_string();
        let (reply, answer, rejected, served) = match plaintext_answer(ctx, callee).await {
            Ok(r) => r,
            Err(e) => {
                out.push(ctx.broken(&subject, expected, e));
                continue;
            }
        };
        let measured =
            format!("{answer}, no_filter_chain_match +{rejected}, plaintext served +{served}");
        let failure = if callee.mtls == MtlsMode::Permissive {
            Some(format!(
                "{} is PERMISSIVE but takes no traffic from outside the mesh: plaintext was accepted",
                callee.name
            ))
        } else if rejected != 1 || reply.is_ok() {
            Some(format!(
                "plaintext was not rejected by {}'s STRICT listener",
                callee.name
            ))
        } else {
            None
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}

pub(super) async fn permissive(ctx: &Ctx<'_>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for callee in ctx
        .fleet
        .spec
        .services
        .iter()
        .filter(|s| s.external_plaintext)
    {
        let subject = format!("plaintext -> {}", callee.name);
        ctx.start(&subject);
        let expected = "200 over plaintext, plaintext served +1".to_string();
        let (reply, answer, rejected, served) = match plaintext_answer(ctx, callee).await {
            Ok(r) => r,
            Err(e) => {
                out.push(ctx.broken(&subject, expected, e));
                continue;
            }
        };
        let measured =
            format!("{answer}, plaintext served +{served}, no_filter_chain_match +{rejected}");
        let failure = if callee.mtls == MtlsMode::Strict {
            Some(format!(
                "{} takes plain traffic from outside the mesh (webhook receiver) but its PeerAuthentication is STRICT: plaintext was rejected",
                callee.name
            ))
        } else {
            match &reply {
                Ok(r) if r.status == 403 => Some(format!(
                    "{}'s AuthorizationPolicy has no rule for unauthenticated callers: plaintext got 403",
                    callee.name
                )),
                Ok(r) if r.ok() && served == 1 => None,
                _ => Some(format!("plaintext to {} was not served", callee.name)),
            }
        };
        out.push(ctx.finish(&subject, expected, measured, failure));
    }
    out
}
