//! Istio's Envoy access log entries (text or JSON, see [`text`] and [`json`]) -> calls.
//!
//! The upstream cluster says which way the request went:
//! - `outbound|PORT|SUBSET|HOST`: the pod whose log this is called HOST (a Service when it is
//!   `NAME.NAMESPACE.svc...`, else an external host) on PORT; reported by the source.
//! - `PassthroughCluster` / `BlackHoleCluster`: the pod called a host no Service names (the
//!   authority, else the upstream address); the port is the original destination's.
//! - `inbound|PORT||` / `InboundPassthroughCluster*`: someone called this pod on its container
//!   port; reported by the destination. The caller is the peer identity when the entry
//!   carries one (`spiffe://...`), else a mesh sidecar that is not named
//!   ([`crate::model::ObservedPeer::MeshUnidentified`]) when the request came with an Istio
//!   SNI (`outbound_.PORT_._.HOST`, which only mutual TLS between sidecars sends), else a
//!   caller outside the mesh. The pod's namespace is the one of the Service in that SNI.
//!
//! Protocol: no method is TCP; HTTP/2 with a gRPC status, or a `POST /pkg.Service/Method`,
//! is gRPC; HTTP/2 and HTTP/1 otherwise. Responses: 2xx and 3xx ok, 4xx client errors, 5xx
//! server errors; a 403 (or a closed connection) whose details say `rbac_access_denied` is
//! also counted as denied. Inbound requests count as mTLS when they carry a peer identity
//! or an Istio SNI, else as plain text.

pub(crate) mod json;
pub(crate) mod text;

use super::aggregate::{CallRef, PeerRef, TargetRef};
use super::names::{
    is_inbound_passthrough, is_passthrough, parse_cluster, port_of_address, principal, scrub,
    service_of_host, target_from_host, Direction,
};
use super::reader::FileContext;
use super::TrafficError;
use crate::model::{CallCounts, Protocol, Reporter, TrafficFormat};
use std::borrow::Cow;

/// The fields of one access log entry that say who called whom; `None` where the entry has
/// `-` or nothing.
#[derive(Debug, Default)]
pub(crate) struct Entry<'a> {
    pub method: Option<Cow<'a, str>>,
    pub path: Option<Cow<'a, str>>,
    pub protocol: Option<Cow<'a, str>>,
    pub response_code: Option<u16>,
    pub details: Option<Cow<'a, str>>,
    pub termination_details: Option<Cow<'a, str>>,
    pub authority: Option<Cow<'a, str>>,
    pub upstream_host: Option<Cow<'a, str>>,
    pub upstream_cluster: Option<Cow<'a, str>>,
    pub downstream_local: Option<Cow<'a, str>>,
    pub sni: Option<Cow<'a, str>>,
    pub grpc_status: Option<Cow<'a, str>>,
    /// The caller's identity (`spiffe://...`), when the entry carries it.
    pub peer: Option<Cow<'a, str>>,
    /// A dry-run policy would have denied this request.
    pub dry_run_denied: bool,
    pub dry_run_policy: Option<Cow<'a, str>>,
}

/// A field's value, or `None` for Envoy's `-` and empty values.
pub(crate) fn present<'a>(value: Cow<'a, str>) -> Option<Cow<'a, str>> {
    let v = value.trim();
    (!v.is_empty() && v != "-").then_some(value)
}

/// Records the call `entry` shows; a line that names no destination is counted, not a call.
pub(crate) fn record(
    ctx: &mut FileContext,
    entry: &Entry<'_>,
    pod: Option<&str>,
    format: TrafficFormat,
    line: u64,
) {
    let Some(cluster) = entry.upstream_cluster.as_deref() else {
        return;
    };
    let sides = match parse_cluster(cluster) {
        Some(c) if c.direction == Direction::Outbound => pod.map(|pod| {
            let port = c.port;
            (
                PeerRef::Pod {
                    namespace: None,
                    name: pod,
                },
                target_from_host(c.host),
                port,
                Reporter::Source,
            )
        }),
        Some(c) => inbound(entry, pod, c.port),
        None if is_inbound_passthrough(cluster) => inbound(entry, pod, None),
        None if is_passthrough(cluster) => pod.map(|pod| {
            let host = entry
                .authority
                .as_deref()
                .or(entry.upstream_host.as_deref())
                .unwrap_or(cluster);
            let port = entry.downstream_local.as_deref().and_then(port_of_address);
            (
                PeerRef::Pod {
                    namespace: None,
                    name: pod,
                },
                TargetRef::Host(scrub(host)),
                port,
                Reporter::Source,
            )
        }),
        None => return,
    };
    let Some((source, destination, port, reporter)) = sides else {
        let file = ctx.name();
        ctx.error(TrafficError::NoPod { file, line });
        return;
    };
    let call = CallRef {
        source,
        destination,
        port,
        protocol: Some(protocol_of(entry)),
        reporter,
        format,
    };
    let counts = counts_of(entry, reporter);
    ctx.record(&call, &counts, line, &|| detail_of(entry));
}

