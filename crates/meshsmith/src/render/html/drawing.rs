//! Clusters of nodes and the edges between them -> one SVG picture, laid out here.
//!
//! ```text
//!  Drawing { clusters: [ClusterSpec { nodes }], edges }
//!     ─▶ each cluster: layered layout of its own edges, long columns wrapped
//!     ─▶ clusters: layered layout of the edges between them (one column per layer)
//!     ─▶ SVG: cluster boxes, then edges, then nodes (so edges pass under nodes)
//! ```
//!
//! The page's script moves clusters when one is collapsed or expanded; it stacks them by the
//! same rule as [`place`] (column by column, centred), so the picture it draws from the
//! attributes written here is the one written here. Coordinates are whole pixels.

use super::esc;
use super::layout::layered;
use std::fmt::Write as _;

pub const NODE_W: i64 = 172;
pub const NODE_H: i64 = 36;
const ROW_PITCH: i64 = 48;
const COL_PITCH: i64 = 236;
/// Rows in one column of a cluster before it wraps into another column.
const MAX_ROWS: usize = 18;
/// Room left of a cluster's first column for the "unknown callers" mark.
const PAD_X: i64 = 34;
const PAD_Y: i64 = 14;
const HEAD: i64 = 26;
/// A collapsed cluster's box (the page's script uses the same numbers).
pub const FOLDED_W: i64 = 200;
pub const FOLDED_H: i64 = 58;
const GAP_X: i64 = 90;
const GAP_Y: i64 = 30;
const MARGIN: i64 = 24;

