//! The graph section: the call graph as [`drawing`] specs, with the legend and the controls.
//!
//! Up to [`ONE_PICTURE_LIMIT`] services it is one picture, one cluster per namespace (all
//! collapsed to start with above [`UNFOLDED_LIMIT`]); beyond that, a picture of the
//! namespaces and the calls between them, and one picture per namespace (its services, the
//! services of other namespaces it calls or is called by, and the hosts it calls), drawn when
//! chosen. Services, calls and external hosts carry `data-` attributes naming them as
//! `map --format json` does.

use super::controls;
use super::drawing::{draw, ClusterSpec, Drawing, EdgeSpec, NodeSpec};
use super::esc;
use super::facts::Facts;
use super::Report;
use crate::render::Names;
use meshsmith_core::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// Most services drawn in one picture.
pub const ONE_PICTURE_LIMIT: usize = 300;
/// Most services drawn with every namespace expanded to start with.
const UNFOLDED_LIMIT: usize = 60;
/// The pseudo-namespace of hosts outside the cluster (no namespace has spaces or brackets).
const OUTSIDE: &str = "(outside the cluster)";

pub fn section(out: &mut String, report: &Report, t: &Topology, facts: &Facts) {
    out.push_str("<section id=\"graph\"><h2>Service graph</h2>");
    controls::markers(out);
    let one = t.services.len() <= ONE_PICTURE_LIMIT;
    // Made once: every namespace's picture names the services the same way.
    let names = Names::new(t);
    controls::toolbar(out, t, one);
    out.push_str("<div class=\"graph-area\"><div class=\"canvas\" id=\"canvas\">");
    if one {
        let d = whole(t, &names, facts, report, t.services.len() > UNFOLDED_LIMIT);
        out.push_str(&draw(&d));
    } else {
        let _ = write!(
            out,
            "<p class=\"note\">{} services are more than one picture shows legibly: this is the picture of the \
             namespaces and the calls between them. Click a namespace (or pick it above) to draw its own picture.</p>",
            t.services.len()
        );
        out.push_str(&draw(&overview(t)));
    }
    out.push_str(
        "</div><aside id=\"details\" aria-live=\"polite\"><p class=\"hint\">Click a service or a call \
         to see its values; click a namespace's title to collapse or expand it.</p></aside></div>",
    );
    if !one {
        out.push_str("<div class=\"canvas ns-view\" id=\"ns-view\"></div>");
        for ns in namespaces(t) {
            let _ = write!(
                out,
                "<template id=\"ns-{}\" data-ns=\"{}\">{}</template>",
                esc(ns),
                esc(ns),
                draw(&one_namespace(t, &names, facts, report, ns))
            );
        }
    }
    controls::legend(out);
    out.push_str("</section>\n");
}

pub fn namespaces(t: &Topology) -> BTreeSet<&str> {
    t.services.iter().map(|s| s.id.namespace.as_str()).collect()
}

/// Which services and hosts a picture holds, and in which cluster.
struct Members<'a> {
    clusters: BTreeMap<&'a str, Vec<&'a MeshService>>,
    hosts: Vec<&'a str>,
}

