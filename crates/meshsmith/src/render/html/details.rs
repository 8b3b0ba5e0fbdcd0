//! What the page shows when a service or a call is clicked, as JSON the page's script reads:
//! `{"t": [text...], "s": {"name.ns": panel}, "e": [panel per edge], "x": [panel per
//! external call]}`, a panel being `[title, [[label, text or [texts]]...], [[file, linked]...]]`
//! with every text given by its index in `t`: the same role, circuit breaker or mTLS mode
//! of hundreds of services is then written once. The script only lays panels out; what they
//! say is decided here.

use super::calls::{audit, audit_text, route, today};
use super::facts::{Facts, ServiceFacts};
use super::panel::{Panel, Texts};
use super::picture::protocol_name;
use super::{Report, ReportKind};
use crate::render::Names;
use meshsmith_core::model::*;
use serde_json::{json, Map, Value};

/// Evidence listed per call; the rest are counted.
const EVIDENCE_SHOWN: usize = 6;

pub fn data(report: &Report, facts: &Facts) -> Value {
    let Some(t) = report.topology else {
        return json!({"kind": kind(report.kind)});
    };
    let names = Names::new(t);
    let index = t.edge_index();
    let mut texts = Texts::default();
    let mut services = Map::new();
    for s in &t.services {
        let panel = service(report, t, s, facts.of(&s.id), &names, &index);
        services.insert(s.id.to_string(), panel.done(&mut texts));
    }
    let edges: Vec<Value> = t
        .edges
        .iter()
        .map(|e| edge(report, t, e, facts, &names).done(&mut texts))
        .collect();
    let external: Vec<Value> = t
        .external
        .iter()
        .map(|x| external(report, x, &names).done(&mut texts))
        .collect();
    json!({"kind": kind(report.kind), "t": texts.list, "s": services, "e": edges, "x": external})
}

fn kind(k: ReportKind) -> &'static str {
    match k {
        ReportKind::Onboard => "onboard",
        ReportKind::Map => "map",
        ReportKind::Check => "check",
    }
}

fn service(
    report: &Report,
    t: &Topology,
    s: &MeshService,
    f: &ServiceFacts,
    names: &Names,
    index: &EdgeIndex,
) -> Panel {
    let mut p = Panel::default();
    p.text("namespace", s.id.namespace.clone());
    p.text("role", format!("{}: {}", s.role.as_str(), s.role_reason));
    p.text(
        "protocol",
        format!(
            "{} (declared {})",
            protocol_name(s.protocol),
            protocol_name(s.declared_protocol)
        ),
    );
    p.list("ports", s.ports.iter().map(port).collect());
    p.text("exposed", exposure(&s.exposure));
    if report.kind == ReportKind::Onboard {
        generated(&mut p, f);
    }
    let callers = if s.callers.is_known() {
        format!("known: {}", s.callers.basis)
    } else {
        let reasons: Vec<String> = s
            .callers
            .reasons
            .iter()
            .map(|r| format!("{} [{}]", r.message, r.code))
            .collect();
        format!("{}: {}", s.callers.level.as_str(), reasons.join("; "))
    };
    p.text("callers", callers);
    let called_by = index
        .callers(&s.id)
        .iter()
        .map(|e| format!("{}{} ({})", names.get(&e.from), port_suffix(e.port), how(e)))
        .collect();
    p.list("called by", called_by);
    let mut calls: Vec<String> = index
        .callees(&s.id)
        .iter()
        .map(|e| {
            format!(
                "{}{} {}",
                names.get(&e.to),
                port_suffix(e.port),
                protocol_name(e.protocol)
            )
        })
        .collect();
    calls.extend(
        t.external
            .iter()
            .filter(|x| x.from == s.id)
            .map(|x| format!("{}{} (outside the cluster)", x.host, port_suffix(x.port))),
    );
    calls.extend(
        t.unresolved
            .iter()
            .filter(|u| u.from == s.id)
            .map(|u| format!("{}{} (matches no Service)", u.host, port_suffix(u.port))),
    );
    p.list("calls", calls);
    let today: Vec<String> = s
        .settings
        .iter()
        .map(|r| {
            let at = report.places.show(&r.origin.file).text;
            format!("{}={} ({at}:{})", r.key, r.raw, r.origin.line)
        })
        .collect();
    p.text("timeout audit", s.timeout_audit.as_str().replace('_', " "));
    p.list("settings today", today);
    p.list(
        "hidden calls",
        s.hidden_calls
            .iter()
            .map(|h| format!("{}: {} ({})", h.workload, h.why, h.signal))
            .collect(),
    );
    if report.kind == ReportKind::Onboard {
        p.text("rollout", rollout(f));
        let findings = f
            .findings
            .iter()
            .map(|x| format!("{} {} {}: {}", x.severity, x.code, x.name, x.message))
            .collect();
        p.list("findings", findings);
    }
    for file in &f.files {
        p.links.push((file.clone(), report.places.has(file)));
    }
    p.title = s.id.to_string();
    p
}

