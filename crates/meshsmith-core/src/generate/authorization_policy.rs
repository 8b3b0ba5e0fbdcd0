//! AuthorizationPolicy per workload: ALLOW exactly the identities that call it, on the ports
//! each calls.
//!
//! In: the graph's edges into each service, the accounts its callers present (their own
//! where they shared one, see `service_account`), and how the service is exposed. Out: one
//! ALLOW policy per workload with a rule per set of ports: the callers' principals
//! (`<trust-domain>/ns/<ns>/sa/<sa>`) that call those workload (target) ports, plus the
//! ingress gateway's principal on the service's ports when a gateway routes to it. A
//! workload nobody calls gets a policy with no rules, which allows nothing. No wildcard
//! principal is ever written. Requests that carry no identity (`notPrincipals: ["*"]`) are
//! admitted only where they must be, on those ports only: a webhook receiver's or a directly
//! exposed workload's own ports, and the ports a caller without a sidecar uses. An mTLS
//! caller always has an identity, so this never widens what mesh workloads may call.

use super::outside::edge_ports;
use super::{selector, unselectable_note, Context, Target};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

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

/// Principals by the workload ports they are admitted on, each with the edge or exposure
/// that admits it.
type ByPorts = BTreeMap<BTreeSet<u16>, BTreeMap<String, String>>;

pub(crate) fn build(cx: &Context, targets: &[super::Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        let (by_ports, mut reasons) = allowed(cx, target);
        let mut rules = Vec::new();
        for (ports, principals) in &by_ports {
            let i = rules.len();
            for (p, why) in principals {
                reasons.push(Reason::new(
                    format!("spec.rules[{i}].from[0].source.principals"),
                    p,
                    why,
                ));
            }
            if !ports.is_empty() {
                reasons.push(Reason::new(
                    format!("spec.rules[{i}].to[0].operation.ports"),
                    port_list(ports).join(","),
                    "the workload ports these callers use, and no other (management and metrics ports stay closed)",
                ));
            }
            rules.push(rule(
                principals.keys().cloned().collect(),
                Vec::new(),
                ports,
            ));
        }
        if let Some((ports, why)) = without_identity(cx, target) {
            reasons.push(Reason::new(
                format!("spec.rules[{}]", rules.len()),
                format!(
                    "requests without identity to ports {}",
                    port_list(&ports).join(",")
                ),
                why,
            ));
            // Matches only requests without a peer identity, i.e. not from the mesh.
            rules.push(rule(Vec::new(), vec!["*".to_string()], &ports));
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
        let dry_run = dry_run(cx, s, &mut reasons, &mut out.notes);
        emit(cx, s, rules, reasons, dry_run, out);
    }
}

fn rule(
    principals: Vec<String>,
    not_principals: Vec<String>,
    ports: &BTreeSet<u16>,
) -> AuthorizationRule {
    let to = if ports.is_empty() {
        Vec::new()
    } else {
        vec![RuleTo {
            operation: Operation {
                ports: port_list(ports),
            },
        }]
    };
    AuthorizationRule {
        from: vec![RuleFrom {
            source: Source {
                principals,
                not_principals,
            },
        }],
        to,
    }
}

fn port_list(ports: &BTreeSet<u16>) -> Vec<String> {
    ports.iter().map(u16::to_string).collect()
}

/// One policy per selectable workload of the service.
fn emit(
    cx: &Context,
    s: &MeshService,
    rules: Vec<AuthorizationRule>,
    reasons: Vec<Reason>,
    dry_run: Option<String>,
    out: &mut MeshConfig,
) {
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

/// Principals allowed in, grouped by the workload ports each may call, each with the edge
/// or exposure that allows it. A caller's workload without a sidecar has no principal to
/// list: [`without_identity`] admits it.
fn allowed(cx: &Context, target: &Target) -> (ByPorts, Vec<Reason>) {
    let s = target.service;
    let mut by_principal: BTreeMap<String, (BTreeSet<u16>, String)> = BTreeMap::new();
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
        let ns = caller.id.namespace.as_str();
        for w in &caller.workloads {
            if cx.options.sidecarless(ns, w).is_some() {
                continue;
            }
            let account = cx.identities.account(ns, w);
            let entry = by_principal
                .entry(cx.principal(ns, account))
                .or_insert_with(|| (BTreeSet::new(), format!("{} calls it{evidence}", caller.id)));
            entry.0.extend(edge_ports(s, edge));
        }
    }
    if let Some(gateway) = s.exposure.ingress_gateway.first() {
        let ports = service_ports(s);
        let entry = by_principal
            .entry(cx.policy.ingress_gateway_principal.clone())
            .or_insert_with(|| {
                (
                    BTreeSet::new(),
                    format!("routed by the ingress gateway ({gateway})"),
                )
            });
        entry.0.extend(ports);
    }
    let mut by_ports = ByPorts::new();
    for (principal, (ports, why)) in by_principal {
        by_ports.entry(ports).or_default().insert(principal, why);
    }
    (by_ports, reasons)
}

/// Every workload (target) port of the service.
fn service_ports(s: &MeshService) -> BTreeSet<u16> {
    s.ports
        .iter()
        .map(|p| p.target_port.unwrap_or(p.port))
        .collect()
}

/// The workload ports on which requests without an identity are admitted, and why: the
/// service's own ports where plain traffic from outside reaches it directly, and the ports
/// each caller without a sidecar calls.
fn without_identity(cx: &Context, target: &Target) -> Option<(BTreeSet<u16>, String)> {
    let mut ports = BTreeSet::new();
    let mut why = Vec::new();
    let own = service_ports(target.service);
    if let Some(outside) = cx.outside_plaintext(target).filter(|_| !own.is_empty()) {
        why.push(format!(
            "outside senders have no mesh identity: {}",
            outside.explained()
        ));
        ports.extend(own);
    }
    for caller in cx.plain_callers(target) {
        why.push(caller.describe());
        ports.extend(caller.ports.iter().copied());
    }
    (!why.is_empty()).then(|| (ports, why.join("; ")))
}
