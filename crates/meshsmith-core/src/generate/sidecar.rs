//! Sidecar per workload: egress scoped to what it calls, so its proxy only carries the
//! configuration of its dependencies (and of istio-system, for the control plane).
//!
//! In: the graph's edges out of each service and its external calls. Out: one Sidecar per
//! workload; in-cluster callees as `<ns>/<fqdn>` (and each alias the caller names a callee
//! by), external hosts as `<own ns>/<host>`, because their ServiceEntry lives in the
//! caller's namespace (cloud metadata and link-local hosts only where the policy file
//! allows them). Services whose callers are not
//! known are imported by every Sidecar: any workload may be the caller the graph does not
//! show, and a call its Sidecar does not import would leave through the passthrough cluster,
//! in plain text and without an identity.

use super::{fqdn, routable, selector, unselectable_note, Context};
use crate::model::*;
use std::collections::BTreeMap;

pub(crate) fn build(cx: &Context, targets: &[super::Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        let mut hosts: BTreeMap<String, String> = BTreeMap::new();
        hosts.insert(
            "istio-system/*".to_string(),
            "the control plane and gateways".to_string(),
        );
        for edge in cx.callees_of(&s.id) {
            let Some(callee) = cx.topology.service(&edge.to) else {
                continue;
            };
            for (host, why) in callee_hosts(callee, edge) {
                hosts.entry(host).or_insert(why);
            }
        }
        for (host, why) in cx.unverified_hosts(&s.id) {
            hosts.entry(host.clone()).or_insert_with(|| why.clone());
        }
        for call in cx.external_of(&s.id) {
            // An address is no host to import; a restricted host only where allowed.
            let allowed =
                call.restricted.is_none() || cx.policy.egress_allowance(&call.host).is_some();
            if call.host.parse::<std::net::IpAddr>().is_ok() || !allowed {
                continue;
            }
            hosts
                .entry(format!("{}/{}", s.id.namespace, call.host))
                .or_insert_with(|| format!("it calls the external host {}", call.host));
        }
        without_covered(&mut hosts);
        let reasons: Vec<Reason> = hosts
            .iter()
            .map(|(h, why)| Reason::new("spec.egress[0].hosts", h, why))
            .collect();
        for w in &s.workloads {
            let Some(sel) = selector(w) else {
                out.notes.push(unselectable_note(s, w, Kind::Sidecar));
                continue;
            };
            let spec = SidecarSpec {
                workload_selector: SidecarSelector {
                    labels: sel.match_labels,
                },
                egress: vec![EgressListener {
                    hosts: hosts.keys().cloned().collect(),
                }],
            };
            let mut res = cx.resource(Kind::Sidecar, &w.name, &s.id, Spec::Sidecar(spec));
            res.reasons = cx.kept(|| reasons.clone());
            out.resources.push(Box::new(res));
        }
    }
}

/// Drops each host that a wildcard already imports: `<ns>/<host>` beside `<ns>/*`, and
/// everything beside `*/*`. Istio warns of both (IST0133: "duplicated egress host", and
/// "`*/*` host select all resources, no other hosts can be added"), and the wildcard
/// carries the same configuration.
fn without_covered(hosts: &mut BTreeMap<String, String>) {
    let wildcards: Vec<String> = hosts
        .keys()
        .filter_map(|h| h.strip_suffix("/*").map(str::to_string))
        .collect();
    if wildcards.is_empty() {
        return;
    }
    if wildcards.iter().any(|ns| ns == "*") {
        hosts.retain(|host, _| host == "*/*");
        return;
    }
    hosts.retain(|host, _| match host.split_once('/') {
        Some((ns, name)) => name == "*" || !wildcards.iter().any(|w| w == ns),
        None => true,
    });
}

/// The `<ns>/<fqdn>` hosts a caller reaches `callee` by: its own Service, and each alias
/// the caller names it by (a call by an alias's name that the Sidecar did not import would
/// leave through the passthrough cluster, in plain text, and a STRICT callee refuses it).
fn callee_hosts(callee: &MeshService, edge: &Edge) -> Vec<(String, String)> {
    let Some(own) = routable(callee) else {
        return Vec::new();
    };
    let ns = &callee.id.namespace;
    let mut out = vec![(
        format!("{ns}/{}", fqdn(own, ns)),
        format!("it calls {}", callee.id),
    )];
    for name in edge.via.iter().filter(|n| *n != own) {
        if callee.aliases.iter().any(|a| &a.name == name) {
            out.push((
                format!("{ns}/{}", fqdn(name, ns)),
                format!("it calls {} by its alias {name}", callee.id),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> BTreeMap<String, String> {
        list.iter()
            .map(|h| (h.to_string(), String::new()))
            .collect()
    }

    #[test]
    fn a_host_its_namespace_wildcard_imports_is_not_listed_again() {
        let mut h = hosts(&[
            "istio-system/*",
            "shop/*",
            "shop/orders.shop.svc.cluster.local",
            "billing/ledger.billing.svc.cluster.local",
        ]);
        without_covered(&mut h);
        assert_eq!(
            h.keys().collect::<Vec<_>>(),
            [
                "billing/ledger.billing.svc.cluster.local",
                "istio-system/*",
                "shop/*"
            ]
        );
        let mut h = hosts(&[
            "*/*",
            "istio-system/*",
            "shop/orders.shop.svc.cluster.local",
        ]);
        without_covered(&mut h);
        assert_eq!(h.keys().collect::<Vec<_>>(), ["*/*"]);
        let mut h = hosts(&["istio-system/*", "shop/orders.shop.svc.cluster.local"]);
        without_covered(&mut h);
        assert_eq!(h.len(), 2);
    }
}
