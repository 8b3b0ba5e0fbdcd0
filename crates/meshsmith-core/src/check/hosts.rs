//! Names in Istio resources -> things in the inventory: hosts to Services or ServiceEntries,
//! selectors to workloads, resources to the label findings carry.

use super::Index;
use crate::model::{
    IstioResource, MeshService, Node, QualifiedName, Service, StringMap, WorkloadRef,
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
    MissingService,
    /// Not a cluster-local name and no ServiceEntry declares it.
    Unknown,
}

/// Resolves `host` as Istio does for a resource in `namespace`: short names are relative to
/// the resource's namespace; `svc.ns`, `svc.ns.svc` and `svc.ns.svc.cluster.local` are
/// absolute; anything else must be declared by a ServiceEntry.
pub fn resolve_host<'a>(index: &Index<'a>, host: &str, namespace: &str) -> HostRef<'a> {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('*') {
        return HostRef::Wildcard;
    }
    if service_entry_declares(index, &host) {
        return HostRef::ServiceEntry;
    }
    let Some(id) = cluster_local_name(&host, namespace) else {
        return HostRef::Unknown;
    };
    match index.inventory.service(&id.namespace, &id.name) {
        Some(svc) => HostRef::Service(svc),
        None => HostRef::MissingService,
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

fn service_entry_declares(index: &Index, host: &str) -> bool {
    index.service_entry_hosts.contains(host)
        || index
            .service_entry_wildcards
            .iter()
            .any(|suffix| host.ends_with(suffix.as_str()))
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

/// Whether [`policy_selector`] is `Some`, read in place without building the map.
pub fn has_selector(spec: &Node) -> bool {
    spec.path(&["selector", "matchLabels"])
        .as_map()
        .iter()
        .any(|(_, v)| v.as_str().is_some())
}

/// Whether a policy applies to pods with these labels by its selector: [`policy_selector`]
/// is `None` or matches, read in place so that trying many workloads allocates nothing.
pub fn selector_admits(spec: &Node, labels: &StringMap) -> bool {
    spec.path(&["selector", "matchLabels"])
        .as_map()
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
        .all(|(k, v)| labels.get(k) == Some(v))
}

/// The Service names a node answers to: its own and its aliases.
pub fn node_service_names(node: &MeshService) -> impl Iterator<Item = &str> {
    node.service
        .iter()
        .map(String::as_str)
        .chain(node.aliases.iter().map(|a| a.name.as_str()))
}

/// False for a workload kept out of the mesh: `sidecar.istio.io/inject: "false"` on its
/// pods, or its namespace labelled `istio-injection=disabled`. Sidecar-less pods enforce no
/// PeerAuthentication or AuthorizationPolicy.
pub fn workload_in_mesh(index: &Index, namespace: &str, workload: &WorkloadRef) -> bool {
    sidecar_choice(workload) != Some(false) && !namespace_opted_out(index, namespace)
}

/// What the pod template says about injection: never for pods on their node's network
/// (`hostNetwork: true`, which Istio's injector skips), else the `sidecar.istio.io/inject`
/// label (which Istio prefers) or annotation; `None` when neither is written.
pub fn sidecar_choice(workload: &WorkloadRef) -> Option<bool> {
    if workload.host_network {
        return Some(false);
    }
    match workload.pod_labels.get("sidecar.istio.io/inject") {
        Some(v) => Some(v == "true"),
        None => workload.sidecar_annotation,
    }
}

/// The namespace is labelled `istio-injection=disabled`.
pub fn namespace_opted_out(index: &Index, namespace: &str) -> bool {
    index
        .inventory
        .namespace(namespace)
        .is_some_and(|ns| ns.labels.get("istio-injection") == Some("disabled"))
}

/// `Service shop/orders` for a node with a Service, else its workload: `Job shop/reindex`.
pub fn node_label(node: &MeshService) -> String {
    match (&node.service, node.workloads.first()) {
        (Some(svc), _) => format!("Service {}/{}", node.id.namespace, svc),
        (None, Some(w)) => format!("{} {}/{}", w.kind.as_str(), node.id.namespace, w.name),
        (None, None) => format!("Service {}/{}", node.id.namespace, node.id.name),
    }
}

/// Every `destination` a VirtualService routes or mirrors to (`mirror`, `mirrors`), with its
/// path for messages.
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
            for (j, mirror) in route.at("mirrors").as_seq().iter().enumerate() {
                let d = mirror.at("destination");
                if d.is_map() {
                    found.push((d, format!("{section}[{i}].mirrors[{j}].destination")));
                }
            }
        }
    }
    found
}

/// True when the Service selects at least one workload that is not kept out of the mesh
/// (`sidecar.istio.io/inject: "false"`, or pods on their node's network).
pub fn service_in_mesh(index: &Index, svc: &Service) -> bool {
    !svc.selector.is_empty()
        && index.workloads_in(&svc.namespace).iter().any(|w| {
            selector_matches(&svc.selector, &w.pod_labels)
                && !w.host_network
                && w.pod_annotations.get("sidecar.istio.io/inject") != Some("false")
                && w.pod_labels.get("sidecar.istio.io/inject") != Some("false")
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
