//! Workloads + Services -> graph nodes. A node is a Service with the workloads it selects
//! (label selector, same namespace); a Service selecting only workloads of another node (a
//! second name, a headless twin) is an alias of it, a host of its own for the same pods; a
//! workload no Service selects is a node of its own.

use crate::model::*;
use std::collections::HashMap;

pub struct NodeDraft {
    pub id: QualifiedName,
    pub service: Option<usize>,
    /// Other Services (inventory indices) selecting only this node's workloads.
    pub aliases: Vec<usize>,
    pub workloads: Vec<usize>,
}

pub struct Nodes {
    pub drafts: Vec<NodeDraft>,
    /// Service (namespace, name) -> node index (aliases included).
    pub by_service: HashMap<QualifiedName, usize>,
    /// Workload index -> node index.
    pub by_workload: Vec<usize>,
}

fn selects(service: &Service, w: &Workload) -> bool {
    !service.selector.is_empty()
        && service.namespace == w.namespace
        && service
            .selector
            .iter()
            .all(|(k, v)| w.pod_labels.get(k) == Some(v))
}

pub fn build(inventory: &Inventory) -> Nodes {
    // Workloads of each namespace, to keep selector matching per namespace.
    let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, w) in inventory.workloads.iter().enumerate() {
        by_ns.entry(w.namespace.as_str()).or_default().push(i);
    }
    let selected: Vec<Vec<usize>> = inventory
        .services
        .iter()
        .map(|s| {
            by_ns
                .get(s.namespace.as_str())
                .map(|ws| {
                    ws.iter()
                        .copied()
                        .filter(|&i| selects(s, &inventory.workloads[i]))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    // Each workload's primary Service: a non-headless one first, then by name.
    let mut primary: Vec<Option<usize>> = vec![None; inventory.workloads.len()];
    for (si, ws) in selected.iter().enumerate() {
        for &wi in ws {
            let better = match primary[wi] {
                None => true,
                Some(cur) => inventory.services[cur].headless && !inventory.services[si].headless,
            };
            if better {
                primary[wi] = Some(si);
            }
        }
    }
    let mut nodes = Nodes {
        drafts: Vec::new(),
        by_service: HashMap::new(),
        by_workload: vec![0; inventory.workloads.len()],
    };
    let mut node_of_service: Vec<Option<usize>> = vec![None; inventory.services.len()];
    // Services that are primary for all of their workloads come first, then aliases.
    for (si, s) in inventory.services.iter().enumerate() {
        let ws = &selected[si];
        let is_alias = !ws.is_empty() && ws.iter().all(|&w| primary[w] != Some(si));
        if is_alias {
            continue;
        }
        node_of_service[si] = Some(nodes.drafts.len());
        nodes.drafts.push(NodeDraft {
            id: QualifiedName::new(&s.namespace, &s.name),
            service: Some(si),
            aliases: Vec::new(),
            workloads: ws
                .iter()
                .copied()
                .filter(|&w| primary[w] == Some(si))
                .collect(),
        });
    }
    for (si, _) in inventory.services.iter().enumerate() {
        if node_of_service[si].is_some() {
            continue;
        }
        let target = selected[si]
            .iter()
            .find_map(|&w| primary[w])
            .and_then(|p| node_of_service[p]);
        if let Some(n) = target {
            nodes.drafts[n].aliases.push(si);
            node_of_service[si] = Some(n);
        }
    }
    let mut taken: std::collections::HashSet<QualifiedName> = std::collections::HashSet::new();
    for (wi, w) in inventory.workloads.iter().enumerate() {
        let node = match primary[wi].and_then(|p| node_of_service[p]) {
            Some(n) => n,
            None => {
                // The workload's own name, unless a Service or another workload has it (a
                // Service that does not select it, a Deployment and a StatefulSet of one name).
                let mut id = QualifiedName::new(&w.namespace, &w.name);
                let kind = w.kind.as_str().to_ascii_lowercase();
                let mut n = 1;
                while inventory.service(&id.namespace, &id.name).is_some() || taken.contains(&id) {
                    n += 1;
                    id.name = match n {
                        2 => format!("{}-{kind}", w.name).into(),
                        _ => format!("{}-{kind}-{n}", w.name).into(),
                    };
                }
                taken.insert(id.clone());
                nodes.drafts.push(NodeDraft {
                    id,
                    service: None,
                    aliases: Vec::new(),
                    workloads: vec![wi],
                });
                nodes.drafts.len() - 1
            }
        };
        nodes.by_workload[wi] = node;
    }
    for (si, s) in inventory.services.iter().enumerate() {
        if let Some(n) = node_of_service[si] {
            nodes
                .by_service
                .insert(QualifiedName::new(&s.namespace, &s.name), n);
        }
    }
    nodes
}
