//! Names in Istio resources -> things in the inventory: hosts to Services or ServiceEntries,
//! selectors to workloads, resources to the label findings carry.

use crate::model::{
    Inventory, IstioResource, MeshService, Node, QualifiedName, Service, StringMap,
};

/// `VirtualService shop/orders`: how findings name an Istio resource.
pub fn resource_label(r: &IstioResource) -> String {
    format!("{} {}/{}", r.kind, r.namespace, r.name)
}

/// What a host in a VirtualService or DestinationRule refers to.
#[derive(Debug)]
pub enum HostRef<'a> {
    Service(&'a Service),
    /// Declared by a ServiceEntry (an external or mesh-internal non-Kubernetes host).
    ServiceEntry,
    /// A wildcard (`*`, `*.shop.svc.cluster.local`): matches whatever is there.
    Wildcard,
    /// A cluster-local name with no Service behind it.
    MissingService(QualifiedName),
    /// Not a cluster-local name and no ServiceEntry declares it.
    Unknown,
}

/// Resolves `host` as Istio does for a resource in `namespace`: short names are relative to
/// the resource's namespace; `svc.ns`, `svc.ns.svc` and `svc.ns.svc.cluster.local` are
/// absolute; anything else must be declared by a ServiceEntry.
pub fn resolve_host<'a>(inv: &'a Inventory, host: &str, namespace: &str) -> HostRef<'a> {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('*') {
        return HostRef::Wildcard;
    }
    if service_entry_declares(inv, &host) {
        return HostRef::ServiceEntry;
    }
    let Some(id) = cluster_local_name(&host, namespace) else {
        return HostRef::Unknown;
    };
    match inv.service(&id.namespace, &id.name) {
        Some(svc) => HostRef::Service(svc),
        None => HostRef::MissingService(id),
    }
}

/// `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` -> the Service's name.
pub fn cluster_local_name(host: &str, namespace: &str) -> Option<QualifiedName> {
    let base = host.strip_suffix(".cluster.local").unwrap_or(host);
    let stem = base.strip_suffix(".svc").unwrap_or(base);
    let parts: Vec<&str> = stem.split('.').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some(QualifiedName::new(namespace, name)),
        [name, ns] if !name.is_empty() && !ns.is_empty() => Some(QualifiedName::new(ns, name)),
        _ => None,
    }
}

fn service_entry_declares(inv: &Inventory, host: &str) -> bool {
    inv.istio
        .iter()
        .filter(|r| r.kind == "ServiceEntry")
        .flat_map(|r| r.spec.at("hosts").as_seq())
        .filter_map(Node::as_str)
        .any(|declared| {
            let declared = declared.to_ascii_lowercase();
            match declared.strip_prefix('*') {
                Some(suffix) => host.ends_with(suffix),
                None => declared == host,
            }
        })
}

/// Every key/value of `selector` is among `labels`. An empty selector matches everything.
pub fn selector_matches(selector: &StringMap, labels: &StringMap) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// `spec.selector.matchLabels` of a PeerAuthentication or AuthorizationPolicy; `None` when
/// the policy has no selector (or an empty one), i.e. applies namespace- or mesh-wide.
pub fn policy_selector(spec: &Node) -> Option<StringMap> {
    let labels = crate::inventory::string_map(spec.path(&["selector", "matchLabels"]));
    (!labels.is_empty()).then_some(labels)
}

/// True when some object in the inventory lives in (or is) this namespace, so an absent
/// ServiceAccount there is a real absence rather than a namespace we were not shown.
pub fn namespace_known(inv: &Inventory, namespace: &str) -> bool {
    inv.namespace(namespace).is_some()
        || inv.workloads.iter().any(|w| w.namespace == namespace)
        || inv.services.iter().any(|s| s.namespace == namespace)
        || inv
            .service_accounts
            .iter()
            .any(|a| a.namespace == namespace)
}

/// The Service names a node answers to: its own and its aliases.
pub fn node_service_names(node: &MeshService) -> impl Iterator<Item = &str> {
    node.service
        .iter()
        .chain(node.aliases.iter())
        .map(String::as_str)
}

/// `Service shop/orders` for a node with a Service, else its workload: `Job shop/reindex`.
pub fn node_label(node: &MeshService) -> String {
    match (&node.service, node.workloads.first()) {
        (Some(svc), _) => format!("Service {}/{}", node.id.namespace, svc),
        (None, Some(w)) => format!("{} {}/{}", w.kind.as_str(), node.id.namespace, w.name),
        (None, None) => format!("Service {}/{}", node.id.namespace, node.id.name),
    }
}

/// Every `destination` a VirtualService routes or mirrors to, with its path for messages.
pub fn destinations(spec: &Node) -> Vec<(&Node, String)> {
    let mut found = Vec::new();
    for section in ["http", "tcp", "tls"] {
        for (i, route) in spec.at(section).as_seq().iter().enumerate() {
            for (j, dest) in route.at("route").as_seq().iter().enumerate() {
                let d = dest.at("destination");
                if d.is_map() {
                    found.push((d, format!("{section}[{i}].route[{j}].destination")));
                }
            }
            if route.at("mirror").is_map() {
                found.push((route.at("mirror"), format!("{section}[{i}].mirror")));
            }
        }
    }
    found
}

/// True when the Service selects at least one workload that is not kept out of the mesh
/// (`sidecar.istio.io/inject: "false"`).
pub fn service_in_mesh(inv: &Inventory, svc: &Service) -> bool {
    !svc.selector.is_empty()
        && inv.workloads.iter().any(|w| {
            w.namespace == svc.namespace
                && selector_matches(&svc.selector, &w.pod_labels)
                && w.pod_annotations
                    .get("sidecar.istio.io/inject")
                    .map(String::as_str)
                    != Some("false")
                && w.pod_labels
                    .get("sidecar.istio.io/inject")
                    .map(String::as_str)
                    != Some("false")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms_resolve_to_the_same_service_name() {
        let want = Some(QualifiedName::new("shop", "orders"));
        assert_eq!(cluster_local_name("orders", "shop"), want);
        assert_eq!(cluster_local_name("orders.shop", "edge"), want);
        assert_eq!(cluster_local_name("orders.shop.svc", "edge"), want);
        assert_eq!(
            cluster_local_name("orders.shop.svc.cluster.local", "x"),
            want
        );
        assert_eq!(cluster_local_name("api.stripe.com", "shop"), None);
    }
}