fn whole(t: &Topology, names: &Names, facts: &Facts, report: &Report, folded: bool) -> Drawing {
    let mut clusters: BTreeMap<&str, Vec<&MeshService>> = BTreeMap::new();
    for s in &t.services {
        clusters.entry(&s.id.namespace).or_default().push(s);
    }
    let mut hosts: Vec<&str> = t.external.iter().map(|x| x.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let members = Members { clusters, hosts };
    build(
        t,
        names,
        facts,
        report,
        &members,
        "graph-all",
        folded,
        true,
        &|_| true,
    )
}

/// One namespace, the services of others that call it or that it calls, and its hosts.
fn one_namespace(t: &Topology, names: &Names, facts: &Facts, report: &Report, ns: &str) -> Drawing {
    let touches = |e: &Edge| e.from.namespace == ns || e.to.namespace == ns;
    let mut ids: BTreeSet<&QualifiedName> = t
        .services
        .iter()
        .filter(|s| s.id.namespace == ns)
        .map(|s| &s.id)
        .collect();
    for e in t.edges.iter().filter(|e| touches(e)) {
        ids.insert(&e.from);
        ids.insert(&e.to);
    }
    let mut clusters: BTreeMap<&str, Vec<&MeshService>> = BTreeMap::new();
    for id in ids {
        if let Some(s) = t.service(id) {
            clusters.entry(&s.id.namespace).or_default().push(s);
        }
    }
    let mut hosts: Vec<&str> = t
        .external
        .iter()
        .filter(|x| x.from.namespace == ns)
        .map(|x| x.host.as_str())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let members = Members { clusters, hosts };
    let id = format!("graph-ns-{ns}");
    build(
        t,
        names,
        facts,
        report,
        &members,
        &id,
        false,
        false,
        &|id| id.namespace == ns,
    )
}

#[allow(clippy::too_many_arguments)]
fn build(
    t: &Topology,
    names: &Names,
    facts: &Facts,
    report: &Report,
    members: &Members,
    id: &str,
    folded: bool,
    foldable: bool,
    touches: &dyn Fn(&QualifiedName) -> bool,
) -> Drawing {
    let mut at: HashMap<&QualifiedName, (usize, usize)> = HashMap::new();
    let mut clusters = Vec::new();
    for (c, (ns, services)) in members.clusters.iter().enumerate() {
        let nodes = services
            .iter()
            .enumerate()
            .map(|(n, s)| {
                at.insert(&s.id, (c, n));
                service_node(s, names, facts, report)
            })
            .collect();
        clusters.push(ClusterSpec {
            key: ns.to_string(),
            title: ns.to_string(),
            folded: crate::render::counted(services.len(), "service"),
            nodes,
            last: false,
        });
    }
    let mut edges: Vec<EdgeSpec> = t
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| touches(&e.from) || touches(&e.to))
        .filter_map(|(i, e)| Some(call_edge(i, e, *at.get(&e.from)?, *at.get(&e.to)?, names)))
        .collect();
    if !members.hosts.is_empty() {
        let c = clusters.len();
        let host_at: HashMap<&str, usize> = members
            .hosts
            .iter()
            .enumerate()
            .map(|(n, h)| (*h, n))
            .collect();
        clusters.push(ClusterSpec {
            key: OUTSIDE.to_string(),
            title: "outside the cluster".to_string(),
            folded: crate::render::counted(members.hosts.len(), "host"),
            nodes: members.hosts.iter().map(|h| host_node(t, h)).collect(),
            last: true,
        });
        for (i, x) in t.external.iter().enumerate() {
            if !touches(&x.from) {
                continue;
            }
            if let (Some(&from), Some(&n)) = (at.get(&x.from), host_at.get(x.host.as_str())) {
                edges.push(external_edge(i, x, from, (c, n), names));
            }
        }
    }
    Drawing {
        id: id.to_string(),
        clusters,
        edges,
        folded,
        foldable,
    }
}

fn service_node(s: &MeshService, names: &Names, facts: &Facts, report: &Report) -> NodeSpec {
    let f = facts.of(&s.id);
    let mut class = format!("role-{}", s.role.as_str());
    if f.authorization.as_ref().is_some_and(|a| a.dry_run) {
        class.push_str(" dry-run");
    }
    if f.mtls.as_ref().is_some_and(|(mode, _)| mode != "STRICT") {
        class.push_str(" permissive");
    }
    let mut tooltip = format!("{}: {}", s.id, s.role.as_str());
    if !s.callers.is_known() {
        let _ = write!(tooltip, ", callers {}", s.callers.level.as_str());
    }
    if report.mesh.is_some() {
        if let Some((mode, _)) = f.mtls.as_ref().filter(|(m, _)| m != "STRICT") {
            let _ = write!(tooltip, ", mTLS {mode}");
        }
        if f.authorization.as_ref().is_some_and(|a| a.dry_run) {
            tooltip.push_str(", authorization in dry-run");
        }
    }
    NodeSpec {
        data: vec![("service", s.id.to_string())],
        label: names.get(&s.id),
        sub: format!("{} · {}", s.role.as_str(), protocol_name(s.protocol)),
        class,
        tooltip,
        unknown_callers: s.callers.level != Completeness::Known,
    }
}

