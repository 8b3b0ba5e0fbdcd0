//! What `kubectl logs` adds to a line, and the istio-proxy container's own log lines.
//!
//! `kubectl logs --prefix` writes `[pod/NAME/CONTAINER] ` before each line; `--timestamps`
//! writes an RFC 3339 time and a space. The proxy's own lines are Envoy's
//! (`[2024-05-01 10:00:00.123][14][warning][config] ...`) and the Istio agent's
//! (`2024-05-01T10:00:00.123456Z\tinfo\t...`); they are skipped, except Envoy's RBAC debug
//! lines (`rbac:debug`), which carry dry-run results: a `checking request: ...` line names
//! the caller's certificate (`uriSanPeerCertificate: spiffe://...`), and the `shadow denied,
//! matched policy ns[NS]-policy[NAME]-rule[N]` line after it says a dry-run policy would
//! have denied that request. That is one call to the pod, from that principal.

use super::aggregate::{CallRef, PeerRef, TargetRef};
use super::names::{parse_cluster, port_of_address, principal, scrub, service_of_host};
use super::reader::FileContext;
use super::TrafficError;
use crate::model::{CallCounts, Reporter, TrafficFormat};
use std::collections::HashMap;

/// `[pod/NAME/CONTAINER] rest` -> (Some(NAME), rest).
pub(crate) fn strip_kubectl_prefix(line: &str) -> (Option<&str>, &str) {
    let Some(inner) = line.strip_prefix("[pod/") else {
        return (None, line);
    };
    let Some(end) = inner.find(']') else {
        return (None, line);
    };
    let (tag, rest) = (&inner[..end], &inner[end + 1..]);
    let Some(rest) = rest.strip_prefix(' ') else {
        return (None, line);
    };
    let pod = tag.split('/').next().unwrap_or("");
    if super::names::is_dns_label(pod) {
        (Some(pod), rest)
    } else {
        (None, line)
    }
}

/// `2024-05-01T10:00:00.123456789Z rest` -> rest, when rest is a line meshsmith reads.
pub(crate) fn strip_kubectl_timestamp(line: &str) -> &str {
    match line.split_once(' ') {
        Some((time, rest)) if is_rfc3339(time) && rest.starts_with(['[', '{']) => rest,
        _ => line,
    }
}

/// `2024-05-01T10:00:00...` (date, 'T', time; zone as written).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// A line of Envoy's or the Istio agent's own log.
pub(crate) fn is_proxy_log(line: &str) -> bool {
    let b = line.as_bytes();
    if b.first() == Some(&b'[') {
        // [2024-05-01 10:00:00.123][14][warning][config] ...
        return b.len() > 12
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b'-'
            && line.contains("][");
    }
    // 2024-05-01T10:00:00.123456Z<TAB>info<TAB>...
    match line.split_once('\t') {
        Some((time, rest)) => {
            is_rfc3339(time)
                && [
                    "debug", "info", "warn", "warning", "error", "critical", "fatal",
                ]
                .iter()
                .any(|level| rest.starts_with(level))
        }
        None => false,
    }
}

/// The last `checking request` a pod's proxy logged.
#[derive(Debug, Default, Clone)]
struct Check {
    principal: Option<String>,
    port: Option<u16>,
    /// The namespace of the Service named by the request's SNI, the pod's own.
    namespace: Option<String>,
    plaintext: bool,
}

/// RBAC debug lines seen so far, per pod.
#[derive(Debug, Default)]
pub(crate) struct DryRun {
    pending: HashMap<Option<String>, Check>,
}

impl DryRun {
    /// Reads one line of the proxy's own log.
    pub fn line(&mut self, ctx: &mut FileContext, line: &str, pod: Option<&str>, at: u64) {
        if let Some(i) = line.find("checking request: ") {
            let check = parse_check(&line[i..]);
            self.pending.insert(pod.map(str::to_string), check);
        } else if let Some(i) = line.find("shadow denied") {
            let policy = line[i..]
                .split_once("matched policy ")
                .map(|(_, p)| p.split_whitespace().next().unwrap_or("").to_string());
            let check = self
                .pending
                .remove(&pod.map(str::to_string))
                .unwrap_or_default();
            record_denied(ctx, &check, policy.as_deref(), pod, at);
        } else if line.contains("shadow allowed") {
            self.pending.remove(&pod.map(str::to_string));
        }
    }
}

