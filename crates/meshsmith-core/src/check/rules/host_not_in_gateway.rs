//! Rule MS332 `host-not-in-gateway`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS332`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::rules::unknown_gateway::{gateway_ref, judged};
use crate::check::Context;
use crate::model::{Finding, IstioResource, Node};

declare_rule! {
    /// ## What it does
    /// Reports VirtualServices bound to a Gateway none of whose servers' `hosts` covers any
    /// of the VirtualService's `hosts`, as seen from the VirtualService's namespace (`ns/host`
    /// entries count only for that namespace, `*` and `*.example.com` cover what they
    /// match). A Gateway missing where MS331 judges it serves no host either.
    ///
    /// ## Why it matters
    /// The Gateway never hands the VirtualService a request: clients get 404 from the
    /// ingress gateway for those hosts.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// spec:
    ///   servers: [{hosts: [shop.example.com], port: {number: 80, name: http, protocol: HTTP}}]
    /// ---
    /// kind: VirtualService
    /// spec:
    ///   hosts: [api.example.com]            # the Gateway does not serve it
    ///   gateways: [public-gateway]
    /// ```
    ///
    /// ## Fix
    /// Add the host to a server of the Gateway, or bind the VirtualService to the Gateway
    /// that serves it.
    ///
    /// ## istioctl
    /// `virtualservice.GatewayAnalyzer` (IST0132).
    pub struct HostNotInGateway {
        code: "MS332",
        name: "host-not-in-gateway",
        severity: Warning,
        istio: Some("IST0132"),
    }
}

/// Istio's host matching: equal names, or a wildcard (`*`, `*.example.com`) covering the
/// other (when both are wildcards, the shorter covers the longer).
pub fn hosts_match(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (Some(sa), Some(sb)) => {
            if a.len() < b.len() {
                sb.ends_with(sa)
            } else {
                sa.ends_with(sb)
            }
        }
        (Some(sa), None) => b.ends_with(sa),
        (None, Some(sb)) => a.ends_with(sb),
        (None, None) => a.eq_ignore_ascii_case(b),
    }
}

/// The hosts a Gateway serves to VirtualServices of `namespace`: `./h` is the Gateway's
/// namespace, `*/h` any, and an entry for another namespace is left out.
fn served_hosts<'a>(gateway: &'a IstioResource, namespace: &str) -> Vec<&'a str> {
    let mut hosts = Vec::new();
    for server in gateway.spec().at("servers").as_seq() {
        for host in server.at("hosts").as_seq().iter().filter_map(Node::as_str) {
            match host.split_once('/') {
                Some((".", h)) if gateway.namespace == namespace => hosts.push(h),
                Some(("*", h)) => hosts.push(h),
                Some((ns, h)) if ns == namespace => hosts.push(h),
                Some(_) => {}
                None => hosts.push(host),
            }
        }
    }
    hosts
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx.index.istio_kind("VirtualService") {
        let vs_hosts: Vec<&str> = vs
            .spec()
            .at("hosts")
            .as_seq()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        for entry in vs.spec().at("gateways").as_seq() {
            let Some((namespace, name)) = entry.as_str().and_then(|e| gateway_ref(vs, e)) else {
                continue;
            };
            let gateway = ctx
                .index
                .istio("Gateway", namespace)
                .iter()
                .find(|g| g.name == name);
            let served = match gateway {
                Some(gateway) => served_hosts(gateway, &vs.namespace),
                // A Gateway that is not there serves nothing (MS331 says it is missing).
                None if judged(ctx, vs, namespace) => Vec::new(),
                None => continue,
            };
            if served
                .iter()
                .any(|g| vs_hosts.iter().any(|h| hosts_match(g, h)))
            {
                continue;
            }
            out.push(HostNotInGateway::META.finding(
                resource_label(vs),
                Some(vs.origin_at(entry)),
                match gateway {
                    Some(_) => format!(
                        "Gateway {namespace}/{name} serves none of the hosts {} to namespace {}",
                        vs_hosts.join(", "),
                        vs.namespace
                    ),
                    None => format!(
                        "nothing serves the hosts {}: Gateway {namespace}/{name} does not exist",
                        vs_hosts.join(", ")
                    ),
                },
                "add the host to a server of the Gateway, or bind the VirtualService to the \
                 Gateway that serves it",
            ));
        }
    }
}