fn host_node(t: &Topology, host: &str) -> NodeSpec {
    let mut ports: Vec<u16> = t
        .external
        .iter()
        .filter(|x| x.host == host)
        .filter_map(|x| x.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let ports: Vec<String> = ports.iter().map(|p| format!(":{p}")).collect();
    NodeSpec {
        data: vec![("host", host.to_string())],
        label: host.to_string(),
        sub: format!("external {}", ports.join(" ")),
        class: "external-host".to_string(),
        tooltip: format!("{host} (outside the cluster)"),
        unknown_callers: false,
    }
}

/// The class that styles an edge by its evidence.
fn evidence_class(e: &Edge) -> &'static str {
    if e.observed.is_some() || e.confidence == Confidence::Observed {
        "ev-observed"
    } else if e.confidence == Confidence::Low {
        "ev-low"
    } else {
        "ev-high"
    }
}

fn call_edge(i: usize, e: &Edge, from: (usize, usize), to: (usize, usize), n: &Names) -> EdgeSpec {
    let port = e.port.map(|p| format!(":{p}")).unwrap_or_default();
    let class = evidence_class(e);
    let how = match class {
        "ev-observed" => ", observed",
        "ev-low" => ", low confidence",
        _ => "",
    };
    EdgeSpec {
        from,
        to,
        class: format!("{class} p-{}", e.protocol.as_str()),
        data: vec![
            ("from", e.from.to_string()),
            ("to", e.to.to_string()),
            ("port", e.port.map(|p| p.to_string()).unwrap_or_default()),
            ("e", i.to_string()),
        ],
        tooltip: format!(
            "{} → {}{port} {}{how}",
            n.get(&e.from),
            n.get(&e.to),
            protocol_name(e.protocol)
        ),
    }
}

fn external_edge(
    i: usize,
    x: &ExternalCall,
    from: (usize, usize),
    to: (usize, usize),
    n: &Names,
) -> EdgeSpec {
    let port = x.port.map(|p| format!(":{p}")).unwrap_or_default();
    EdgeSpec {
        from,
        to,
        class: format!("ev-external p-{}", x.protocol.as_str()),
        data: vec![
            ("from", x.from.to_string()),
            ("host", x.host.clone()),
            ("port", x.port.map(|p| p.to_string()).unwrap_or_default()),
            ("ext", i.to_string()),
        ],
        tooltip: format!(
            "{} → {}{port} {}{}",
            n.get(&x.from),
            x.host,
            protocol_name(x.protocol),
            if x.tls { " over TLS" } else { "" }
        ),
    }
}

/// Namespaces as nodes, the calls between them counted, hosts outside as one node.
fn overview(t: &Topology) -> Drawing {
    let list: Vec<&str> = namespaces(t).into_iter().collect();
    let index: HashMap<&str, usize> = list.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut size: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &t.services {
        *size.entry(&s.id.namespace).or_default() += 1;
    }
    let mut calls: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for e in &t.edges {
        if let (Some(&a), Some(&b)) = (
            index.get(e.from.namespace.as_str()),
            index.get(e.to.namespace.as_str()),
        ) {
            *calls.entry((a, b)).or_default() += 1;
        }
    }
    let nodes = list
        .iter()
        .map(|ns| NodeSpec {
            data: vec![("open-ns", ns.to_string())],
            label: ns.to_string(),
            sub: crate::render::counted(size.get(ns).copied().unwrap_or(0), "service"),
            class: "namespace".to_string(),
            tooltip: format!("{ns}: click to draw its picture"),
            unknown_callers: false,
        })
        .collect();
    let edges = calls
        .into_iter()
        .filter(|((a, b), _)| a != b)
        .map(|((a, b), n)| EdgeSpec {
            from: (0, a),
            to: (0, b),
            class: "ev-high p-http aggregate".to_string(),
            data: vec![
                ("from-ns", list[a].to_string()),
                ("to-ns", list[b].to_string()),
            ],
            tooltip: format!(
                "{} → {}: {}",
                list[a],
                list[b],
                crate::render::counted(n, "call")
            ),
        })
        .collect();
    Drawing {
        id: "graph-namespaces".to_string(),
        clusters: vec![ClusterSpec {
            key: "namespaces".to_string(),
            title: "namespaces".to_string(),
            folded: String::new(),
            nodes,
            last: false,
        }],
        edges,
        folded: false,
        foldable: false,
    }
}

pub fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Http => "HTTP",
        Protocol::Http2 => "HTTP/2",
        Protocol::Grpc => "gRPC",
        Protocol::Tcp => "TCP",
        Protocol::Tls => "TLS",
        Protocol::Udp => "UDP",
        Protocol::Unknown => "unknown",
    }
}
