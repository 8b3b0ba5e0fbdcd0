//! A layered drawing of a directed graph, callers to the left of what they call.
//!
//! In: a node count and the edges as index pairs. Out: for every node its layer (column) and
//! its rank inside that layer (row order). The steps are the classic ones:
//!
//! ```text
//!  edges ─▶ break cycles (depth-first, back edges reversed)
//!        ─▶ longest-path layers (sources left; a source is then pulled next to its callees)
//!        ─▶ virtual nodes on edges that span several layers
//!        ─▶ barycentric sweeps, down and up, keeping the order with the fewest crossings
//! ```
//!
//! Everything is decided by node index and stable sorts, so the same graph always gets the
//! same picture. Nothing here recurses: a long call chain cannot exhaust the stack.

/// Where each node went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// Column of each node, from 0 (callers) rightwards.
    pub layer: Vec<usize>,
    /// Row order of each node among the nodes of its layer, from 0.
    pub rank: Vec<usize>,
    /// How many nodes each layer holds.
    pub sizes: Vec<usize>,
}

/// Sweeps over the layers; the best order seen is kept. Large graphs get fewer.
const SWEEPS: usize = 12;
const SWEEPS_LARGE: usize = 4;
const LARGE: usize = 20_000;

/// Lays out `n` nodes joined by `edges` (pairs of indices below `n`; others are ignored, as
/// are self-loops and repeats).
pub fn layered(n: usize, edges: &[(usize, usize)]) -> Layers {
    let succ = adjacency(n, edges);
    let dag = acyclic(n, &succ);
    let layer = layers(n, &dag);
    let mut graph = Proper::new(&layer, &dag);
    graph.reduce_crossings();
    graph.result(n)
}

/// Successors per node, sorted, without self-loops and repeats.
fn adjacency(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut succ = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a < n && b < n && a != b {
            succ[a].push(b);
        }
    }
    for list in &mut succ {
        list.sort_unstable();
        list.dedup();
    }
    succ
}

/// The same graph with every edge that closes a cycle reversed. The depth-first walk starts
/// from nodes nothing calls (in index order), so entry points keep their outgoing edges.
fn acyclic(n: usize, succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut indegree = vec![0usize; n];
    for list in succ {
        for &b in list {
            indegree[b] += 1;
        }
    }
    let roots = (0..n)
        .filter(|&v| indegree[v] == 0)
        .chain((0..n).filter(|&v| indegree[v] > 0));
    // 0: not seen, 1: on the walk's path, 2: finished.
    let mut state = vec![0u8; n];
    let mut dag = vec![Vec::new(); n];
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut walk = vec![(root, 0usize)];
        while let Some(top) = walk.last_mut() {
            let (v, next) = *top;
            if let Some(&w) = succ[v].get(next) {
                top.1 += 1;
                match state[w] {
                    1 => dag[w].push(v),
                    0 => {
                        dag[v].push(w);
                        state[w] = 1;
                        walk.push((w, 0));
                    }
                    _ => dag[v].push(w),
                }
            } else {
                state[v] = 2;
                walk.pop();
            }
        }
    }
    for list in &mut dag {
        list.sort_unstable();
        list.dedup();
    }
    dag
}

/// Longest-path layering: a node sits one layer right of its furthest predecessor. A node
/// nothing calls is then moved right, next to the first thing it calls, so a worker that
/// only calls a datastore does not sit far from it.
fn layers(n: usize, dag: &[Vec<usize>]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    for list in dag {
        for &b in list {
            indegree[b] += 1;
        }
    }
    let sources: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut layer = vec![0usize; n];
    let mut queue: std::collections::VecDeque<usize> = sources.iter().copied().collect();
    let mut left = indegree;
    while let Some(v) = queue.pop_front() {
        for &w in &dag[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            left[w] -= 1;
            if left[w] == 0 {
                queue.push_back(w);
            }
        }
    }
    for &v in &sources {
        if let Some(first) = dag[v].iter().map(|&w| layer[w]).min() {
            layer[v] = first.saturating_sub(1);
        }
    }
    layer
}

/// The layered graph with virtual nodes, so that every edge joins adjacent layers.
struct Proper {
    /// Node ids per layer, in the current order; ids at or above the real count are virtual.
    order: Vec<Vec<usize>>,
    /// Neighbours in the layer below (left) and above (right), per node id.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    layer_of: Vec<usize>,
    /// Index of each node id in its layer's `order`.
    pos: Vec<usize>,
}

impl Proper {
    fn new(layer: &[usize], dag: &[Vec<usize>]) -> Proper {
        let depth = layer.iter().max().map_or(0, |m| m + 1);
        let mut g = Proper {
            order: vec![Vec::new(); depth],
            up: vec![Vec::new(); layer.len()],
            down: vec![Vec::new(); layer.len()],
            layer_of: layer.to_vec(),
            pos: Vec::new(),
        };
        for (v, &l) in layer.iter().enumerate() {
            g.order[l].push(v);
        }
        for (a, list) in dag.iter().enumerate() {
            for &b in list {
                let mut from = a;
                for l in layer[a] + 1..layer[b] {
                    let virt = g.layer_of.len();
                    g.layer_of.push(l);
                    g.up.push(Vec::new());
                    g.down.push(Vec::new());
                    g.order[l].push(virt);
                    g.link(from, virt);
                    from = virt;
                }
                g.link(from, b);
            }
        }
        g.pos = vec![0; g.layer_of.len()];
        for l in 0..g.order.len() {
            g.renumber(l);
        }
        g
    }

    fn renumber(&mut self, l: usize) {
        for (i, &v) in self.order[l].iter().enumerate() {
            self.pos[v] = i;
        }
    }