/// `checking request: requestedServerName: SNI, sourceIP: ..., localAddress: IP:PORT, ssl:
/// uriSanPeerCertificate: spiffe://..., dnsSanPeerCertificate: , ...` (or `ssl: none`).
fn parse_check(text: &str) -> Check {
    let field = |name: &str| {
        text.split_once(name)
            .map(|(_, rest)| rest.split([',', ' ']).next().unwrap_or("").trim())
    };
    let sni = field("requestedServerName: ").unwrap_or("");
    let namespace = parse_cluster(sni)
        .and_then(|c| service_of_host(c.host))
        .map(|(ns, _)| ns.to_string());
    let principal = field("uriSanPeerCertificate: ")
        .and_then(principal)
        .and_then(|p| match p {
            PeerRef::Principal(p) => Some(p.to_string()),
            _ => None,
        });
    Check {
        plaintext: text.contains("ssl: none"),
        port: field("localAddress: ").and_then(port_of_address),
        namespace,
        principal,
    }
}

fn record_denied(
    ctx: &mut FileContext,
    check: &Check,
    policy: Option<&str>,
    pod: Option<&str>,
    line: u64,
) {
    let Some(pod) = pod else {
        let file = ctx.name();
        ctx.error(TrafficError::NoPod { file, line });
        return;
    };
    let source = match &check.principal {
        Some(p) => PeerRef::Principal(p),
        None => PeerRef::Unknown,
    };
    let call = CallRef {
        source,
        destination: TargetRef::Pod {
            namespace: check.namespace.as_deref(),
            name: pod,
        },
        port: check.port,
        protocol: None,
        reporter: Reporter::Destination,
        format: TrafficFormat::AccessLogText,
    };
    let counts = CallCounts {
        requests: 1,
        shadow_denied: 1,
        mtls: u64::from(check.principal.is_some()),
        plaintext: u64::from(check.plaintext),
        ..CallCounts::default()
    };
    let detail = || {
        let who = check.principal.as_deref().map_or_else(
            || "a caller the log does not name".to_string(),
            |p| format!("spiffe://{p}"),
        );
        let policy = policy
            .map(|p| format!(" ({})", scrub(p)))
            .unwrap_or_default();
        format!("rbac debug: a dry-run policy would have denied {who}{policy}")
    };
    ctx.record(&call, &counts, line, &detail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_prefixes() {
        let (pod, rest) = strip_kubectl_prefix(
            "[pod/reviews-v1-545db77b95-2ps7q/istio-proxy] [2024-01-01T00:00:00.000Z] \"GET",
        );
        assert_eq!(pod, Some("reviews-v1-545db77b95-2ps7q"));
        assert!(rest.starts_with("[2024"));
        assert_eq!(
            strip_kubectl_prefix("[2024-01-01 00:00:00][1][info][main] x").0,
            None
        );
        assert_eq!(
            strip_kubectl_timestamp("2024-05-01T10:00:00.123456789Z {\"a\":1}"),
            "{\"a\":1}"
        );
        assert_eq!(
            strip_kubectl_timestamp("2024-05-01T10:00:00.1Z\tinfo\tx"),
            "2024-05-01T10:00:00.1Z\tinfo\tx"
        );
    }

    #[test]
    fn proxy_lines() {
        assert!(is_proxy_log(
            "[2024-05-01 10:00:00.123][14][warning][config] gRPC config stream closed"
        ));
        assert!(is_proxy_log(
            "2024-05-01T10:00:00.123456Z\tinfo\tEnvoy proxy is ready"
        ));
        assert!(!is_proxy_log(
            "127.0.0.1 - - [01/May/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200"
        ));
    }

    #[test]
    fn check_lines() {
        let c = parse_check("checking request: requestedServerName: outbound_.8000_._.httpbin.foo.svc.cluster.local, sourceIP: 10.0.0.5:4444, directRemoteIP: 10.0.0.5:4444, remoteIP: 10.0.0.5:4444,localAddress: 10.0.0.9:80, ssl: uriSanPeerCertificate: spiffe://cluster.local/ns/foo/sa/sleep, dnsSanPeerCertificate: , subjectPeerCertificate: , headers: ':authority', 'httpbin.foo:8000'");
        assert_eq!(
            c.principal.as_deref(),
            Some("cluster.local/ns/foo/sa/sleep")
        );
        assert_eq!(c.port, Some(80));
        assert_eq!(c.namespace.as_deref(), Some("foo"));
        assert!(!c.plaintext);
    }
}
