//! Rule MS203 `deadline-inversion`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS203`, the SARIF rule metadata and the generated docs read it.

use crate::check::duration::format_seconds;
use crate::check::hosts::node_label;
use crate::check::macros::declare_rule;
use crate::check::routes::RouteIndex;
use crate::check::Context;
use crate::model::{Edge, Finding, QualifiedName};
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it does
    /// Reports a service whose callers give up on it sooner than it gives up on its own
    /// callees: the caller's timeout for `b` is shorter than the time `b` may wait for `c`
    /// (its timeout, retries included). Timeouts come from the callee's VirtualService, or
    /// from the caller's current settings when there is none.
    ///
    /// ## Why it matters
    /// When `c` is slow, `a` has already failed the request while `b` still holds a
    /// connection, a thread and a retry budget for it. The work is wasted and it piles up:
    /// this is how one slow service exhausts the connection pools of everything above it.
    ///
    /// ## Example
    /// `gateway -> orders` times out after 2s, `orders -> payments` after 5s.
    ///
    /// ## Fix
    /// Make timeouts shrink along the call chain: each caller's timeout longer than its
    /// callee's whole budget (timeout x tries), e.g. 5s, then 3s, then 1s.
    pub struct DeadlineInversion {
        code: "MS203",
        name: "deadline-inversion",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let routes = RouteIndex::new(&ctx.index);
    // The longest budget each node spends on any of its own callees, computed once.
    let mut worst: BTreeMap<&QualifiedName, (&Edge, f64)> = BTreeMap::new();
    for e in &ctx.topology.edges {
        let Some(budget) = routes.policy(ctx.topology, e).and_then(|p| p.budget()) else {
            continue;
        };
        let entry = worst.entry(&e.from).or_insert((e, budget));
        if budget > entry.1 {
            *entry = (e, budget);
        }
    }
    for inbound in &ctx.topology.edges {
        let Some(outer) = routes.policy(ctx.topology, inbound) else {
            continue;
        };
        let Some(outer_timeout) = outer.timeout else {
            continue;
        };
        let Some(&(inner, inner_budget)) = worst.get(&inbound.to) else {
            continue;
        };
        if outer_timeout >= inner_budget {
            continue;
        }
        let resource = ctx
            .topology
            .service(&inbound.to)
            .map_or_else(|| inbound.to.to_string(), node_label);
        out.push(DeadlineInversion::META.finding(
            resource,
            outer.source.origin(),
            format!(
                "{} gives up on {} after {} (from {}), but {} may wait {} for {}",
                inbound.from,
                inbound.to,
                format_seconds(outer_timeout),
                outer.source.describe(),
                inbound.to,
                format_seconds(inner_budget),
                inner.to
            ),
            format!(
                "make the timeout for {} longer than {}, or shorten {}'s budget for {}",
                inbound.to,
                format_seconds(inner_budget),
                inbound.to,
                inner.to
            ),
        ));
    }
}
