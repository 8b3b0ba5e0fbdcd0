//! Kiali's graph API answer (`/api/namespaces/graph?graphType=workload`) -> calls, node by
//! node and edge by edge as the document is parsed.
//!
//! Nodes: `workload` (its `workload` and `namespace`), `app` (its `workload` when given, else
//! its `app`), `service` (a Service; a `MESH_EXTERNAL` service entry or a name with dots is
//! an external host), `unknown` (outside the mesh); boxes and aggregates are skipped.
//! Edges: `traffic.protocol` (`http`, `grpc`, `tcp`) and `traffic.rates`. An edge whose
//! rates are all zero or absent is idle (Kiali shows those only when asked to show idle
//! edges): no call in the window. Requests are the rate times the graph's `duration`
//! (at least 1); a TCP edge's rate is bytes, not connections, so it counts as 1. 4xx and 5xx
//! rates give the error counts, `isMTLS` (a percentage) the mTLS share. An edge from a
//! service node to the workloads behind it repeats the caller's edge to that service and is
//! skipped. Kiali does not say which proxy reported, nor the port.

use super::aggregate::{CallRef, PeerRef, TargetRef};
use super::document::Document;
use super::names::scrub;
use super::reader::{FileContext, Position};
use super::TrafficError;
use crate::model::{CallCounts, Protocol, Reporter, TrafficFormat};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// A node as an end of an edge.
#[derive(Debug, Clone)]
enum Node {
    Workload { namespace: String, name: String },
    Service { namespace: String, name: String },
    Host(String),
    Unknown,
    Skip,
}

/// The nodes read so far, and edges that came before their nodes or the duration.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    nodes: HashMap<String, Node>,
    pending: Vec<(u64, Value)>,
    pub duration: Option<f64>,
}

impl Graph {
    /// Records the edges that waited for their nodes.
    pub fn finish(mut self, ctx: &mut FileContext) {
        for (line, edge) in std::mem::take(&mut self.pending) {
            self.edge(ctx, &edge, line, true);
        }
    }

    fn node(&mut self, data: &Value) {
        let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("");
        let Some(id) = data.get("id").and_then(Value::as_str) else {
            return;
        };
        let namespace = text("namespace").to_string();
        let node = match text("nodeType") {
            "workload" | "app" => {
                let name = [text("workload"), text("app")]
                    .into_iter()
                    .find(|n| !n.is_empty() && *n != "unknown");
                match name {
                    Some(name) => Node::Workload {
                        namespace,
                        name: name.to_string(),
                    },
                    None => Node::Unknown,
                }
            }
            "service" => {
                let name = text("service").to_string();
                let entry = data.get("isServiceEntry");
                let external = entry.and_then(Value::as_str) == Some("MESH_EXTERNAL")
                    || entry
                        .and_then(|e| e.get("location"))
                        .and_then(Value::as_str)
                        == Some("MESH_EXTERNAL");
                if external || name.contains('.') {
                    Node::Host(name)
                } else if name.is_empty() || name == "unknown" {
                    Node::Skip
                } else {
                    Node::Service { namespace, name }
                }
            }
            "unknown" => Node::Unknown,
            _ => Node::Skip,
        };
        self.nodes.insert(id.to_string(), node);
    }

    /// Records one edge; with `last`, a missing node is an error rather than a reason to wait.
    fn edge(&mut self, ctx: &mut FileContext, edge: &Value, line: u64, last: bool) {
        let end = |k: &str| edge.get(k).and_then(Value::as_str).unwrap_or("");
        let (from, to) = (end("source"), end("target"));
        let (source, target) = match (self.nodes.get(from), self.nodes.get(to)) {
            (Some(s), Some(t)) if last || self.duration.is_some() => (s, t),
            (s, _) if last => {
                let (end, id) = if s.is_none() {
                    ("source", from)
                } else {
                    ("target", to)
                };
                let file = ctx.name();
                ctx.error(TrafficError::KialiEdge {
                    file,
                    line,
                    end: end.into(),
                    id: id.into(),
                });
                return;
            }
            _ => {
                self.pending.push((line, edge.clone()));
                return;
            }
        };
        let Some((source, destination)) = ends(source, target) else {
            return;
        };
        let traffic = edge.get("traffic").unwrap_or(&Value::Null);
        let protocol_name = traffic
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("");
        let total = rate_of(traffic.get("rates").and_then(|r| r.get(protocol_name)));
        if total <= 0.0 {
            return;
        }
        let duration = self.duration.filter(|d| *d > 0.0).unwrap_or(1.0);
        let (protocol, counts) =
            counts_of(edge, traffic, protocol_name, total * duration, duration);
        let call = CallRef {
            source,
            destination,
            port: None,
            protocol,
            reporter: Reporter::Unknown,
            format: TrafficFormat::KialiGraph,
        };
        let detail = || {
            format!(
                "kiali edge {} -> {} ({protocol_name}, {total} per second over {duration} s)",
                scrub(from),
                scrub(to)
            )
        };
        ctx.record(&call, &counts, line, &detail);
    }
}

