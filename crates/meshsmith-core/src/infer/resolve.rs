//! Host names -> what they point at: a Service of the inventory, a name that looks in-cluster
//! but matches nothing (dangling), a host outside the cluster, or nothing worth reporting
//! (loopback, placeholders).
//!
//! In-cluster forms: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<cluster-domain>`, and pod
//! names under a headless Service (`pod-0.svc.ns.svc.cluster.local`).

use super::address::is_ip;
use crate::model::{Inventory, QualifiedName, RestrictedHost};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Service of the inventory (namespace, Service name).
    Service(QualifiedName),
    /// Looks like an in-cluster name but no Service has it.
    Unresolved(String),
    /// A host outside the cluster.
    External(String),
    /// Loopback, wildcard or templated: not a dependency.
    Ignore,
}

/// Top-level domains that make a two-label name external (`stripe.com`) rather than
/// `service.namespace`.
const PUBLIC_SUFFIXES: [&str; 24] = [
    "com", "net", "org", "io", "dev", "co", "ai", "app", "cloud", "internal", "info", "biz", "us",
    "uk", "de", "eu", "fr", "nl", "jp", "cn", "in", "me", "tech", "example",
];

pub struct Resolver {
    services: HashMap<(String, String), ()>,
    namespaces: HashSet<String>,
}

impl Resolver {
    pub fn new(inventory: &Inventory) -> Self {
        let services = inventory
            .services
            .iter()
            .map(|s| ((s.namespace.clone(), s.name.clone()), ()))
            .collect();
        let namespaces = inventory
            .namespaces
            .iter()
            .map(|n| n.name.clone())
            .chain(inventory.services.iter().map(|s| s.namespace.clone()))
            .chain(inventory.workloads.iter().map(|w| w.namespace.clone()))
            .collect();
        Resolver {
            services,
            namespaces,
        }
    }

    fn service(&self, namespace: &str, name: &str) -> Option<QualifiedName> {
        self.services
            .contains_key(&(namespace.to_string(), name.to_string()))
            .then(|| QualifiedName::new(namespace, name))
    }

    /// Resolves `host` as seen from a pod in `caller_namespace`.
    pub fn resolve(&self, host: &str, caller_namespace: &str) -> Target {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty()
            || host == "localhost"
            || host.ends_with(".localhost")
            || host.contains(['$', '{', '}', '%', '<', '>'])
        {
            return Target::Ignore;
        }
        if is_ip(&host) {
            return match host.parse::<std::net::IpAddr>() {
                Ok(ip) if ip.is_loopback() || ip.is_unspecified() => Target::Ignore,
                _ => Target::External(host),
            };
        }
        let labels: Vec<&str> = host.split('.').collect();
        if let Some(i) = labels.iter().position(|l| *l == "svc").filter(|i| *i >= 2) {
            // `[pod.]name.ns.svc[.cluster.local]`
            let (name, ns) = (labels[i - 2], labels[i - 1]);
            return self
                .service(ns, name)
                .map_or(Target::Unresolved(host.clone()), Target::Service);
        }
        match labels.as_slice() {
            [name] => self
                .service(caller_namespace, name)
                .map_or(Target::Unresolved(host.clone()), Target::Service),
            [name, ns] if self.namespaces.contains(*ns) => self
                .service(ns, name)
                .map_or(Target::Unresolved(host.clone()), Target::Service),
            [_, tld] if PUBLIC_SUFFIXES.contains(tld) => Target::External(host),
            [_, _] => Target::Unresolved(host),
            [pod, name, ns] if self.namespaces.contains(*ns) => {
                // A pod of a headless Service without the `svc` suffix is not resolvable by
                // cluster DNS; accept only a real Service.
                let _ = pod;
                self.service(ns, name)
                    .map_or(Target::External(host.clone()), Target::Service)
            }
            _ => Target::External(host),
        }
    }
}

/// Host names of cloud instance metadata services, as their clouds document them.
const METADATA_NAMES: [(&str, &str); 1] =
    [("metadata.google.internal", "Google Cloud's metadata server")];

/// Addresses of cloud metadata and platform endpoints outside the link-local ranges.
const METADATA_ADDRESSES: [(&str, &str); 4] = [
    ("fd00:ec2::254", "the AWS instance metadata service (IPv6)"),
    ("fd00:ec2::23", "the EKS Pod Identity agent (IPv6)"),
    ("100.100.100.200", "Alibaba Cloud's metadata service"),
    ("168.63.129.16", "Azure's platform endpoint (WireServer)"),
];

