//! Rule MS201 `dependency-cycle`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS201`, the SARIF rule metadata and the generated docs read it.

use crate::check::graph::Graph;
use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports services that call each other in a circle (`a -> b -> c -> a`).
    ///
    /// ## Why it matters
    /// A cycle has no safe timeout order: some caller always waits on a callee that waits on
    /// it. Retries go round the loop and multiply, one slow service stalls every member, and
    /// there is no order in which the members can be rolled out one after the other.
    ///
    /// ## Example
    /// `orders` calls `inventory`, `inventory` calls `pricing`, `pricing` calls `orders`.
    ///
    /// ## Fix
    /// Break the loop: move the shared logic into one service, replace one call with an
    /// event, or pass the data along instead of calling back.
    pub struct DependencyCycle {
        code: "MS201",
        name: "dependency-cycle",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let graph = Graph::new(ctx.topology);
    let comp = graph.components();
    let mut reported = vec![false; graph.nodes.len()];
    // Nodes come in sorted order, so each cycle is reported from its smallest member.
    for start in 0..graph.nodes.len() {
        if reported[comp[start]] {
            continue;
        }
        let cycle = graph.cycle_through(start, &comp);
        if cycle.len() < 2 {
            continue;
        }
        reported[comp[start]] = true;
        let names: Vec<String> = cycle
            .iter()
            .chain(std::iter::once(&start))
            .map(|&i| graph.nodes[i].to_string())
            .collect();
        let node = ctx.topology.service(graph.nodes[start]);
        let edge = graph.out[start]
            .iter()
            .find(|(to, _)| Some(to) == cycle.get(1))
            .and_then(|&(_, e)| ctx.topology.edges.get(e));
        let origin = edge
            .and_then(|e| e.evidence.first().map(|ev| ev.origin.clone()))
            .or_else(|| node.map(|n| n.origin.clone()));
        out.push(DependencyCycle::META.finding(
            node.map_or_else(|| graph.nodes[start].to_string(), node_label),
            origin,
            format!("call cycle: {}", names.join(" -> ")),
            "break the cycle: merge the shared logic, or replace one call with an event",
        ));
    }
}
