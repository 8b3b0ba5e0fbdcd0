//! Istio's names as traffic writes them -> their parts: Envoy cluster names and Istio SNI
//! (`outbound|9080||reviews.default.svc.cluster.local`, `outbound_.9080_._.reviews...`),
//! Service hosts, SPIFFE principals, the pod a log file belongs to; and the scrubbing that
//! keeps credentials and query strings out of what is shown.

use super::aggregate::{PeerRef, TargetRef};
use std::borrow::Cow;

/// Which way an Envoy cluster sends traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Outbound,
    Inbound,
}

/// An Istio cluster name or SNI, taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cluster<'a> {
    pub direction: Direction,
    pub port: Option<u16>,
    /// Empty for inbound clusters since Istio 1.10 (`inbound|9080||`).
    pub host: &'a str,
}

/// Reads `outbound|9080|v1|reviews.default.svc.cluster.local` and `inbound|9080||` (as
/// `%UPSTREAM_CLUSTER_RAW%` writes them) and the stat-name form that `%UPSTREAM_CLUSTER%` and
/// Istio's SNI use: `outbound_.9080_.v1_.reviews.default.svc.cluster.local`.
pub(crate) fn parse_cluster(name: &str) -> Option<Cluster<'_>> {
    if !(name.starts_with("outbound") || name.starts_with("inbound")) {
        return None;
    }
    let mut parts: [&str; 4] = [""; 4];
    let count = if name.contains('|') {
        fill(&mut parts, name.splitn(4, '|'))
    } else {
        fill(&mut parts, name.splitn(4, "_."))
    };
    let direction = match parts[0] {
        "outbound" => Direction::Outbound,
        "inbound" => Direction::Inbound,
        _ => return None,
    };
    if count < 2 {
        return None;
    }
    let port = parts[1].parse::<u16>().ok();
    let host = if count == 4 { parts[3] } else { "" };
    Some(Cluster {
        direction,
        port,
        host,
    })
}

fn fill<'a>(parts: &mut [&'a str; 4], split: impl Iterator<Item = &'a str>) -> usize {
    let mut count = 0;
    for (slot, part) in parts.iter_mut().zip(split) {
        *slot = part;
        count += 1;
    }
    count
}

/// Clusters through which Istio sends what matches no Service.
pub(crate) fn is_passthrough(cluster: &str) -> bool {
    matches!(cluster, "PassthroughCluster" | "BlackHoleCluster")
}

/// Inbound traffic to a port no Service declares.
pub(crate) fn is_inbound_passthrough(cluster: &str) -> bool {
    cluster.starts_with("InboundPassthroughCluster")
}

/// `reviews.default.svc.cluster.local` (or any cluster domain) -> the Service; other hosts
/// (external names, IP addresses) stay hosts.
pub(crate) fn target_from_host(host: &str) -> TargetRef<'_> {
    match service_of_host(host) {
        Some((namespace, name)) => TargetRef::Service {
            namespace: Some(namespace),
            name,
        },
        None => TargetRef::Host(scrub(host)),
    }
}

/// The (namespace, name) of a `name.namespace.svc[.domain]` host.
pub(crate) fn service_of_host(host: &str) -> Option<(&str, &str)> {
    let mut labels = host.split('.');
    let name = labels.next()?;
    let namespace = labels.next()?;
    if labels.next()? != "svc" || name.is_empty() || namespace.is_empty() {
        return None;
    }
    Some((namespace, name))
}

/// A mesh identity without its `spiffe://` scheme, so metrics and logs name it alike.
pub(crate) fn principal(value: &str) -> Option<PeerRef<'_>> {
    let value = value.trim();
    let bare = value.strip_prefix("spiffe://").unwrap_or(value);
    if bare.is_empty() || bare == "-" || bare == "unknown" || bare.contains(char::is_whitespace) {
        return None;
    }
    Some(PeerRef::Principal(bare))
}

/// The pod a log file belongs to, as `kubectl logs POD > POD.log` names it: the file name up
/// to its first dot (`productpage-v1-6b746f74dc-9stp2.log`,
/// `reviews-v1-545db77b95-2ps7q.istio-proxy.log`), when that is a valid pod name.
pub(crate) fn pod_of_file(path: &str) -> Option<String> {
    if path == "<stdin>" || path == "-" {
        return None;
    }
    let file = path.rsplit(['/', '\\']).next()?;
    let stem = file.split('.').next()?;
    is_dns_label(stem).then(|| stem.to_string())
}

