//! `map --format dot` and `--format mermaid`: the graph as a picture, one cluster per
//! namespace; low-confidence edges dashed; external hosts as their own nodes.

use super::Names;
use meshsmith_core::model::*;
use std::collections::BTreeMap;
use std::fmt::Write;

fn by_namespace(topology: &Topology) -> BTreeMap<&str, Vec<&MeshService>> {
    let mut m: BTreeMap<&str, Vec<&MeshService>> = BTreeMap::new();
    for s in &topology.services {
        m.entry(s.id.namespace.as_str()).or_default().push(s);
    }
    m
}

fn node_id(id: &QualifiedName) -> String {
    format!("{}__{}", id.namespace, id.name).replace(['-', '.'], "_")
}

fn host_id(host: &str) -> String {
    format!("ext__{}", host.replace(['-', '.', ':'], "_"))
}

pub fn dot(topology: &Topology) -> String {
    let names = Names::new(topology);
    let mut out = String::from(
        "digraph meshsmith {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for (ns, services) in by_namespace(topology) {
        let _ = writeln!(out, "  subgraph \"cluster_{ns}\" {{\n    label=\"{ns}\";");
        for s in services {
            let _ = writeln!(
                out,
                "    {} [label=\"{}\\n{} · {}\"];",
                node_id(&s.id),
                names.get(&s.id),
                s.role.as_str(),
                s.protocol.as_str()
            );
        }
        out.push_str("  }\n");
    }
    let mut hosts: Vec<&str> = topology.external.iter().map(|x| x.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    for h in &hosts {
        let _ = writeln!(
            out,
            "  {} [label=\"{h}\", shape=ellipse, style=dashed];",
            host_id(h)
        );
    }
    for e in &topology.edges {
        let style = if e.confidence == Confidence::Low {
            ", style=dashed"
        } else {
            ""
        };
        let port = e.port.map(|p| p.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{} {port}\"{style}];",
            node_id(&e.from),
            node_id(&e.to),
            e.protocol.as_str()
        );
    }
    for x in &topology.external {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dashed];",
            node_id(&x.from),
            host_id(&x.host)
        );
    }
    out.push_str("}\n");
    out
}

pub fn mermaid(topology: &Topology) -> String {
    let names = Names::new(topology);
    let mut out = String::from("flowchart LR\n");
    for (ns, services) in by_namespace(topology) {
        let _ = writeln!(out, "  subgraph {ns}");
        for s in services {
            let _ = writeln!(
                out,
                "    {}[\"{}<br/>{} · {}\"]",
                node_id(&s.id),
                names.get(&s.id),
                s.role.as_str(),
                s.protocol.as_str()
            );
        }
        out.push_str("  end\n");
    }
    let mut hosts: Vec<&str> = topology.external.iter().map(|x| x.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    for h in &hosts {
        let _ = writeln!(out, "  {}((\"{h}\"))", host_id(h));
    }
    for e in &topology.edges {
        let arrow = if e.confidence == Confidence::Low {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|{}| {}",
            node_id(&e.from),
            e.protocol.as_str(),
            node_id(&e.to)
        );
    }
    for x in &topology.external {
        let _ = writeln!(out, "  {} -.-> {}", node_id(&x.from), host_id(&x.host));
    }
    out
}
