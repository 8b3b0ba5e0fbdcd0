//! AuthorizationPolicy per workload: ALLOW exactly the identities that call it.
//!
//! In: the graph's edges into each service, the callers' ServiceAccounts, and how the
//! service is exposed. Out: one ALLOW policy per workload listing the callers' principals
//! (`<trust-domain>/ns/<ns>/sa/<sa>`), plus the ingress gateway's principal when a gateway
//! routes to it. A workload nobody calls gets a policy with no rules, which allows nothing.
//! No wildcard principal is ever written. A webhook receiver also admits requests that carry
//! no identity (plain traffic from outside) on its own ports only: an mTLS caller always has
//! an identity, so this never widens what mesh workloads may call.

use super::{selector, unselectable_note, Context, Target};
use crate::model::*;
use std::collections::BTreeMap;

/// A policy is enforced only where the service's callers are known; otherwise it ships in
/// dry-run, with why, unless `--enforce-unverified` says to enforce it anyway.
fn dry_run(
    cx: &Context,
    s: &MeshService,
    reasons: &mut Vec<Reason>,
    notes: &mut Vec<String>,
) -> Option<String> {
    if s.callers.is_known() {
        return None;
    }
    let why = format!(
        "callers {}: {}",
        s.callers.level.as_str(),
        s.callers.summary()
    );
    if cx.options.enforce_unverified {
        notes.push(format!(
            "{}: AuthorizationPolicy ENFORCED although its callers are {} (--enforce-unverified): a caller the graph does not show will be denied",
            s.id,
            s.callers.level.as_str()
        ));
        return None;
    }
    reasons.push(Reason::new(
        format!("metadata.annotations.{DRY_RUN_ANNOTATION}"),
        "true",
        format!("never enforce a guess: {why}; collect traffic (`meshsmith map --traffic`) or confirm the callers in the policy file"),
    ));
    Some(why)
}

pub(crate) fn build(cx: &Context, targets: &[super::Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        let (principals, mut reasons) = allowed(cx, target);
        let mut rules = Vec::new();
        if !principals.is_empty() {
            rules.push(AuthorizationRule {
                from: vec![RuleFrom {
                    source: Source {
                        principals: principals.keys().cloned().collect(),
                        not_principals: Vec::new(),
                    },
                }],
                to: Vec::new(),
            });
        }
        let plain_ports = plain_ports(target);
        let outside = cx
            .outside_plaintext(target)
            .filter(|_| !plain_ports.is_empty());
        if let Some(why) = outside {
            reasons.push(Reason::new(
                format!("spec.rules[{}]", rules.len()),
                format!(
                    "requests without identity to ports {}",
                    plain_ports.join(",")
                ),
                format!("outside senders have no mesh identity: {}", why.explained()),
            ));
            rules.push(AuthorizationRule {
                from: vec![RuleFrom {
                    source: Source {
                        principals: Vec::new(),
                        // Matches only requests without a peer identity, i.e. not from the mesh.
                        not_principals: vec!["*".to_string()],
                    },
                }],
                to: vec![RuleTo {
                    operation: Operation { ports: plain_ports },
                }],
            });
        }
        if let Some(ingress) = s.exposure.ingress.first() {
            out.notes.push(format!(
                "{}: exposed by a Kubernetes Ingress ({ingress}) whose controller's identity is unknown; \
                 declare it as a caller or its requests will be denied",
                s.id
            ));
        }
        if rules.is_empty() {
            reasons.push(Reason::new(
                "spec.rules",
                "(none)",
                "nobody calls it: allow nothing",
            ));
        }
        for (p, why) in &principals {
            reasons.push(Reason::new(
                "spec.rules[0].from[0].source.principals",
                p,
                why,
            ));
        }
        let dry_run = dry_run(cx, s, &mut reasons, &mut out.notes);
        for w in &s.workloads {
            let Some(sel) = selector(w) else {
                out.notes
                    .push(unselectable_note(s, w, Kind::AuthorizationPolicy));
                continue;
            };
            let spec = AuthorizationPolicySpec {
                selector: sel,
                action: (!rules.is_empty()).then(|| "ALLOW".to_string()),
                rules: rules.clone(),
            };
            let mut res = cx.resource(
                Kind::AuthorizationPolicy,
                &w.name,
                &s.id,
                Spec::AuthorizationPolicy(spec),
            );
            if let Some(why) = &dry_run {
                res.annotations
                    .insert(DRY_RUN_ANNOTATION.to_string(), "true".to_string());
                res.annotations
                    .insert(DRY_RUN_REASON_ANNOTATION.to_string(), why.clone());
            }
            res.reasons = cx.kept(|| reasons.clone());
            out.resources.push(Box::new(res));
        }
    }
}

/// Principals allowed in, each with the edge or exposure that allows it; sorted.
fn allowed(cx: &Context, target: &Target) -> (BTreeMap<String, String>, Vec<Reason>) {
    let s = target.service;
    let mut principals = BTreeMap::new();
    let mut reasons = Vec::new();
    for edge in cx.callers_of(&s.id) {
        if edge.from == s.id {
            continue;
        }
        let Some(caller) = cx.topology.service(&edge.from) else {
            reasons.push(Reason::new(
                "spec.rules",
                &edge.from,
                "caller not in the graph: not allowed",
            ));
            continue;
        };
        let evidence = edge
            .evidence
            .first()
            .map(|e| format!(" ({} at {})", e.detail, e.origin))
            .unwrap_or_default();
        for w in &caller.workloads {
            principals
                .entry(cx.principal(&caller.id.namespace, &w.service_account))
                .or_insert_with(|| format!("{} calls it{evidence}", caller.id));
        }
    }
    if let Some(gateway) = s.exposure.ingress_gateway.first() {
        principals
            .entry(cx.policy.ingress_gateway_principal.clone())
            .or_insert_with(|| format!("routed by the ingress gateway ({gateway})"));
    }
    (principals, reasons)
}

/// The workload ports a webhook receiver takes plain traffic on.
fn plain_ports(target: &Target) -> Vec<String> {
    let mut ports: Vec<u16> = target
        .service
        .ports
        .iter()
        .map(|p| p.target_port.unwrap_or(p.port))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports.iter().map(u16::to_string).collect()
}
