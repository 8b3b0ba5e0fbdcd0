//! Rule MS340 `conflicting-mesh-virtual-services`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS340`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::rules::host_not_in_gateway::hosts_match;
use crate::check::visibility::{export_to, fqdn};
use crate::check::Context;
use crate::model::{Finding, IstioResource, Node};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it does
    /// Reports VirtualServices for the sidecars (no `gateways`, or `mesh` among them) that
    /// define the same host as another such VirtualService visible in the same namespaces:
    /// both exported everywhere, both to one namespace, or one everywhere and the other
    /// matching its host.
    ///
    /// ## Why it matters
    /// Istio merges only VirtualServices bound to gateways. For the sidecars it picks one of
    /// the two, so the other's timeouts, retries and routes silently do not apply, and
    /// which one wins can change. Generating a VirtualService for a host that already has a
    /// hand-written one does exactly this.
    ///
    /// ## Example
    /// ```yaml
    /// kind: VirtualService
    /// metadata: {name: orders, namespace: shop}
    /// spec: {hosts: [orders]}
    /// ---
    /// kind: VirtualService
    /// metadata: {name: orders-canary, namespace: shop}
    /// spec: {hosts: [orders.shop.svc.cluster.local]}    # the same host
    /// ```
    ///
    /// ## Fix
    /// Merge the two into one VirtualService per host (rules of both, most specific first).
    ///
    /// ## istioctl
    /// `virtualservice.ConflictingMeshGatewayHostsAnalyzer` (IST0109).
    pub struct ConflictingMeshVirtualServices {
        code: "MS340",
        name: "conflicting-mesh-virtual-services",
        severity: Error,
        istio: Some("IST0109"),
    }
}

fn for_sidecars(vs: &IstioResource) -> bool {
    let gateways = vs.spec().at("gateways").as_seq();
    gateways.is_empty() || gateways.iter().any(|g| g.as_str() == Some("mesh"))
}

/// The scopes a VirtualService's hosts are seen in: `*`, or the namespaces it is exported to.
fn scopes(vs: &IstioResource) -> BTreeSet<String> {
    let listed = export_to(vs.spec());
    if listed.is_empty() || listed.contains(&"*") {
        return BTreeSet::from(["*".to_string()]);
    }
    listed
        .iter()
        .map(|e| {
            if *e == "." {
                vs.namespace.to_string()
            } else {
                e.to_string()
            }
        })
        .collect()
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    // (scope, host) -> the VirtualServices defining it.
    let mut defined: BTreeMap<(String, String), Vec<&IstioResource>> = BTreeMap::new();
    for vs in ctx
        .index
        .istio_kind("VirtualService")
        .filter(|v| for_sidecars(v))
    {
        for scope in scopes(vs) {
            for host in vs
                .spec()
                .at("hosts")
                .as_seq()
                .iter()
                .filter_map(Node::as_str)
            {
                let key = (scope.clone(), fqdn(&vs.namespace, host));
                let list = defined.entry(key).or_default();
                if !list.iter().any(|v| std::ptr::eq(*v, vs)) {
                    list.push(vs);
                }
            }
        }
    }
    let mut reported = BTreeSet::new();
    for ((scope, host), list) in &defined {
        let mut all: Vec<&IstioResource> = list.clone();
        if scope != "*" {
            for ((other_scope, other_host), others) in &defined {
                if other_scope == "*" && hosts_match(host, other_host) {
                    for o in others {
                        if !all.iter().any(|a| std::ptr::eq(*a, *o)) {
                            all.push(o);
                        }
                    }
                }
            }
        }
        if all.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = all
            .iter()
            .map(|v| format!("{}/{}", v.namespace, v.name))
            .collect();
        names.sort();
        for vs in &all {
            if !reported.insert((vs.namespace.as_str(), vs.name.as_str())) {
                continue;
            }
            out.push(ConflictingMeshVirtualServices::META.finding(
                resource_label(vs),
                Some(vs.origin()),
                format!(
                    "VirtualServices {} all define host {host} for the sidecars{}; only one \
                     of them applies",
                    names.join(", "),
                    if scope == "*" {
                        String::new()
                    } else {
                        format!(" of namespace {scope}")
                    }
                ),
                "merge them into one VirtualService per host",
            ));
        }
    }
}