pub struct NodeSpec {
    /// `data-` attributes naming it, e.g. `("service", "orders.shop")`: what edges' `from`,
    /// `to`, `host` and `from-ns`/`to-ns` attributes refer to.
    pub data: Vec<(&'static str, String)>,
    pub label: String,
    pub sub: String,
    pub class: String,
    pub tooltip: String,
    /// Callers not known: a mark left of the node.
    pub unknown_callers: bool,
}

pub struct ClusterSpec {
    pub key: String,
    pub title: String,
    /// What a collapsed box says, e.g. `12 services`.
    pub folded: String,
    pub nodes: Vec<NodeSpec>,
    /// Drawn in a column of its own right of every other (external hosts).
    pub last: bool,
}

pub struct EdgeSpec {
    /// (cluster, node) indices; `data` names both ends for the page's script.
    pub from: (usize, usize),
    pub to: (usize, usize),
    pub class: String,
    pub data: Vec<(&'static str, String)>,
    pub tooltip: String,
}

pub struct Drawing {
    pub id: String,
    pub clusters: Vec<ClusterSpec>,
    pub edges: Vec<EdgeSpec>,
    /// Clusters start collapsed.
    pub folded: bool,
    /// Clusters can be collapsed and expanded.
    pub foldable: bool,
}

/// A cluster's contents, laid out: node positions relative to the cluster, and its size.
struct Inside {
    at: Vec<(i64, i64)>,
    w: i64,
    h: i64,
}

/// Where a cluster goes among the others.
#[derive(Clone, Copy)]
pub struct Slot {
    pub col: usize,
    pub rank: usize,
    pub w: i64,
    pub h: i64,
}

pub fn draw(d: &Drawing) -> String {
    let insides: Vec<Inside> = (0..d.clusters.len()).map(|c| inside(d, c)).collect();
    let slots = slots(d, &insides);
    let shown: Vec<Slot> = slots
        .iter()
        .map(|s| {
            if d.folded {
                Slot {
                    w: FOLDED_W,
                    h: FOLDED_H,
                    ..*s
                }
            } else {
                *s
            }
        })
        .collect();
    let (origins, width, height) = place(&shown);
    let mut out = String::with_capacity(512 * (d.edges.len() + 2 * d.clusters.len()));
    let _ = write!(
        out,
        "<svg class=\"graph{}\" id=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"service graph\">",
        if d.foldable { " foldable" } else { "" },
        esc(&d.id)
    );
    boxes(&mut out, d, &slots, &origins);
    out.push_str("<g class=\"edges\">");
    for e in &d.edges {
        edge(&mut out, d, e, &insides, &shown, &origins);
    }
    out.push_str("</g><g class=\"nodes\">");
    for (c, cluster) in d.clusters.iter().enumerate() {
        let (x, y) = origins[c];
        let _ = write!(
            out,
            "<g class=\"members{}\" data-cluster=\"{}\" transform=\"translate({x},{y})\">",
            if d.folded { " folded" } else { "" },
            esc(&cluster.key)
        );
        for (n, spec) in cluster.nodes.iter().enumerate() {
            node(&mut out, spec, insides[c].at[n]);
        }
        out.push_str("</g>");
    }
    out.push_str("</g></svg>");
    out
}

/// Lays out one cluster's nodes by its own edges; a layer longer than [`MAX_ROWS`] wraps
/// into several columns, and each column is centred on the tallest.
fn inside(d: &Drawing, c: usize) -> Inside {
    let n = d.clusters[c].nodes.len();
    let local: Vec<(usize, usize)> = d
        .edges
        .iter()
        .filter(|e| e.from.0 == c && e.to.0 == c)
        .map(|e| (e.from.1, e.to.1))
        .collect();
    let layers = layered(n, &local);
    // First column index and rows per column, per layer.
    let mut first = Vec::with_capacity(layers.sizes.len());
    let mut per_col = Vec::with_capacity(layers.sizes.len());
    let mut cols = 0usize;
    for &size in &layers.sizes {
        let wraps = size.div_ceil(MAX_ROWS).max(1);
        first.push(cols);
        per_col.push(size.div_ceil(wraps).max(1));
        cols += wraps;
    }
    let rows = per_col.iter().copied().max().unwrap_or(1).max(1);
    let at = (0..n)
        .map(|v| {
            let (l, r) = (layers.layer[v], layers.rank[v]);
            let col = first[l] + r / per_col[l];
            let row = r % per_col[l];
            let in_col = (layers.sizes[l] - (r / per_col[l]) * per_col[l]).min(per_col[l]);
            let offset = (rows - in_col) as i64 * ROW_PITCH / 2;
            (
                PAD_X + col as i64 * COL_PITCH,
                HEAD + PAD_Y + offset + row as i64 * ROW_PITCH,
            )
        })
        .collect();
    let cols = cols.max(1) as i64;
    Inside {
        at,
        w: (PAD_X + cols * COL_PITCH - (COL_PITCH - NODE_W) + PAD_Y).max(FOLDED_W),
        h: HEAD + 2 * PAD_Y + rows as i64 * ROW_PITCH - (ROW_PITCH - NODE_H),
    }
}

/// Column and rank of every cluster from the edges between clusters.
fn slots(d: &Drawing, insides: &[Inside]) -> Vec<Slot> {
    let between: Vec<(usize, usize)> = d
        .edges
        .iter()
        .filter(|e| e.from.0 != e.to.0)
        .filter(|e| !d.clusters[e.from.0].last && !d.clusters[e.to.0].last)
        .map(|e| (e.from.0, e.to.0))
        .collect();
    let layers = layered(d.clusters.len(), &between);
    let end = (0..d.clusters.len())
        .filter(|&c| !d.clusters[c].last)
        .map(|c| layers.layer[c] + 1)
        .max()
        .unwrap_or(0);
    let mut last_rank = 0;
    (0..d.clusters.len())
        .map(|c| {
            let (col, rank) = if d.clusters[c].last {
                last_rank += 1;
                (end, last_rank - 1)
            } else {
                (layers.layer[c], layers.rank[c])
            };
            Slot {
                col,
                rank,
                w: insides[c].w,
                h: insides[c].h,
            }
        })
        .collect()
}

/// Top-left corner of every cluster and the picture's size: columns left to right, each as
/// wide as its widest cluster, clusters stacked by rank and centred in their column, each
/// column centred on the tallest. The page's script does the same in `place`.
pub fn place(slots: &[Slot]) -> (Vec<(i64, i64)>, i64, i64) {
    let cols = slots.iter().map(|s| s.col + 1).max().unwrap_or(0);
    let mut col_w = vec![0i64; cols];
    let mut col_h = vec![0i64; cols];
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&c| (slots[c].col, slots[c].rank, c));
    for &c in &order {
        let s = &slots[c];
        col_w[s.col] = col_w[s.col].max(s.w);
        col_h[s.col] += s.h + if col_h[s.col] > 0 { GAP_Y } else { 0 };
    }
    let tallest = col_h.iter().copied().max().unwrap_or(0);
    let mut col_x = vec![MARGIN; cols];
    for c in 1..cols {
        col_x[c] = col_x[c - 1] + col_w[c - 1] + GAP_X;
    }
    let mut next_y: Vec<i64> = col_h.iter().map(|h| MARGIN + (tallest - h) / 2).collect();
    let mut origins = vec![(0, 0); slots.len()];
    for &c in &order {
        let s = &slots[c];
        origins[c] = (col_x[s.col] + (col_w[s.col] - s.w) / 2, next_y[s.col]);
        next_y[s.col] += s.h + GAP_Y;
    }
    let width = col_x.last().map_or(MARGIN, |x| x + col_w[cols - 1]) + MARGIN;
    (origins, width.max(2 * MARGIN), tallest + 2 * MARGIN)
}

fn boxes(out: &mut String, d: &Drawing, slots: &[Slot], origins: &[(i64, i64)]) {
    out.push_str("<g class=\"boxes\">");
    for (c, cluster) in d.clusters.iter().enumerate() {
        let s = &slots[c];
        let (x, y) = origins[c];
        let (w, h) = if d.folded {
            (FOLDED_W, FOLDED_H)
        } else {
            (s.w, s.h)
        };
        let _ = write!(
            out,
            "<g class=\"box{}{}\" data-cluster=\"{}\" data-col=\"{}\" data-rank=\"{}\" data-w=\"{}\" data-h=\"{}\" transform=\"translate({x},{y})\">\
             <rect width=\"{w}\" height=\"{h}\" rx=\"8\"/>\
             <text class=\"ns-title\" x=\"12\" y=\"18\">{}{}</text>\
             <text class=\"ns-face\" x=\"12\" y=\"42\">{}</text></g>",
            if d.folded { " folded" } else { "" },
            if cluster.last { " outside" } else { "" },
            esc(&cluster.key),
            s.col,
            s.rank,
            s.w,
            s.h,
            if d.foldable { if d.folded { "▸ " } else { "▾ " } } else { "" },
            esc(&cluster.title),
            esc(&cluster.folded),
        );
    }
    out.push_str("</g>");
}

/// An edge from the right of its caller to the left of its callee; inside a collapsed
/// cluster it is hidden, and an end in a collapsed cluster is that cluster's box.
fn edge(
    out: &mut String,
    d: &Drawing,
    e: &EdgeSpec,
    insides: &[Inside],
    shown: &[Slot],
    origins: &[(i64, i64)],
) {
    let end = |(c, n): (usize, usize), right: bool| -> (i64, i64) {
        let (cx, cy) = origins[c];
        if d.folded {
            let s = &shown[c];
            (cx + if right { s.w } else { 0 }, cy + s.h / 2)
        } else {
            let (x, y) = insides[c].at[n];
            (cx + x + if right { NODE_W } else { 0 }, cy + y + NODE_H / 2)
        }
    };
    let hidden = d.folded && e.from.0 == e.to.0;
    let (sx, sy) = end(e.from, true);
    let (tx, ty) = end(e.to, false);
    let _ = write!(
        out,
        "<path class=\"edge {}{}\"",
        e.class,
        if hidden { " gone" } else { "" },
    );
    for (name, value) in &e.data {
        let _ = write!(out, " data-{name}=\"{}\"", esc(value));
    }
    let _ = write!(
        out,
        " d=\"{}\"><title>{}</title></path>",
        curve(sx, sy, tx, ty),
        esc(&e.tooltip)
    );
}

/// A cubic curve leaving rightwards and arriving from the left (the page's script draws
/// the same in `curve`).
pub fn curve(sx: i64, sy: i64, tx: i64, ty: i64) -> String {
    let bend = ((tx - sx).abs() / 2).max(40);
    format!("M{sx} {sy}C{} {sy} {} {ty} {tx} {ty}", sx + bend, tx - bend)
}

fn node(out: &mut String, spec: &NodeSpec, (x, y): (i64, i64)) {
    let _ = write!(out, "<g class=\"node {}\"", spec.class);
    for (name, value) in &spec.data {
        let _ = write!(out, " data-{name}=\"{}\"", esc(value));
    }
    let _ = write!(
        out,
        " data-x=\"{x}\" data-y=\"{y}\" transform=\"translate({x},{y})\" tabindex=\"0\"><title>{}</title>\
         <rect/>\
         <text class=\"label\" x=\"9\" y=\"15\">{}</text><text class=\"sub\" x=\"9\" y=\"29\">{}</text>",
        esc(&spec.tooltip),
        esc(&clip(&spec.label, 24)),
        esc(&clip(&spec.sub, 30)),
    );
    if spec.unknown_callers {
        let mid = NODE_H / 2;
        let _ = write!(
            out,
            "<path class=\"unknown\" d=\"M-30 {} L-2 {mid}\"/><text class=\"unknown-mark\" x=\"-32\" y=\"{}\">?</text>",
            mid - 12,
            mid - 12
        );
    }
    out.push_str("</g>");
}

/// At most `max` characters, the cut marked with an ellipsis (the tooltip has the whole).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
#[path = "drawing_tests.rs"]
mod tests;