/// Whether an external host is a cloud metadata endpoint or a link-local address: not a
/// dependency to open a way to without a reason. `169.254.169.254` is the metadata service
/// of AWS, Google Cloud, Azure, Oracle Cloud and OpenStack alike; other link-local
/// addresses (169.254.0.0/16, fe80::/10) are the node's own segment (ECS task credentials
/// at 169.254.170.2, the EKS Pod Identity agent at 169.254.170.23, node-local DNS caches).
pub fn restricted(host: &str) -> Option<RestrictedHost> {
    let host = host
        .trim_matches(['[', ']'])
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Some((_, what)) = METADATA_NAMES.iter().find(|(name, _)| *name == host) {
        return Some(RestrictedHost::CloudMetadata(what));
    }
    let ip: IpAddr = host.parse().ok()?;
    // `::ffff:169.254.169.254` reaches the same address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if let Some((_, what)) = METADATA_ADDRESSES
        .iter()
        .find(|(addr, _)| addr.parse::<IpAddr>().ok() == Some(ip))
    {
        return Some(RestrictedHost::CloudMetadata(what));
    }
    match ip {
        IpAddr::V4(v4) if v4 == Ipv4Addr::new(169, 254, 169, 254) => Some(
            RestrictedHost::CloudMetadata("the cloud's instance metadata service"),
        ),
        IpAddr::V4(v4) if v4.is_link_local() => Some(RestrictedHost::LinkLocal),
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => Some(RestrictedHost::LinkLocal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::inventory;
    use crate::load::{load_text, Limits};

    fn resolver() -> Resolver {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: pay, namespace: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: data}\n";
        let loaded = load_text("s.yaml", text, &Limits::default()).unwrap();
        Resolver::new(&inventory(&loaded.objects, "default"))
    }

    #[test]
    fn every_in_cluster_form_resolves() {
        let r = resolver();
        let pay = Target::Service(QualifiedName::new("shop", "pay"));
        for host in [
            "pay.shop",
            "pay.shop.svc",
            "pay.shop.svc.cluster.local",
            "PAY.shop.svc.cluster.local.",
        ] {
            assert_eq!(r.resolve(host, "other"), pay, "{host}");
        }
        assert_eq!(r.resolve("pay", "shop"), pay);
        assert_eq!(
            r.resolve("db-0.db.data.svc.cluster.local", "x"),
            Target::Service(QualifiedName::new("data", "db"))
        );
    }

    #[test]
    fn dangling_external_and_ignored() {
        let r = resolver();
        assert_eq!(r.resolve("pay", "other"), Target::Unresolved("pay".into()));
        assert_eq!(
            r.resolve("ghost.shop", "x"),
            Target::Unresolved("ghost.shop".into())
        );
        assert_eq!(
            r.resolve("zipkin.jaeger.svc.cluster.local", "x"),
            Target::Unresolved("zipkin.jaeger.svc.cluster.local".into())
        );
        assert_eq!(
            r.resolve("api.stripe.com", "shop"),
            Target::External("api.stripe.com".into())
        );
        assert_eq!(
            r.resolve("stripe.com", "shop"),
            Target::External("stripe.com".into())
        );
        assert_eq!(
            r.resolve("metadata.google.internal", "shop"),
            Target::External("metadata.google.internal".into())
        );
        assert_eq!(r.resolve("localhost", "shop"), Target::Ignore);
        assert_eq!(
            r.resolve("169.254.169.254", "shop"),
            Target::External("169.254.169.254".into())
        );
        assert_eq!(r.resolve("127.0.0.1", "shop"), Target::Ignore);
        assert_eq!(r.resolve("${DB_HOST}", "shop"), Target::Ignore);
    }

    #[test]
    fn cloud_metadata_and_link_local_hosts_are_restricted() {
        let metadata = |h: &str| matches!(restricted(h), Some(RestrictedHost::CloudMetadata(_)));
        for host in [
            "metadata.google.internal",
            "METADATA.google.internal.",
            "169.254.169.254",
            "fd00:ec2::254",
            "[fd00:ec2::254]",
            "::ffff:169.254.169.254",
            "100.100.100.200",
            "168.63.129.16",
        ] {
            assert!(metadata(host), "{host}");
        }
        for host in ["169.254.170.2", "169.254.20.10", "fe80::1", "FE80::a:b"] {
            assert_eq!(restricted(host), Some(RestrictedHost::LinkLocal), "{host}");
        }
        for host in [
            "api.stripe.com",
            "google.internal",
            "metadata",
            "10.0.0.1",
            "169.255.0.1",
            "fd00::254",
            "fec0::1",
        ] {
            assert_eq!(restricted(host), None, "{host}");
        }
    }
}
