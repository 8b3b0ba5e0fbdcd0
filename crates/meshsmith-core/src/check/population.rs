//! The workloads of the graph by the identity they present, for the rules that compare
//! workloads rather than principals (MS323, MS324).
//!
//! In: the topology and the index (a workload named by a generated ServiceAccount presents
//! that account). Out: each identity with the workloads running as it, and how many
//! workloads each node has.

use super::hosts::workload_in_mesh;
use super::reachability::Identity;
use super::Context;
use crate::model::{QualifiedName, WorkloadRef};
use std::collections::{BTreeMap, HashMap};

/// A workload and the node it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub node: &'a QualifiedName,
    pub workload: &'a WorkloadRef,
}

/// Workloads by the identity they present (or would present once given a sidecar).
pub struct Population<'a> {
    pub by_identity: BTreeMap<Identity, Vec<Member<'a>>>,
    /// How many of the counted workloads each node has.
    pub per_node: HashMap<&'a QualifiedName, usize>,
    pub total: usize,
}

impl<'a> Population<'a> {
    /// Every workload of the graph, or only those with a sidecar (`mesh_only`).
    pub fn new(ctx: &'a Context, mesh_only: bool) -> Self {
        let mut by_identity: BTreeMap<Identity, Vec<Member>> = BTreeMap::new();
        let mut per_node = HashMap::new();
        let mut total = 0;
        for node in &ctx.topology.services {
            let ns = node.id.namespace.as_str();
            for w in &node.workloads {
                if mesh_only && !workload_in_mesh(&ctx.index, ns, w) {
                    continue;
                }
                let id = Identity::new(ns, ctx.index.account_of(ns, w));
                by_identity.entry(id).or_default().push(Member {
                    node: &node.id,
                    workload: w,
                });
                *per_node.entry(&node.id).or_default() += 1;
                total += 1;
            }
        }
        Population {
            by_identity,
            per_node,
            total,
        }
    }
}
