//! The service graph as adjacency lists, with what the graph rules need: strongly connected
//! components (cycles), a shortest cycle through a node, and an order in which every caller
//! comes before its callees once cycles are set aside. All iterative, so a long call chain in
//! a large corpus cannot overflow the stack.

use crate::model::{QualifiedName, Topology};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub struct Graph<'a> {
    pub nodes: Vec<&'a QualifiedName>,
    /// Per node: (callee, index of the edge in `Topology::edges`).
    pub out: Vec<Vec<(usize, usize)>>,
}

impl<'a> Graph<'a> {
    pub fn new(topology: &'a Topology) -> Self {
        let mut index: BTreeMap<&QualifiedName, usize> = BTreeMap::new();
        let mut nodes = Vec::new();
        let mut add = |id: &'a QualifiedName, nodes: &mut Vec<&'a QualifiedName>| {
            *index.entry(id).or_insert_with(|| {
                nodes.push(id);
                nodes.len() - 1
            })
        };
        for s in &topology.services {
            add(&s.id, &mut nodes);
        }
        let mut pairs = Vec::new();
        for (i, e) in topology.edges.iter().enumerate() {
            let from = add(&e.from, &mut nodes);
            let to = add(&e.to, &mut nodes);
            if from != to {
                pairs.push((from, to, i));
            }
        }
        let mut out = vec![Vec::new(); nodes.len()];
        for (from, to, i) in pairs {
            out[from].push((to, i));
        }
        Graph { nodes, out }
    }

    /// Component number of every node (Tarjan's algorithm, iterative).
    pub fn components(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let (mut index, mut low) = (vec![usize::MAX; n], vec![0; n]);
        let mut on_stack = vec![false; n];
        let mut comp = vec![usize::MAX; n];
        let (mut stack, mut next, mut comps) = (Vec::new(), 0, 0);
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut work: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some(&mut (v, ref mut child)) = work.last_mut() {
                if *child == 0 && index[v] == usize::MAX {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                }
                if let Some(&(w, _)) = self.out[v].get(*child) {
                    *child += 1;
                    if index[w] == usize::MAX {
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp[w] = comps;
                        if w == v {
                            break;
                        }
                    }
                    comps += 1;
                }
            }
        }
        comp
    }

    /// A shortest cycle from `start` back to itself inside its component, as node indexes
    /// (first node not repeated at the end). The search stays inside the component and keeps
    /// only what it visits, so finding a cycle in each of many small components costs their
    /// size, not the graph's each time.
    pub fn cycle_through(&self, start: usize, comp: &[usize]) -> Vec<usize> {
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &(w, _) in &self.out[v] {
                if comp[w] != comp[start] {
                    continue;
                }
                if w == start {
                    let mut path = vec![v];
                    let mut at = v;
                    while at != start {
                        at = prev[&at];
                        path.push(at);
                    }
                    path.reverse();
                    return path;
                }
                if let Entry::Vacant(slot) = prev.entry(w) {
                    slot.insert(v);
                    queue.push_back(w);
                }
            }
        }
        vec![start]
    }

    /// Nodes ordered so every caller precedes its callees, ignoring edges inside a cycle.
    pub fn caller_order(&self, comp: &[usize]) -> Vec<usize> {
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        for v in 0..n {
            for &(w, _) in &self.out[v] {
                if comp[v] != comp[w] {
                    indegree[w] += 1;
                }
            }
        }
        let mut queue: VecDeque<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            for &(w, _) in &self.out[v] {
                if comp[v] != comp[w] {
                    indegree[w] -= 1;
                    if indegree[w] == 0 {
                        queue.push_back(w);
                    }
                }
            }
        }
        order
    }
}