/// Route timeouts and retries, circuit breaker, mTLS and authorization.
fn generated(p: &mut Panel, f: &ServiceFacts) {
    let at = |port: Option<u16>| port.map(|p| format!(":{p} ")).unwrap_or_default();
    p.list(
        "timeout",
        f.routes
            .iter()
            .map(|r| format!("{}{}", at(r.port), r.timeout.as_deref().unwrap_or("none")))
            .collect(),
    );
    p.list(
        "retries",
        f.routes
            .iter()
            .map(|r| format!("{}{}", at(r.port), r.retries.as_deref().unwrap_or("none")))
            .collect(),
    );
    if let Some(tp) = f.traffic_policy {
        p.text("circuit breaker", circuit_breaker(tp));
    }
    if let Some((mode, reason)) = &f.mtls {
        let text = match reason {
            Some(why) if mode != "STRICT" => format!("{mode}: {why}"),
            _ => mode.clone(),
        };
        p.text("mTLS", text);
    }
    if let Some(a) = &f.authorization {
        let state = match (a.dry_run, &a.reason) {
            (true, Some(why)) => format!("dry-run: {why}"),
            (true, None) => "dry-run".to_string(),
            (false, _) => "enforced".to_string(),
        };
        p.text("authorization", state);
        let allowed: Vec<String> = a
            .callers
            .iter()
            .map(|(who, ports)| format!("{who} on {ports}"))
            .collect();
        if allowed.is_empty() {
            p.text("allowed callers", "none");
        } else {
            p.list("allowed callers", allowed);
        }
    }
}

pub fn circuit_breaker(tp: &TrafficPolicy) -> String {
    let o = &tp.outlier_detection;
    let c = &tp.connection_pool;
    let mut text = format!(
        "eject after {} consecutive 5xx (checked every {}) for {}, at most {}% of endpoints; \
         at most {} connections, connect timeout {}",
        o.consecutive_5xx_errors,
        o.interval,
        o.base_ejection_time,
        o.max_ejection_percent,
        c.tcp.max_connections,
        c.tcp.connect_timeout
    );
    if let Some(h) = &c.http {
        text.push_str(&format!(
            "; {} pending requests, {} requests, {} retries at once",
            h.http1_max_pending_requests, h.http2_max_requests, h.max_retries
        ));
    }
    if let Some(b) = &tp.retry_budget {
        text.push_str(&format!("; retry budget {}%", b.percent));
    }
    text
}

fn rollout(f: &ServiceFacts) -> String {
    let mut parts = Vec::new();
    if let Some(n) = f.onboarded_in {
        parts.push(format!("sidecar in phase {n}"));
    }
    if let Some(n) = f.locked_in {
        parts.push(format!("STRICT and enforced in phase {n}"));
    }
    if let Some(why) = f.held {
        parts.push(format!("held: {why}"));
    }
    if let Some(why) = f.skipped {
        parts.push(format!("left out: {why}"));
    }
    parts.join("; ")
}

fn port(p: &PortInfo) -> String {
    let name = p
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    format!(
        "{}{name}: {}, declared {} ({})",
        p.port,
        protocol_name(p.believed),
        protocol_name(p.declared),
        p.reason
    )
}