/// The sides of an inbound entry; `None` when nothing names the pod or the Service.
fn inbound<'e>(
    entry: &'e Entry<'_>,
    pod: Option<&'e str>,
    port: Option<u16>,
) -> Option<(PeerRef<'e>, TargetRef<'e>, Option<u16>, Reporter)> {
    let sni = entry.sni.as_deref().and_then(parse_cluster);
    let service = sni.and_then(|c| service_of_host(c.host));
    let source = match entry.peer.as_deref().and_then(principal) {
        Some(p) => p,
        None if sni.is_some() => PeerRef::MeshUnidentified,
        None => PeerRef::Unknown,
    };
    let destination = match (pod, service) {
        (Some(pod), service) => TargetRef::Pod {
            namespace: service.map(|(ns, _)| ns),
            name: pod,
        },
        (None, Some((namespace, name))) => TargetRef::Service {
            namespace: Some(namespace),
            name,
        },
        (None, None) => return None,
    };
    let port = port.or_else(|| entry.downstream_local.as_deref().and_then(port_of_address));
    Some((source, destination, port, Reporter::Destination))
}

fn protocol_of(entry: &Entry<'_>) -> Protocol {
    let Some(method) = entry.method.as_deref() else {
        return Protocol::Tcp;
    };
    if entry.grpc_status.is_some() {
        return Protocol::Grpc;
    }
    match entry.protocol.as_deref() {
        Some("HTTP/2" | "HTTP/3") => {
            let grpc_path = entry.path.as_deref().is_some_and(looks_like_grpc_path);
            if method == "POST" && grpc_path {
                Protocol::Grpc
            } else {
                Protocol::Http2
            }
        }
        _ => Protocol::Http,
    }
}

/// `/package.Service/Method`.
fn looks_like_grpc_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    match rest.split_once('/') {
        Some((service, method)) => {
            service.contains('.')
                && !method.contains('/')
                && method.starts_with(|c: char| c.is_ascii_uppercase())
        }
        None => false,
    }
}

fn counts_of(entry: &Entry<'_>, reporter: Reporter) -> CallCounts {
    let mut counts = CallCounts {
        requests: 1,
        ..CallCounts::default()
    };
    add_status(&mut counts, entry.response_code.unwrap_or(0), 1);
    let rbac = |d: &Option<Cow<'_, str>>| {
        d.as_deref()
            .is_some_and(|d| d.starts_with("rbac_access_denied"))
    };
    if rbac(&entry.details) || rbac(&entry.termination_details) {
        counts.denied = 1;
    }
    if entry.dry_run_denied {
        counts.shadow_denied = 1;
    }
    if reporter == Reporter::Destination {
        let sni = entry.sni.as_deref().and_then(parse_cluster).is_some();
        if entry.peer.is_some() || sni {
            counts.mtls = 1;
        } else {
            counts.plaintext = 1;
        }
    }
    counts
}

/// Adds `n` responses of HTTP status `code` to their class; 0 (no response, TCP) to none.
pub(crate) fn add_status(counts: &mut CallCounts, code: u16, n: u64) {
    match code {
        200..=399 => counts.ok += n,
        400..=499 => counts.client_errors += n,
        500..=599 => counts.server_errors += n,
        _ => {}
    }
}

fn detail_of(entry: &Entry<'_>) -> String {
    let mut out = match entry.method.as_deref() {
        Some(method) => format!(
            "{method} {} {}",
            scrub(entry.path.as_deref().unwrap_or("-")),
            entry.protocol.as_deref().unwrap_or("-"),
        ),
        None => "TCP connection".to_string(),
    };
    if let Some(code) = entry.response_code.filter(|&c| c > 0) {
        out.push_str(&format!(" {code}"));
    }
    if let Some(cluster) = entry.upstream_cluster.as_deref() {
        out.push_str(&format!(" {}", scrub(cluster)));
    }
    if let Some(authority) = entry.authority.as_deref() {
        out.push_str(&format!(" to {}", scrub(authority)));
    }
    if let Some(peer) = entry.peer.as_deref() {
        out.push_str(&format!(" from {}", scrub(peer)));
    }
    if entry.dry_run_denied {
        out.push_str("; a dry-run policy would have denied it");
        if let Some(policy) = entry.dry_run_policy.as_deref() {
            out.push_str(&format!(" ({})", scrub(policy)));
        }
    }
    out
}
