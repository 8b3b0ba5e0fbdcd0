//! Look-ups every rule shares, built once per run so that rules stay linear in the size of
//! the input: Istio resources by kind and namespace, workloads by namespace, the hosts
//! ServiceEntries declare, the namespaces the input shows, and each node's incoming edges.

use crate::model::{
    Edge, Inventory, IstioResource, Node, QualifiedName, Topology, Workload, WorkloadRef,
    ACCOUNT_FOR_ANNOTATION,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct Index<'a> {
    pub inventory: &'a Inventory,
    /// Exact hosts declared by ServiceEntries, lowercased.
    pub service_entry_hosts: BTreeSet<String>,
    /// Wildcard ServiceEntry hosts as the suffix they match (`*.example.com` -> `.example.com`).
    pub service_entry_wildcards: Vec<String>,
    istio: BTreeMap<&'a str, BTreeMap<&'a str, Vec<&'a IstioResource>>>,
    workloads: BTreeMap<&'a str, Vec<&'a Workload>>,
    namespaces: BTreeSet<&'a str>,
    callers: BTreeMap<&'a QualifiedName, Vec<&'a Edge>>,
    /// (namespace, `Kind/name`) of a workload -> the generated ServiceAccount that names it
    /// (see [`Index::account_of`]).
    planned: HashMap<(&'a str, &'a str), &'a str>,
}

impl<'a> Index<'a> {
    pub fn new(inventory: &'a Inventory, topology: &'a Topology) -> Self {
        let mut istio: BTreeMap<&str, BTreeMap<&str, Vec<&IstioResource>>> = BTreeMap::new();
        for r in &inventory.istio {
            istio
                .entry(&r.kind)
                .or_default()
                .entry(&r.namespace)
                .or_default()
                .push(r);
        }
        let mut workloads: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
        for w in &inventory.workloads {
            workloads.entry(&w.namespace).or_default().push(w);
        }
        let namespaces = inventory
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .chain(inventory.workloads.iter().map(|w| w.namespace.as_str()))
            .chain(inventory.services.iter().map(|s| s.namespace.as_str()))
            .chain(
                inventory
                    .service_accounts
                    .iter()
                    .map(|a| a.namespace.as_str()),
            )
            .collect();
        let (wildcards, exact): (Vec<String>, Vec<String>) = inventory
            .istio
            .iter()
            .filter(|r| r.kind == "ServiceEntry")
            .flat_map(|r| r.spec().at("hosts").as_seq())
            .filter_map(Node::as_str)
            .map(str::to_ascii_lowercase)
            .partition(|h| h.starts_with('*'));
        let service_entry_hosts = exact.into_iter().collect();
        let service_entry_wildcards = wildcards
            .iter()
            .map(|h| h.trim_start_matches('*').to_string())
            .collect();
        let mut callers: BTreeMap<&QualifiedName, Vec<&Edge>> = BTreeMap::new();
        for e in &topology.edges {
            callers.entry(&e.to).or_default().push(e);
        }
        let planned = inventory
            .service_accounts
            .iter()
            .filter_map(|a| {
                let workload = a.annotations.get(ACCOUNT_FOR_ANNOTATION)?;
                Some(((a.namespace.as_str(), workload), a.name.as_str()))
            })
            .collect();
        Index {
            inventory,
            service_entry_hosts,
            service_entry_wildcards,
            istio,
            workloads,
            namespaces,
            callers,
            planned,
        }
    }

    /// The account a workload runs as: the generated ServiceAccount that names it (its
    /// patch moves the pods there, and the generated policies name that account), else the
    /// one its manifest says.
    pub fn account_of<'w>(&'w self, namespace: &str, workload: &'w WorkloadRef) -> &'w str {
        if self.planned.is_empty() {
            return &workload.service_account;
        }
        let key = format!("{}/{}", workload.kind.as_str(), workload.name);
        self.planned
            .get(&(namespace, key.as_str()))
            .copied()
            .unwrap_or(&workload.service_account)
    }

    /// Istio resources of one kind in one namespace, in (name) order.
    pub fn istio(&self, kind: &str, namespace: &str) -> &[&'a IstioResource] {
        self.istio
            .get(kind)
            .and_then(|by_ns| by_ns.get(namespace))
            .map_or(&[], Vec::as_slice)
    }

    /// Every Istio resource of one kind, in (namespace, name) order.
    pub fn istio_kind<'s>(&'s self, kind: &str) -> impl Iterator<Item = &'a IstioResource> + 's {
        self.istio
            .get(kind)
            .into_iter()
            .flat_map(|by_ns| by_ns.values().flatten().copied())
    }

    pub fn workloads_in(&self, namespace: &str) -> &[&'a Workload] {
        self.workloads.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// True when some object lives in (or is) this namespace, so an absence there is real
    /// rather than a namespace the input does not show.
    pub fn namespace_known(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
    }

    /// The inventory keeps accounts sorted by (namespace, name), so this is a binary search.
    pub fn has_service_account(&self, namespace: &str, name: &str) -> bool {
        self.inventory
            .service_accounts
            .binary_search_by(|a| (a.namespace.as_str(), a.name.as_str()).cmp(&(namespace, name)))
            .is_ok()
    }

    /// Edges into a node.
    pub fn callers(&self, id: &QualifiedName) -> &[&'a Edge] {
        self.callers.get(id).map_or(&[], Vec::as_slice)
    }
}
