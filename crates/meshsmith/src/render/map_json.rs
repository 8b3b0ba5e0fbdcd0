//! `map --format json`: the graph contract (services, edges, unresolved, external), every
//! edge with its evidence. Node references are `name.namespace`.

use super::Each;
use meshsmith_core::model::*;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

fn evidence(list: &[Evidence]) -> Value {
    list.iter()
        .map(|e| json!({"file": &*e.origin.file, "line": e.origin.line, "kind": e.kind.as_str(), "detail": e.detail}))
        .collect()
}

fn origin(o: &Origin) -> Value {
    json!({"file": &*o.file, "line": o.line})
}

struct Doc<'a>(&'a Topology);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        // Keys in sorted order, as a JSON object's are written.
        map.serialize_entry("completeness", &completeness(t))?;
        map.serialize_entry("edges", &Each(|| t.edges.iter().map(edge)))?;
        map.serialize_entry("external", &Each(|| t.external.iter().map(external)))?;
        map.serialize_entry("services", &Each(|| t.services.iter().map(service)))?;
        map.serialize_entry("traffic", &t.traffic.as_ref().map(traffic))?;
        map.serialize_entry("unresolved", &Each(|| t.unresolved.iter().map(unresolved)))?;
        map.end()
    }
}

pub fn render(topology: &Topology) -> String {
    let mut out = serde_json::to_string_pretty(&Doc(topology)).unwrap_or_default();
    out.push('\n');
    out
}

fn service(s: &MeshService) -> Value {
    json!({
        "name": s.id.name,
        "namespace": s.id.namespace,
        "service": s.service,
        "aliases": s.aliases.iter().map(|a| &a.name).collect::<Vec<_>>(),
        "external_name": s.external_name,
        "protocol": s.protocol.as_str(),
        "protocol_reason": s.protocol_reason,
        "declared_protocol": s.declared_protocol.as_str(),
        "declared_reason": s.declared_reason,
        "ports": s.ports.iter().map(|p| json!({
            "port": p.port,
            "name": p.name,
            "target_port": p.target_port,
            "declared": p.declared.as_str(),
            "declared_reason": p.declared_reason,
            "protocol": p.believed.as_str(),
            "reason": p.reason,
            "server_first": p.server_first,
        })).collect::<Vec<_>>(),
        "role": s.role.as_str(),
        "role_reason": s.role_reason,
        "workloads": s.workloads.iter().map(|w| json!({
            "name": w.name,
            "kind": w.kind.as_str(),
            "service_account": w.service_account,
            "sidecar_annotation": w.sidecar_annotation,
            "file": &*w.origin.file,
            "line": w.origin.line,
        })).collect::<Vec<_>>(),
        "exposure": {
            "ingress_gateway": s.exposure.ingress_gateway.iter().map(origin).collect::<Vec<_>>(),
            "ingress": s.exposure.ingress.iter().map(origin).collect::<Vec<_>>(),
            "direct": s.exposure.direct.as_ref().map(|(t, o)| json!({"type": t.as_str(), "file": &*o.file, "line": o.line})),
        },
        "timeout_audit": s.timeout_audit.as_str(),
        "current_settings": s.settings.iter().map(|r| json!({
            "key": r.key,
            "value": r.raw,
            "kind": if r.is_timeout { "timeout" } else { "retries" },
            "seconds": if r.is_timeout { Some(r.value) } else { None },
            "attempts": if r.is_timeout { None } else { Some(r.value) },
            "file": &*r.origin.file,
            "line": r.origin.line,
        })).collect::<Vec<_>>(),
        "callers": callers(&s.callers),
        "hidden_calls": s.hidden_calls.iter().map(|h| json!({
            "workload": h.workload, "why": h.why, "signal": h.signal,
            "file": &*h.origin.file, "line": h.origin.line,
        })).collect::<Vec<_>>(),
        "file": &*s.origin.file,
        "line": s.origin.line,
    })
}

fn callers(k: &CallerKnowledge) -> Value {
    json!({
        "completeness": k.level.as_str(),
        "basis": (!k.basis.is_empty()).then_some(&k.basis),
        "reasons": k.reasons.iter().map(|r| json!({
            "code": r.code,
            "message": r.message,
            "file": r.origin.as_ref().map(|o| &*o.file),
            "line": r.origin.as_ref().map(|o| o.line),
        })).collect::<Vec<_>>(),
    })
}

/// How many services' callers are known, partial and unknown: the graph is probably
/// incomplete when any is not known.
fn completeness(t: &Topology) -> Value {
    let count = |level| {
        t.services
            .iter()
            .filter(|s| s.callers.level == level)
            .count()
    };
    json!({
        "known": count(Completeness::Known),
        "partial": count(Completeness::Partial),
        "unknown": count(Completeness::Unknown),
        "probably_incomplete": count(Completeness::Known) < t.services.len(),
    })
}

fn edge(e: &Edge) -> Value {
    json!({
        "from": e.from.to_string(),
        "to": e.to.to_string(),
        "port": e.port,
        "protocol": e.protocol.as_str(),
        "confidence": e.confidence,
        "observed": e.observed.as_ref().map(counts),
        "evidence": evidence(&e.evidence),
    })
}

fn counts(c: &CallCounts) -> Value {
    json!({
        "requests": c.requests, "ok": c.ok, "client_errors": c.client_errors,
        "server_errors": c.server_errors, "denied": c.denied, "shadow_denied": c.shadow_denied,
        "mtls": c.mtls, "plaintext": c.plaintext,
    })
}

fn traffic(r: &TrafficReport) -> Value {
    json!({
        "sources": r.sources.iter().map(|s| json!({
            "name": s.name, "format": s.format.as_str(), "lines": s.lines, "calls": s.calls, "bytes": s.bytes,
        })).collect::<Vec<_>>(),
        "unmatched": r.unmatched.iter().map(|u| json!({
            "side": u.side, "name": u.name, "why": u.why, "requests": u.requests,
            "file": &*u.origin.file, "line": u.origin.line,
        })).collect::<Vec<_>>(),
        "outside": r.outside.iter().map(|o| json!({
            "service": o.service.to_string(), "requests": o.requests,
            "file": &*o.origin.file, "line": o.origin.line,
        })).collect::<Vec<_>>(),
        "unseen": r.unseen.iter().map(|u| json!({
            "from": u.from.to_string(), "to": u.to.to_string(), "confidence": u.confidence,
            "dropped": u.dropped, "evidence": evidence(u.evidence.as_slice()),
        })).collect::<Vec<_>>(),
        "shadow_denied": r.shadow_denied.iter().map(|d| json!({
            "service": d.service.to_string(), "caller": d.caller, "requests": d.requests,
            "file": &*d.origin.file, "line": d.origin.line,
        })).collect::<Vec<_>>(),
    })
}

fn unresolved(u: &Unresolved) -> Value {
    json!({"from": u.from.to_string(), "host": u.host, "port": u.port, "evidence": evidence(&u.evidence)})
}

fn external(x: &ExternalCall) -> Value {
    json!({"from": x.from.to_string(), "host": x.host, "port": x.port, "protocol": x.protocol.as_str(), "tls": x.tls, "evidence": evidence(&x.evidence)})
}
