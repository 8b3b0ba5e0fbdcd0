//! Rule MS306 `unknown-destination-subset`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS306`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{destinations, resolve_host, resource_label, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::check::Index;
use crate::model::{Finding, Node};

declare_rule! {
    /// ## What it does
    /// Reports VirtualService destinations naming a `subset` that no DestinationRule for the
    /// same host defines.
    ///
    /// ## Why it matters
    /// Envoy has no cluster for an undefined subset; requests on that route fail with 503
    /// (`NR`) until a DestinationRule defines it, and applying the VirtualService before the
    /// DestinationRule breaks traffic during a rollout.
    ///
    /// ## Example
    /// ```yaml
    /// destination:
    ///   host: catalog
    ///   subset: v2            # the DestinationRule defines only v1
    /// ```
    ///
    /// ## Fix
    /// Define the subset in the host's DestinationRule (`subsets: [{name: v2, labels: ...}]`)
    /// or route to an existing one.
    ///
    /// ## istioctl
    /// `virtualservice.DestinationRuleAnalyzer` (IST0101 "Referenced host+subset in
    /// destinationrule not found").
    pub struct UnknownDestinationSubset {
        code: "MS306",
        name: "unknown-destination-subset",
        severity: Error,
        istio: Some("IST0101"),
    }
}

/// The same target: the same Service, or the same host text when no Service is behind it.
fn same_target(index: &Index, a: (&str, &str), b: (&str, &str)) -> bool {
    match (resolve_host(index, a.0, a.1), resolve_host(index, b.0, b.1)) {
        (HostRef::Service(x), HostRef::Service(y)) => {
            x.namespace == y.namespace && x.name == y.name
        }
        _ => a.0.eq_ignore_ascii_case(b.0),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let rules: Vec<_> = ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "DestinationRule")
        .collect();
    for vs in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        for (dest, at) in destinations(vs.spec()) {
            let (Some(host), Some(subset)) = (dest.at("host").as_str(), dest.at("subset").as_str())
            else {
                continue;
            };
            let defined = rules.iter().any(|dr| {
                dr.spec().at("host").as_str().is_some_and(|dr_host| {
                    same_target(&ctx.index, (host, &vs.namespace), (dr_host, &dr.namespace))
                }) && dr
                    .spec()
                    .at("subsets")
                    .as_seq()
                    .iter()
                    .any(|s| s.at("name").as_str() == Some(subset))
            });
            if defined {
                continue;
            }
            out.push(UnknownDestinationSubset::META.finding(
                resource_label(vs),
                Some(vs.origin_at(subset_node(dest))),
                format!(
                    "{at}: subset `{subset}` of `{host}` is not defined by any DestinationRule"
                ),
                format!("define subset `{subset}` in the DestinationRule for `{host}`"),
            ));
        }
    }
}

fn subset_node(dest: &Node) -> &Node {
    dest.get("subset").unwrap_or(dest)
}
