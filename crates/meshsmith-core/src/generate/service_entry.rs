//! ServiceEntry per external host: makes calls to hosts outside the cluster known to the mesh
//! (so they keep working under `REGISTRY_ONLY` and show up in telemetry by name).
//!
//! In: the graph's external calls. Out: one ServiceEntry per (caller namespace, host),
//! exported to that namespace only, in the folder of its first caller. Ports come from the
//! evidence, else from the scheme (443 for TLS, 80 for HTTP). IP literals are skipped: a
//! ServiceEntry host must be a name. Cloud metadata endpoints and link-local hosts get none
//! unless the policy file allows them (`egress.allow`), and then carry its reason.

use super::Context;
use crate::model::*;
use std::collections::BTreeMap;

/// Annotation on a ServiceEntry for a cloud metadata or link-local host: the reason the
/// policy file gave for letting callers reach it.
pub const EGRESS_REASON_ANNOTATION: &str = "meshsmith.dev/egress-reason";

pub(crate) fn build(cx: &Context, out: &mut MeshConfig) {
    let mut by_host: BTreeMap<(String, String), Vec<&ExternalCall>> = BTreeMap::new();
    for call in &cx.topology.external {
        if cx.policy.skips(&call.from.namespace) {
            continue;
        }
        if let Some(restricted) = call.restricted {
            if cx.policy.egress_allowance(&call.host).is_none() {
                out.notes.push(format!(
                    "{}: `{}` is {}, no ServiceEntry unless `egress.allow` in the policy file \
                     lists it with a reason",
                    call.from,
                    call.host,
                    restricted.describe()
                ));
                continue;
            }
        }
        if call.host.parse::<std::net::IpAddr>().is_ok() || !is_dns_name(&call.host) {
            out.notes.push(format!(
                "{}: external host `{}` is not a DNS name, no ServiceEntry",
                call.from, call.host
            ));
            continue;
        }
        by_host
            .entry((
                call.from.namespace.to_string(),
                call.host.to_ascii_lowercase(),
            ))
            .or_default()
            .push(call);
    }
    for ((namespace, host), mut calls) in by_host {
        calls.sort_by(|a, b| a.from.cmp(&b.from));
        let Some(owner) = calls.first().map(|c| c.from.clone()) else {
            continue;
        };
        let mut ports: BTreeMap<u16, (String, String)> = BTreeMap::new();
        for call in &calls {
            let Some((number, protocol)) = port_of(call) else {
                out.notes.push(format!(
                    "{}: no port known for external host `{host}`",
                    call.from
                ));
                continue;
            };
            let why = format!(
                "{} calls it{}",
                call.from,
                call.evidence
                    .first()
                    .map(|e| format!(" ({} at {})", e.detail, e.origin))
                    .unwrap_or_default()
            );
            ports.entry(number).or_insert((protocol.to_string(), why));
        }
        if ports.is_empty() {
            continue;
        }
        let mut reasons = Vec::new();
        let entries = ports
            .iter()
            .map(|(number, (protocol, why))| {
                reasons.push(Reason::new(
                    "spec.ports",
                    format!("{number}/{protocol}"),
                    why,
                ));
                ServiceEntryPort {
                    number: *number,
                    protocol: protocol.clone(),
                    name: format!("{}-{number}", protocol.to_ascii_lowercase()),
                }
            })
            .collect();
        reasons.push(Reason::new(
            "spec.exportTo",
            ".",
            format!("only callers in {namespace} need it"),
        ));
        let spec = ServiceEntrySpec {
            hosts: vec![host.clone()],
            export_to: vec![".".to_string()],
            location: "MESH_EXTERNAL".to_string(),
            resolution: "DNS".to_string(),
            ports: entries,
        };
        let name = format!("external-{}", host.replace('.', "-"));
        let mut res = cx.resource(Kind::ServiceEntry, &name, &owner, Spec::ServiceEntry(spec));
        if let Some(allowed) = calls
            .iter()
            .find_map(|c| c.restricted)
            .and(cx.policy.egress_allowance(&host))
        {
            // The exception is written next to what it opens, as PERMISSIVE reasons are.
            res.annotations
                .insert(EGRESS_REASON_ANNOTATION.to_string(), allowed.reason.clone());
            reasons.push(Reason::new(
                "spec.hosts",
                &host,
                format!(
                    "allowed by the policy file ({}): {}",
                    cx.policy
                        .set_at(&format!("egress.allow.{}", allowed.host))
                        .unwrap_or_else(|| "egress.allow".to_string()),
                    allowed.reason
                ),
            ));
        }
        res.reasons = cx.kept(|| reasons);
        out.resources.push(Box::new(res));
    }
    unused_allowances(cx, out);
}

/// A note for each `egress.allow` entry no restricted external call needs.
fn unused_allowances(cx: &Context, out: &mut MeshConfig) {
    for allowed in &cx.policy.egress_allow {
        let used = cx
            .topology
            .external
            .iter()
            .any(|c| c.restricted.is_some() && allowed.matches(&c.host));
        if !used {
            out.notes.push(format!(
                "policy `egress.allow` of `{}` ({}) matches no cloud metadata or link-local host \
                 the manifests call",
                allowed.host,
                cx.policy
                    .set_at(&format!("egress.allow.{}", allowed.host))
                    .unwrap_or_default()
            ));
        }
    }
}

/// The port and Istio protocol of an external call. An application speaking TLS itself is
/// passed through as TLS; the proxy cannot see inside.
fn port_of(call: &ExternalCall) -> Option<(u16, &'static str)> {
    let protocol = if call.tls {
        "TLS"
    } else {
        match call.protocol {
            Protocol::Http => "HTTP",
            Protocol::Http2 => "HTTP2",
            Protocol::Grpc => "GRPC",
            Protocol::Tls => "TLS",
            _ => "TCP",
        }
    };
    let number = match (call.port, protocol) {
        (Some(p), _) if p > 0 => p,
        (_, "TLS") => 443,
        (_, "HTTP") => 80,
        _ => return None,
    };
    Some((number, protocol))
}

fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}
