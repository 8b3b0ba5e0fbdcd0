//! `map` for people: the graph as `caller -> [callee, ...]`, the protocol breakdown, the
//! timeout audit table, unresolved names, external hosts and warnings, in one screen.

use super::Names;
use meshsmith_core::model::*;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Summary {
    pub objects: usize,
    pub files: usize,
}

pub fn render(topology: &Topology, summary: &Summary) -> String {
    let names = Names::new(topology);
    let mut out = String::new();
    let namespaces: std::collections::BTreeSet<&str> = topology
        .services
        .iter()
        .map(|s| s.id.namespace.as_str())
        .collect();
    let _ = writeln!(
        out,
        "{} services in {} namespace(s), {} edges, {} external host(s)  ({} objects from {} file(s))",
        topology.services.len(),
        namespaces.len(),
        topology.edges.len(),
        topology.external.iter().map(|x| &x.host).collect::<std::collections::BTreeSet<_>>().len(),
        summary.objects,
        summary.files,
    );

    headline(&mut out, topology);
    out.push_str("\nGraph (caller -> callees; ? = low confidence, * = observed in traffic)\n");
    let mut callees: BTreeMap<&QualifiedName, Vec<String>> = BTreeMap::new();
    for e in &topology.edges {
        let mark = match e.confidence {
            Confidence::Low => "?",
            Confidence::Observed => "*",
            Confidence::High => "",
        };
        callees
            .entry(&e.from)
            .or_default()
            .push(format!("{}{mark}", names.get(&e.to)));
    }
    let width = callees
        .keys()
        .map(|k| names.get(k).len())
        .max()
        .unwrap_or(0);
    for (from, list) in &callees {
        let _ = writeln!(out, "  {:width$} -> [{}]", names.get(from), list.join(", "));
    }
    let uncalled: Vec<String> = topology
        .services
        .iter()
        .filter(|s| !callees.contains_key(&s.id) && !topology.edges.iter().any(|e| e.to == s.id))
        .map(|s| names.get(&s.id))
        .collect();
    if !uncalled.is_empty() {
        let _ = writeln!(out, "  (no edges: {})", uncalled.join(", "));
    }

    services_section(&mut out, topology, &names);
    let mut by_protocol: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &topology.services {
        *by_protocol.entry(protocol_label(s.protocol)).or_default() += 1;
    }
    let order = ["HTTP", "HTTP/2", "gRPC", "TCP", "TLS", "UDP", "unknown"];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|p| by_protocol.get(p).map(|n| format!("{n} {p}")))
        .collect();
    let _ = writeln!(out, "\nProtocols: {}", parts.join(", "));
    let mismatched: Vec<String> = topology
        .services
        .iter()
        .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
        .filter(|(_, p)| {
            p.declared != p.believed
                && p.declared != Protocol::Unknown
                && p.believed != Protocol::Unknown
        })
        .map(|(s, p)| {
            format!(
                "{}:{} declared {} ({}) but speaks {} ({})",
                names.get(&s.id),
                p.port,
                p.declared.as_str(),
                p.declared_reason,
                p.believed.as_str(),
                p.reason
            )
        })
        .collect();
    let undeclared = topology
        .services
        .iter()
        .flat_map(|s| &s.ports)
        .filter(|p| p.declared == Protocol::Unknown)
        .count();
    if undeclared > 0 {
        let _ = writeln!(
            out,
            "  {undeclared} port(s) declare no protocol (Istio will sniff)"
        );
    }
    for m in mismatched {
        let _ = writeln!(out, "  {m}");
    }

    out.push_str("\nTimeout audit (timeouts hard-coded today)\n");
    let _ = writeln!(out, "  {:<22} {:>5}  services", "category", "count");
    for (audit, label) in [
        (TimeoutAudit::None, "none"),
        (TimeoutAudit::TooLong, "too long (>= 30 s)"),
        (TimeoutAudit::Reasonable, "reasonable"),
    ] {
        let list: Vec<String> = topology
            .services
            .iter()
            .filter(|s| s.timeout_audit == audit)
            .map(|s| names.get(&s.id))
            .collect();
        let _ = writeln!(
            out,
            "  {:<22} {:>5}  {}",
            label,
            list.len(),
            list.join(", ")
        );
    }

    callers_section(&mut out, topology, &names);
    if let Some(traffic) = &topology.traffic {
        traffic_section(&mut out, traffic, &names);
    }
    if !topology.unresolved.is_empty() {
        out.push_str("\nUnresolved names (no Service has them)\n");
        for u in &topology.unresolved {
            let port = u.port.map(|p| format!(":{p}")).unwrap_or_default();
            let at = u
                .evidence
                .first()
                .map(|e| e.origin.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  {} -> {}{port}  ({at})", names.get(&u.from), u.host);
        }
    }
    if !topology.external.is_empty() {
        out.push_str("\nExternal hosts\n");
        for x in &topology.external {
            let port = x.port.map(|p| format!(":{p}")).unwrap_or_default();
            let at = x
                .evidence
                .first()
                .map(|e| e.origin.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  {} -> {}{port}  ({at})", names.get(&x.from), x.host);
        }
    }
    let warnings: Vec<&Note> = topology
        .notes
        .iter()
        .filter(|n| n.level == NoteLevel::Warning)
        .collect();
    if !warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for n in warnings.iter().take(8) {
            let _ = writeln!(out, "  {}: {}", n.origin, n.message);
        }
        if warnings.len() > 8 {
            let _ = writeln!(out, "  ... and {} more", warnings.len() - 8);
        }
    }
    out
}

