//! Rule MS325 `sidecarless-caller-locked-out`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS325`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{namespace_opted_out, resource_label, sidecar_choice, workload_in_mesh};
use crate::check::macros::declare_rule;
use crate::check::mtls::{accepts_plaintext_on, effective_mode};
use crate::check::reachability::{Evaluator, Verdict};
use crate::check::rules::authorization_blocks_edge::workload_port;
use crate::check::Context;
use crate::model::{Edge, Finding, MeshService, Origin, WorkloadRef};

declare_rule! {
    /// ## What it does
    /// For every edge of the service graph whose caller has a workload that opted out of the
    /// mesh (`sidecar.istio.io/inject: "false"` as a pod label or annotation, or its
    /// namespace labelled `istio-injection=disabled`) or that Istio never injects (pods on
    /// their node's network, `hostNetwork: true`), reports the callee when its
    /// configuration refuses that caller's plain-text requests on the port the edge uses:
    /// STRICT mutual TLS there (workload, namespace or mesh-wide, port-level modes
    /// included), or enforced AuthorizationPolicies that do not admit a request without an
    /// identity on that port.
    ///
    /// ## Why it matters
    /// A workload without a sidecar has no certificate, so it can never present a principal:
    /// listing its ServiceAccount in an ALLOW rule does not let it in, and STRICT closes its
    /// connections. The call it makes today fails from the moment the configuration is
    /// applied, and nothing but turning injection on (which it opted out of) fixes it.
    ///
    /// ## Example
    /// `orders` says `sidecar.istio.io/inject: "false"` and calls `payments` on 8080; a
    /// mesh-wide PeerAuthentication is STRICT, or `payments` allows only
    /// `cluster.local/ns/shop/sa/orders`.
    ///
    /// ## Fix
    /// Keep the callee PERMISSIVE, with a `meshsmith.dev/mtls-reason` annotation naming the
    /// caller, and admit requests without identity on the ports that caller uses only: an
    /// ALLOW rule `from: [{source: {notPrincipals: ["*"]}}]` with `to: [{operation: {ports:
    /// ["8080"]}}]` (what `meshsmith generate` writes). Or mesh the caller, if its opt-out
    /// can go.
    pub struct SidecarlessCallerLockedOut {
        code: "MS325",
        name: "sidecarless-caller-locked-out",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let evaluator = Evaluator::new(&ctx.index, ctx.config);
    for edge in ctx.topology.edges.iter().filter(|e| e.from != e.to) {
        let (Some(caller), Some(callee)) = (
            ctx.topology.service(&edge.from),
            ctx.topology.service(&edge.to),
        ) else {
            continue;
        };
        let ns = caller.id.namespace.as_str();
        let Some(outside) = caller
            .workloads
            .iter()
            .find(|w| !workload_in_mesh(&ctx.index, ns, w))
        else {
            continue;
        };
        if let Some(f) = refusal(ctx, &evaluator, edge, callee, outside) {
            out.push(f);
        }
    }
}

/// The finding for the first of the callee's workloads that refuses the caller's plain
/// text on the edge's port, if one does.
fn refusal(
    ctx: &Context,
    evaluator: &Evaluator,
    edge: &Edge,
    callee: &MeshService,
    outside: &WorkloadRef,
) -> Option<Finding> {
    let ns = callee.id.namespace.as_str();
    let port = workload_port(callee, edge);
    callee
        .workloads
        .iter()
        .filter(|w| workload_in_mesh(&ctx.index, ns, w))
        .find_map(|w| {
            let effective =
                effective_mode(&ctx.index, &ctx.config.root_namespace, ns, &w.pod_labels);
            if !accepts_plaintext_on(&effective, port) {
                let (resource, origin) = match effective.policy {
                    Some(pa) => (resource_label(pa), pa.origin()),
                    None => (workload_label(ns, w), w.origin.clone()),
                };
                return Some((
                    resource,
                    origin,
                    "takes only mutual TLS (STRICT)".to_string(),
                ));
            }
            let applicable = evaluator.applicable(ns, &w.pod_labels);
            match evaluator.decide_without_identity(&applicable, port) {
                Verdict::Allowed(_) => None,
                Verdict::Denied(Some(p)) => Some((
                    resource_label(p),
                    p.origin(),
                    "a DENY rule matches requests without an identity".to_string(),
                )),
                Verdict::Denied(None) => applicable.first().map(|p| {
                    (
                        resource_label(p),
                        p.origin(),
                        "no ALLOW rule admits a request without an identity".to_string(),
                    )
                }),
            }
        })
        .map(|(resource, origin, why): (String, Origin, String)| {
            let on = port.map(|p| format!(" on port {p}")).unwrap_or_default();
            SidecarlessCallerLockedOut::META.finding(
                resource,
                Some(origin),
                format!(
                    "{} calls {}{on}, but its {} has no sidecar ({}), so it can present no \
                     identity, and {} {why}",
                    edge.from,
                    edge.to,
                    workload_label(&edge.from.namespace, outside),
                    opt_out(ctx, &edge.from.namespace, outside),
                    edge.to
                ),
                format!(
                    "keep {} PERMISSIVE with a meshsmith.dev/mtls-reason naming {}, and admit \
                     requests without identity{on} only (`notPrincipals: [\"*\"]`)",
                    edge.to, edge.from
                ),
            )
        })
}

fn workload_label(ns: &str, w: &WorkloadRef) -> String {
    format!("{} {ns}/{}", w.kind.as_str(), w.name)
}

/// What keeps the workload out of the mesh, as written.
fn opt_out(ctx: &Context, ns: &str, w: &WorkloadRef) -> String {
    if namespace_opted_out(&ctx.index, ns) {
        format!("namespace {ns} is labelled istio-injection=disabled")
    } else if w.host_network {
        "its pods use their node's network (hostNetwork: true), which Istio never injects"
            .to_string()
    } else if sidecar_choice(w) == Some(false) && w.pod_labels.contains_key(INJECT) {
        format!("pod label {INJECT}: \"false\"")
    } else {
        format!("pod annotation {INJECT}: \"false\"")
    }
}

const INJECT: &str = "sidecar.istio.io/inject";