fn exposure(e: &Exposure) -> String {
    let mut how = Vec::new();
    if !e.ingress_gateway.is_empty() {
        how.push("through the Istio ingress gateway".to_string());
    }
    if !e.ingress.is_empty() {
        how.push("by a Kubernetes Ingress".to_string());
    }
    if let Some((kind, _)) = &e.direct {
        how.push(format!("directly by its {} Service", kind.as_str()));
    }
    how.join("; ")
}

fn port_suffix(port: Option<u16>) -> String {
    port.map(|p| format!(" :{p}")).unwrap_or_default()
}

fn how(e: &Edge) -> &'static str {
    if e.observed.is_some() || e.confidence == Confidence::Observed {
        "observed"
    } else if e.confidence == Confidence::Low {
        "low confidence"
    } else {
        "high confidence"
    }
}

fn evidence(report: &Report, list: &[Evidence]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .take(EVIDENCE_SHOWN)
        .map(|e| {
            let at = report.places.show(&e.origin.file).text;
            format!("{} ({at}:{})", e.detail, e.origin.line)
        })
        .collect();
    if list.len() > EVIDENCE_SHOWN {
        out.push(format!("and {} more", list.len() - EVIDENCE_SHOWN));
    }
    out
}

fn edge(report: &Report, t: &Topology, e: &Edge, facts: &Facts, names: &Names) -> Panel {
    let mut p = Panel::default();
    p.text(
        "port",
        format!(
            "{}{}",
            e.port.map(|p| format!("{p} ")).unwrap_or_default(),
            protocol_name(e.protocol)
        ),
    );
    p.text("evidence", how(e));
    if let Some(c) = &e.observed {
        p.text(
            "observed",
            format!(
                "{} requests ({} ok, {} 5xx, {} denied; {} over mTLS, {} plaintext)",
                c.requests, c.ok, c.server_errors, c.denied, c.mtls, c.plaintext
            ),
        );
    }
    p.list("found in", evidence(report, &e.evidence));
    if let (Some(caller), Some(callee)) = (t.service(&e.from), t.service(&e.to)) {
        let now = today(caller, callee, true);
        let text = match &now {
            Some(x) => format!(
                "{}={} ({}{})",
                x.setting.key,
                x.setting.raw,
                audit_text(audit(Some(x))),
                if x.named {
                    ""
                } else {
                    "; no setting names the callee, its longest"
                }
            ),
            None => "none".to_string(),
        };
        p.text("timeout today", text);
        if report.kind == ReportKind::Onboard {
            p.text("generated", generated_call(facts.of(&e.to), e));
        }
    }
    p.title = format!("{} → {}", names.get(&e.from), names.get(&e.to));
    p
}

/// The callee's route for this call: `3s, 2 retries, 1s per try`, or why there is none.
pub fn generated_call(callee: &ServiceFacts, e: &Edge) -> String {
    match route(callee, e) {
        Some(r) => format!(
            "{}, {}",
            r.timeout.as_deref().unwrap_or("no timeout"),
            r.retries.as_deref().unwrap_or("no retries")
        ),
        None if !e.protocol.is_http_family() => format!(
            "no route ({}: Istio applies no HTTP timeout){}",
            protocol_name(e.protocol),
            callee
                .traffic_policy
                .map(|tp| format!(
                    "; connect timeout {}",
                    tp.connection_pool.tcp.connect_timeout
                ))
                .unwrap_or_default()
        ),
        None => "no route generated".to_string(),
    }
}

fn external(report: &Report, x: &ExternalCall, names: &Names) -> Panel {
    let mut p = Panel::default();
    p.text(
        "port",
        format!(
            "{}{}{}",
            x.port.map(|p| format!("{p} ")).unwrap_or_default(),
            protocol_name(x.protocol),
            if x.tls { " over TLS" } else { "" }
        ),
    );
    if let Some(r) = &x.restricted {
        p.text(
            "restricted",
            format!("{}: the mesh opens no way to it", r.describe()),
        );
    }
    p.list("found in", evidence(report, &x.evidence));
    p.title = format!("{} → {}", names.get(&x.from), x.host);
    p
}