fn protocol_label(p: Protocol) -> &'static str {
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

/// One line that says whether the graph is probably incomplete, and what that means.
fn headline(out: &mut String, topology: &Topology) {
    let not_known = topology
        .services
        .iter()
        .filter(|s| !s.callers.is_known())
        .count();
    if not_known > 0 {
        let _ = writeln!(
            out,
            "The graph is probably incomplete: the callers of {not_known} of {} services are not known \
             (their AuthorizationPolicies stay in dry-run); see \"Callers\" below.",
            topology.services.len()
        );
    }
}

/// Per service whose callers are not known: how complete they are and why.
fn callers_section(out: &mut String, topology: &Topology, names: &Names) {
    if topology.services.iter().all(|s| s.callers.is_known()) {
        return;
    }
    out.push_str("\nCallers (completeness per service; known for the rest)\n");
    out.push_str(&callers_table(topology, names));
}

/// One line per reason of every service whose callers are not known: the service and its
/// completeness on its first line, the check code at the end of each. `onboard`'s summary
/// shows the same table.
pub fn callers_table(topology: &Topology, names: &Names) -> String {
    let mut out = String::new();
    let not_known: Vec<&MeshService> = topology
        .services
        .iter()
        .filter(|s| !s.callers.is_known())
        .collect();
    let width = not_known
        .iter()
        .map(|s| names.get(&s.id).len())
        .max()
        .unwrap_or(0);
    for s in not_known {
        for (i, r) in s.callers.reasons.iter().enumerate() {
            let (name, level) = if i == 0 {
                (names.get(&s.id), s.callers.level.as_str())
            } else {
                (String::new(), "")
            };
            let _ = writeln!(
                out,
                "  {name:width$}  {level:<7}  {} [{}]",
                r.message, r.code
            );
        }
    }
    out
}

/// What the traffic showed beyond edges.
fn traffic_section(out: &mut String, t: &TrafficReport, names: &Names) {
    let lines: u64 = t.sources.iter().map(|s| s.lines).sum();
    let _ = writeln!(
        out,
        "\nTraffic ({} file(s), {} line(s) read; {} service(s) seen called)",
        t.sources.len(),
        lines,
        t.called.len()
    );
    for o in &t.outside {
        let _ = writeln!(
            out,
            "  from outside the mesh: {} request(s) to {}",
            o.requests,
            names.get(&o.service)
        );
    }
    for u in &t.unseen {
        let effect = if u.dropped { "left out" } else { "kept" };
        let _ = writeln!(
            out,
            "  never seen: {} -> {} ({} confidence, {effect})",
            names.get(&u.from),
            names.get(&u.to),
            u.confidence.as_str()
        );
    }
    for d in &t.shadow_denied {
        let _ = writeln!(
            out,
            "  dry-run would deny: {} request(s) to {} from {}",
            d.requests,
            names.get(&d.service),
            d.caller.as_deref().unwrap_or("an unidentified caller")
        );
    }
    for u in &t.unmatched {
        let _ = writeln!(
            out,
            "  matches nothing: {} {} ({}; {})",
            u.side, u.name, u.why, u.origin
        );
    }
}

/// Every service by namespace, with its role and what it speaks.
fn services_section(out: &mut String, topology: &Topology, names: &Names) {
    out.push_str("\nServices (namespace, role, protocol)\n");
    let ns_width = topology
        .services
        .iter()
        .map(|s| s.id.namespace.len())
        .max()
        .unwrap_or(0);
    let name_width = topology
        .services
        .iter()
        .map(|s| names.get(&s.id).len())
        .max()
        .unwrap_or(0);
    for s in &topology.services {
        let _ = writeln!(
            out,
            "  {:ns_width$}  {:name_width$}  {:<20}  {}",
            s.id.namespace,
            names.get(&s.id),
            s.role.as_str(),
            protocol_column(s)
        );
    }
}

/// What a service speaks, and what Istio will take it for where the two differ:
/// `HTTP (declared TCP)`, `gRPC (undeclared: Istio sniffs)`, `unknown (declared TCP)`.
fn protocol_column(s: &MeshService) -> String {
    let speaks = protocol_label(s.protocol);
    if s.ports.is_empty() {
        return speaks.to_string();
    }
    match s.declared_protocol {
        d if d == s.protocol => speaks.to_string(),
        Protocol::Unknown => format!("{speaks} (undeclared: Istio sniffs)"),
        d => format!("{speaks} (declared {})", protocol_label(d)),
    }
}
