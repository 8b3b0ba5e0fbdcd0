//! Rule MS204 `retry-amplification`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS204`, the SARIF rule metadata and the generated docs read it.

use crate::check::graph::Graph;
use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::routes::RouteIndex;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Multiplies the tries (first try plus retries) along every call chain and reports the
    /// end of each chain where one client request can become more requests than the limit
    /// (`retry_amplification_limit`, default 10). Tries come from the callee's VirtualService
    /// (Istio retries twice when a route sets no `retries`), or from the caller's current
    /// settings when there is none. Calls inside a cycle are left to the cycle check.
    ///
    /// ## Why it matters
    /// Retries at every hop multiply: 3 tries at each of three hops is 27 requests on the
    /// last service for one failing request at the top, exactly when that service is already
    /// struggling. This turns one slow dependency into an outage.
    ///
    /// ## Example
    /// `gateway -> orders` 3 tries, `orders -> payments` 3 tries, `payments -> ledger` 2 tries:
    /// 3 x 3 x 2 = 18 requests reach `ledger`.
    ///
    /// ## Fix
    /// Retry at one layer only (usually the one closest to the failure) and set
    /// `retries.attempts: 0` on the others, or lower the attempts along the chain.
    pub struct RetryAmplification {
        code: "MS204",
        name: "retry-amplification",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let graph = Graph::new(ctx.topology);
    let comp = graph.components();
    let routes = RouteIndex::new(&ctx.index);
    let n = graph.nodes.len();
    let mut amp = vec![1u64; n];
    // Best incoming (caller, edge, tries) for each node.
    let mut best: Vec<Option<(usize, usize, u64)>> = vec![None; n];
    for v in graph.caller_order(&comp) {
        for &(w, e) in &graph.out[v] {
            if comp[v] == comp[w] {
                continue;
            }
            let tries = ctx
                .topology
                .edges
                .get(e)
                .and_then(|edge| routes.policy(ctx.topology, edge))
                .map_or(1, |p| p.tries());
            let total = amp[v].saturating_mul(tries);
            if total > amp[w] {
                amp[w] = total;
                best[w] = Some((v, e, tries));
            }
        }
    }
    let limit = u64::from(ctx.config.retry_amplification_limit);
    let extends = |v: usize| {
        graph.out[v]
            .iter()
            .any(|&(w, _)| amp[w] > limit && best[w].is_some_and(|(from, _, _)| from == v))
    };
    for v in (0..n).filter(|&v| amp[v] > limit && !extends(v)) {
        let mut chain = vec![graph.nodes[v].to_string()];
        let mut factors = Vec::new();
        let mut at = v;
        let last_edge = best[v].map(|(_, e, _)| e);
        while let Some((from, _, tries)) = best[at] {
            chain.push(graph.nodes[from].to_string());
            factors.push(tries.to_string());
            at = from;
        }
        chain.reverse();
        factors.reverse();
        let origin = last_edge
            .and_then(|e| ctx.topology.edges.get(e))
            .and_then(|edge| routes.policy(ctx.topology, edge))
            .and_then(|p| p.source.origin());
        let node = ctx.topology.service(graph.nodes[v]);
        out.push(RetryAmplification::META.finding(
            node.map_or_else(|| graph.nodes[v].to_string(), node_label),
            origin,
            format!(
                "one request becomes up to {} requests at {} ({} = {}), above the limit of {limit}",
                amp[v],
                graph.nodes[v],
                chain.join(" -> "),
                factors.join(" x ")
            ),
            "retry at one layer only and set `retries.attempts: 0` elsewhere on the chain",
        ));
    }
}