/// Lowercase letters, digits and '-', starting and ending with a letter or digit.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The port of `10.0.0.1:9080` or `[::1]:9080`.
pub(crate) fn port_of_address(address: &str) -> Option<u16> {
    address.rsplit_once(':')?.1.parse().ok()
}

/// A value fit to show: no query string or fragment, no `user:password@`, at most
/// [`SHOWN_CHARS`] characters.
pub(crate) fn scrub(value: &str) -> Cow<'_, str> {
    let mut cut = value;
    if let Some(i) = cut.find(['?', '#']) {
        cut = &cut[..i];
    }
    let mut owned: Option<String> = None;
    if let Some(at) = cut.find('@') {
        let start = cut.find("://").map_or(0, |i| i + 3);
        if start <= at && !cut[start..at].contains('/') {
            owned = Some(format!("{}{}", &cut[..start], &cut[at + 1..]));
        }
    }
    let text = owned.map_or(Cow::Borrowed(cut), Cow::Owned);
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let end = text
        .char_indices()
        .nth(SHOWN_CHARS)
        .map_or(text.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &text[..end]))
}

/// The most characters of one value shown in a detail.
pub(crate) const SHOWN_CHARS: usize = 120;

/// The start of a line, fit to show in an error.
pub(crate) fn shown_start(line: &str) -> String {
    let printable: String = line
        .chars()
        .take(80)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    scrub(printable.trim()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_in_both_spellings() {
        let raw = parse_cluster("outbound|9080||reviews.default.svc.cluster.local");
        let stat = parse_cluster("outbound_.9080_._.reviews.default.svc.cluster.local");
        let want = Some(Cluster {
            direction: Direction::Outbound,
            port: Some(9080),
            host: "reviews.default.svc.cluster.local",
        });
        assert_eq!(raw, want);
        assert_eq!(stat, want);
        let subset = parse_cluster("outbound|9080|v1|reviews.default.svc.cluster.local");
        assert_eq!(
            subset.map(|c| c.host),
            Some("reviews.default.svc.cluster.local")
        );
        let inbound = parse_cluster("inbound|9080||");
        assert_eq!(
            inbound.map(|c| (c.direction, c.port)),
            Some((Direction::Inbound, Some(9080)))
        );
        assert_eq!(parse_cluster("PassthroughCluster"), None);
        assert_eq!(parse_cluster("outbound"), None);
    }

    #[test]
    fn hosts_and_principals() {
        assert_eq!(
            service_of_host("reviews.default.svc.cluster.local"),
            Some(("default", "reviews"))
        );
        assert_eq!(service_of_host("www.googleapis.com"), None);
        assert_eq!(
            principal("spiffe://cluster.local/ns/default/sa/bookinfo-productpage"),
            Some(PeerRef::Principal(
                "cluster.local/ns/default/sa/bookinfo-productpage"
            ))
        );
        assert_eq!(principal("unknown"), None);
    }

    #[test]
    fn pods_from_file_names() {
        assert_eq!(
            pod_of_file("logs/productpage-v1-6b746f74dc-9stp2.log").as_deref(),
            Some("productpage-v1-6b746f74dc-9stp2")
        );
        assert_eq!(
            pod_of_file("x/reviews-v1-5-abc.istio-proxy.log").as_deref(),
            Some("reviews-v1-5-abc")
        );
        assert_eq!(pod_of_file("<stdin>"), None);
        assert_eq!(pod_of_file("Capital.log"), None);
    }

    #[test]
    fn scrub_drops_credentials_and_queries() {
        assert_eq!(scrub("/login?user=a&password=b"), "/login");
        assert_eq!(
            scrub("https://user:pw@example.com/x"),
            "https://example.com/x"
        );
        assert_eq!(scrub("user:pw@example.com"), "example.com");
        assert_eq!(scrub("reviews:9080"), "reviews:9080");
        assert_eq!(scrub("a@b://c"), "a@b://c");
        assert!(scrub(&"a".repeat(500)).chars().count() <= SHOWN_CHARS + 1);
    }
}
