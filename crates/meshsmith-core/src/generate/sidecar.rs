//! Sidecar per workload: egress scoped to what it calls, so its proxy only carries the
//! configuration of its dependencies (and of istio-system, for the control plane).
//!
//! In: the graph's edges out of each service and its external calls. Out: one Sidecar per
//! workload; in-cluster callees as `<ns>/<fqdn>`, external hosts as `<own ns>/<host>`,
//! because their ServiceEntry lives in the caller's namespace. Services whose callers are not
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
            if let Some(name) = routable(callee) {
                let host = format!(
                    "{}/{}",
                    callee.id.namespace,
                    fqdn(name, &callee.id.namespace)
                );
                hosts
                    .entry(host)
                    .or_insert_with(|| format!("it calls {}", callee.id));
            }
        }
        for (host, why) in cx.unverified_hosts(&s.id) {
            hosts.entry(host.clone()).or_insert_with(|| why.clone());
        }
        for call in cx.external_of(&s.id) {
            if call.host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            hosts
                .entry(format!("{}/{}", s.id.namespace, call.host))
                .or_insert_with(|| format!("it calls the external host {}", call.host));
        }
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
