//! Rule MS322 `authorization-blocks-edge`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS322`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{node_label, resource_label, workload_in_mesh};
use crate::check::macros::declare_rule;
use crate::check::reachability::{Evaluator, Identity, Verdict};
use crate::check::Context;
use crate::model::{Edge, Finding, MeshService, WorkloadRef};

declare_rule! {
    /// ## What it does
    /// Evaluates the AuthorizationPolicies that apply to each callee (root-namespace,
    /// namespace-wide and selector policies; DENY before ALLOW; no ALLOW policy means allow
    /// all; an ALLOW policy without rules allows nothing) for every edge of the service graph,
    /// and reports edges whose caller identity is denied. Callees without a sidecar enforce
    /// no policy and are skipped; callers without a sidecar present no identity (MS325 checks
    /// them). A workload named by a generated ServiceAccount is evaluated as that account.
    ///
    /// ## Why it matters
    /// A call the application makes today gets `403 RBAC: access denied` from the moment the
    /// policy is applied: the policy is wrong, not the caller.
    ///
    /// ## Example
    /// `orders` calls `payments`, but the only ALLOW policy on `payments` admits
    /// `cluster.local/ns/edge/sa/api-gateway`.
    ///
    /// ## Fix
    /// Add the caller's principal (`<trust-domain>/ns/<ns>/sa/<account>`) to an ALLOW rule,
    /// or narrow the DENY rule that matches it.
    pub struct AuthorizationBlocksEdge {
        code: "MS322",
        name: "authorization-blocks-edge",
        severity: Error,
        istio: None,
    }
}

/// The distinct identities a node's workloads present: the accounts of those with a
/// sidecar (a workload without one presents none; MS325 covers it), each as the account
/// it runs as once the generated configuration is applied (see [`Index::account_of`]).
///
/// [`Index::account_of`]: crate::check::Index::account_of
pub fn identities(ctx: &Context, node: &MeshService) -> Vec<Identity> {
    let ns = &node.id.namespace;
    let mut ids: Vec<Identity> = node
        .workloads
        .iter()
        .filter(|w| workload_in_mesh(&ctx.index, ns, w))
        .map(|w| Identity::new(ns, ctx.index.account_of(ns, w)))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The workload port an edge reaches: the Service port's target port when known.
pub fn workload_port(callee: &MeshService, edge: &Edge) -> Option<u16> {
    let port = edge
        .port
        .or_else(|| callee.primary_port().map(|p| p.port))?;
    Some(
        callee
            .port(port)
            .and_then(|p| p.target_port)
            .unwrap_or(port),
    )
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let evaluator = Evaluator::new(&ctx.index, ctx.config);
    for edge in &ctx.topology.edges {
        let (Some(caller), Some(callee)) = (
            ctx.topology.service(&edge.from),
            ctx.topology.service(&edge.to),
        ) else {
            continue;
        };
        let port = workload_port(callee, edge);
        let in_mesh = |w: &&WorkloadRef| workload_in_mesh(&ctx.index, &callee.id.namespace, w);
        let denied = callee.workloads.iter().filter(in_mesh).find_map(|w| {
            let applicable = evaluator.applicable(&callee.id.namespace, &w.pod_labels);
            identities(ctx, caller).into_iter().find_map(|id| {
                match evaluator.decide(&applicable, &id, port) {
                    Verdict::Denied(by) => Some((id, by, applicable.first().copied())),
                    Verdict::Allowed(_) => None,
                }
            })
        });
        let Some((id, by, first)) = denied else {
            continue;
        };
        let (resource, origin, why) = match (by, first) {
            (Some(p), _) => (
                resource_label(p),
                p.origin(),
                "a DENY rule matches it".to_string(),
            ),
            (None, Some(p)) => (
                resource_label(p),
                p.origin(),
                "no ALLOW rule admits it".to_string(),
            ),
            (None, None) => (
                node_label(callee),
                callee.origin.clone(),
                "it is denied".to_string(),
            ),
        };
        // Policies see the pod's port; say so when the Service port differs.
        let port_text = match (edge.port, port) {
            (Some(svc), Some(pod)) if svc != pod => {
                format!(" on Service port {svc} (pod port {pod})")
            }
            (_, Some(pod)) => format!(" on port {pod}"),
            _ => String::new(),
        };
        out.push(AuthorizationBlocksEdge::META.finding(
            resource,
            Some(origin),
            format!(
                "{} calls {}{port_text}, but {why} for {}/sa/{}",
                edge.from, edge.to, id.namespace, id.service_account
            ),
            format!(
                "allow `{}/ns/{}/sa/{}` in an ALLOW rule for {}",
                ctx.config.trust_domain, id.namespace, id.service_account, edge.to
            ),
        ));
    }
}