/// The caller and callee of an edge; `None` for the hop from a service node to the
/// workloads behind it, and for ends that are not calls (boxes, unknown callees).
fn ends<'n>(source: &'n Node, target: &'n Node) -> Option<(PeerRef<'n>, TargetRef<'n>)> {
    let source = match source {
        Node::Workload { namespace, name } => PeerRef::Workload { namespace, name },
        Node::Unknown => PeerRef::Unknown,
        _ => return None,
    };
    let destination = match target {
        Node::Workload { namespace, name } => TargetRef::Workload { namespace, name },
        Node::Service { namespace, name } => TargetRef::Service {
            namespace: Some(namespace),
            name,
        },
        Node::Host(h) => TargetRef::Host(scrub(h)),
        Node::Unknown | Node::Skip => return None,
    };
    Some((source, destination))
}

/// The protocol and counts of an edge with `seen` requests (rate times duration).
fn counts_of(
    edge: &Value,
    traffic: &Value,
    protocol: &str,
    seen: f64,
    duration: f64,
) -> (Option<Protocol>, CallCounts) {
    let rate = |k: &str| rate_of(traffic.get("rates").and_then(|r| r.get(k)));
    let times = |r: f64| (r * duration).round() as u64;
    let requests = (seen.round() as u64).max(1);
    let (protocol, requests) = match protocol {
        "http" => (Some(Protocol::Http), requests),
        "grpc" => (Some(Protocol::Grpc), requests),
        // A TCP edge's rate is bytes per second: it shows that connections were made.
        "tcp" => (Some(Protocol::Tcp), 1),
        _ => (None, requests),
    };
    let mut counts = CallCounts {
        requests,
        ..CallCounts::default()
    };
    if protocol == Some(Protocol::Http) {
        counts.client_errors = times(rate("http4xx")).min(requests);
        counts.server_errors = times(rate("http5xx")).min(requests - counts.client_errors);
        let failed = counts.client_errors + counts.server_errors + times(rate("httpNoResponse"));
        counts.ok = requests.saturating_sub(failed);
    }
    let share = rate_of(edge.get("isMTLS"));
    if share > 0.0 {
        counts.mtls = (((requests as f64) * share.min(100.0) / 100.0).round() as u64).min(requests);
        counts.plaintext = requests - counts.mtls;
    }
    (protocol, counts)
}

/// A rate as Kiali writes it (`"12.50"`), or a number; 0 when absent or unreadable.
fn rate_of(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `elements`: `nodes` and `edges`.
pub(crate) struct Elements<'d, 'x>(pub &'d mut Document<'x>);

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the graph's elements")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            elements_entry(self.0, &key, &mut map)?;
        }
        Ok(())
    }
}

/// One key of `elements` (or of a top-level object holding `nodes` and `edges`).
pub(crate) fn elements_entry<'de, A: MapAccess<'de>>(
    doc: &mut Document<'_>,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    match key {
        "nodes" => map.next_value_seed(List { doc, edges: false }),
        "edges" => map.next_value_seed(List { doc, edges: true }),
        _ => map.next_value::<IgnoredAny>().map(|_| ()),
    }
}

/// The list of nodes or of edges, one `{"data": {...}}` at a time.
struct List<'d, 'x> {
    doc: &'d mut Document<'x>,
    edges: bool,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of graph elements")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let doc = self.doc;
        doc.saw(TrafficFormat::KialiGraph);
        loop {
            let Some((line, element)) = seq.next_element_seed(Element(doc.position()))? else {
                return Ok(());
            };
            doc.lines_read(1);
            let data = element.get("data").unwrap_or(&element);
            if self.edges {
                let mut graph = std::mem::take(&mut doc.graph);
                graph.edge(doc.ctx(), data, line, false);
                doc.graph = graph;
                if doc.stopped() {
                    return Err(serde::de::Error::custom(super::document::STOP));
                }
            } else {
                doc.graph.node(data);
            }
        }
    }
}

/// One element, as a JSON value, with the line its object starts on.
struct Element<'p>(&'p Position);

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = (u64, Value);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(u64, Value), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = (u64, Value);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a graph element (an object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(u64, Value), A::Error> {
        self.0.mark();
        let line = self.0.line();
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok((line, value))
    }
}