    fn link(&mut self, a: usize, b: usize) {
        self.down[a].push(b);
        self.up[b].push(a);
    }

    /// Alternating sweeps; each layer is sorted by the mean position of its neighbours in
    /// the layer just swept. The order with the fewest crossings wins.
    fn reduce_crossings(&mut self) {
        let sweeps = if self.layer_of.len() > LARGE {
            SWEEPS_LARGE
        } else {
            SWEEPS
        };
        let mut best = self.order.clone();
        let mut best_pos = self.pos.clone();
        let mut fewest = self.crossings();
        for sweep in 0..sweeps {
            if fewest == 0 {
                break;
            }
            let depth = self.order.len();
            if sweep % 2 == 0 {
                for l in 1..depth {
                    self.sort_layer(l, true);
                }
            } else {
                for l in (0..depth.saturating_sub(1)).rev() {
                    self.sort_layer(l, false);
                }
            }
            let now = self.crossings();
            if now < fewest {
                fewest = now;
                best = self.order.clone();
                best_pos = self.pos.clone();
            }
        }
        self.order = best;
        self.pos = best_pos;
    }

    fn sort_layer(&mut self, l: usize, by_up: bool) {
        let pos = &self.pos;
        let key = |v: usize| -> f64 {
            let near = if by_up { &self.up[v] } else { &self.down[v] };
            if near.is_empty() {
                pos[v] as f64
            } else {
                near.iter().map(|&u| pos[u] as f64).sum::<f64>() / near.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize, usize)> =
            self.order[l].iter().map(|&v| (key(v), pos[v], v)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.order[l] = keyed.into_iter().map(|(_, _, v)| v).collect();
        self.renumber(l);
    }

    /// Edge crossings between every pair of adjacent layers, counted as inversions.
    fn crossings(&self) -> usize {
        let pos = &self.pos;
        let mut total = 0;
        for l in 0..self.order.len().saturating_sub(1) {
            let mut pairs: Vec<(usize, usize)> = self.order[l]
                .iter()
                .flat_map(|&a| self.down[a].iter().map(move |&b| (a, b)))
                .map(|(a, b)| (pos[a], pos[b]))
                .collect();
            pairs.sort_unstable();
            let width = self.order[l + 1].len();
            let mut tree = vec![0usize; width + 1];
            for (seen, &(_, b)) in pairs.iter().enumerate() {
                // Earlier edges ending right of this one's end cross it.
                let mut at_or_left = 0;
                let mut i = b + 1;
                while i > 0 {
                    at_or_left += tree[i];
                    i -= i & i.wrapping_neg();
                }
                total += seen - at_or_left;
                let mut i = b + 1;
                while i <= width {
                    tree[i] += 1;
                    i += i & i.wrapping_neg();
                }
            }
        }
        total
    }

    fn result(&self, n: usize) -> Layers {
        let mut layer = vec![0; n];
        let mut rank = vec![0; n];
        let mut sizes = vec![0; self.order.len()];
        for (l, ids) in self.order.iter().enumerate() {
            for &v in ids.iter().filter(|&&v| v < n) {
                layer[v] = l;
                rank[v] = sizes[l];
                sizes[l] += 1;
            }
        }
        Layers { layer, rank, sizes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_sit_left_of_their_callees() {
        // 0 -> 1 -> 2, 0 -> 2
        let l = layered(3, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(l.layer, vec![0, 1, 2]);
        assert_eq!(l.sizes, vec![1, 1, 1]);
    }

    #[test]
    fn a_cycle_is_broken_and_every_node_is_placed_once() {
        let l = layered(3, &[(0, 1), (1, 2), (2, 0)]);
        let mut seen: Vec<(usize, usize)> = (0..3).map(|v| (l.layer[v], l.rank[v])).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 3);
        assert_eq!(l.sizes.iter().sum::<usize>(), 3);
        assert!(l.layer[0] < l.layer[1] && l.layer[1] < l.layer[2]);
    }

    #[test]
    fn a_source_is_pulled_next_to_what_it_calls() {
        // 0 -> 1 -> 2 -> 3, and 4 calls only 3: 4 belongs in layer 2, not 0.
        let l = layered(5, &[(0, 1), (1, 2), (2, 3), (4, 3)]);
        assert_eq!(l.layer[4], 2);
    }

    #[test]
    fn sweeps_remove_crossings_a_fixed_order_would_have() {
        // Two callers each with their own callee, given crossed: 0 -> 3, 1 -> 2.
        let l = layered(4, &[(0, 3), (1, 2)]);
        assert_eq!(l.layer, vec![0, 0, 1, 1]);
        let order = |a: usize, b: usize| l.rank[a] < l.rank[b];
        assert_eq!(order(0, 1), order(3, 2), "{l:?}");
    }

    #[test]
    fn edges_out_of_range_and_self_loops_are_ignored() {
        let l = layered(2, &[(0, 0), (0, 7), (9, 1), (0, 1), (0, 1)]);
        assert_eq!(l.layer, vec![0, 1]);
    }

    #[test]
    fn the_same_graph_always_gets_the_same_layout() {
        let edges: Vec<(usize, usize)> = (0..60).map(|i| (i % 17, (i * 7 + 3) % 23)).collect();
        assert_eq!(layered(23, &edges), layered(23, &edges));
    }

    #[test]
    fn a_long_chain_does_not_exhaust_the_stack() {
        let edges: Vec<(usize, usize)> = (0..50_000).map(|i| (i, i + 1)).collect();
        let l = layered(50_001, &edges);
        assert_eq!(l.layer[50_000], 50_000);
    }
}
