//! Hosts as Istio resolves a destination: which Service or ServiceEntry a host names, seen
//! from a namespace. In: the inventory's Services and ServiceEntries. Out: the entry a host
//! names there (with its ports), or nothing.
//!
//! A name without a dot is relative to the namespace (`orders` in `shop` is
//! `orders.shop.svc.cluster.local`); a name with a dot is taken as written, so `orders.shop`
//! names no Service. A Service is visible where its `networking.istio.io/exportTo`
//! annotation exports it (everywhere without one), a ServiceEntry where its `exportTo` does;
//! a wildcard ServiceEntry host (`*.example.com`) covers the names under it. The rules that
//! claim istioctl's codes for hosts and ports (MS303, MS304, MS305, MS307) resolve through
//! here, so they name what istioctl names.

use crate::model::{Inventory, IstioResource, Node, Service};
use std::collections::HashMap;

/// What a host names.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Service(&'a Service),
    ServiceEntry(&'a IstioResource),
}

impl Target<'_> {
    /// The port numbers it declares, in order.
    pub fn ports(&self) -> Vec<i64> {
        match self {
            Target::Service(s) => s.ports.iter().map(|p| i64::from(p.port)).collect(),
            Target::ServiceEntry(se) => se
                .spec()
                .at("ports")
                .as_seq()
                .iter()
                .filter_map(|p| p.at("number").as_i64())
                .collect(),
        }
    }

    /// `Service shop/orders` or `ServiceEntry shop/stripe`.
    pub fn label(&self) -> String {
        match self {
            Target::Service(s) => format!("Service {}/{}", s.namespace, s.name),
            Target::ServiceEntry(se) => format!("ServiceEntry {}/{}", se.namespace, se.name),
        }
    }
}

/// Every visible (scope, host) of the inventory. A scope is a namespace, or `*` for all.
pub struct Visibility<'a> {
    exact: HashMap<(String, String), Target<'a>>,
    /// (scope, suffix a wildcard host matches, target), in input order.
    wildcards: Vec<(String, String, Target<'a>)>,
}

/// `host` as a fully qualified name in `namespace`: names without a dot get the namespace's
/// cluster-local suffix; wildcards and dotted names are kept as written.
pub fn fqdn(namespace: &str, host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('*') || host.contains('.') {
        host
    } else {
        format!("{host}.{namespace}.svc.cluster.local")
    }
}

/// A resource's `spec.exportTo` list.
pub fn export_to(spec: &Node) -> Vec<&str> {
    spec.at("exportTo")
        .as_seq()
        .iter()
        .filter_map(Node::as_str)
        .collect()
}

impl<'a> Visibility<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut v = Visibility {
            exact: HashMap::new(),
            wildcards: Vec::new(),
        };
        for se in inventory.istio.iter().filter(|r| r.kind == "ServiceEntry") {
            let scopes = scopes(&export_to(se.spec()), &se.namespace);
            for host in se
                .spec()
                .at("hosts")
                .as_seq()
                .iter()
                .filter_map(Node::as_str)
            {
                for scope in &scopes {
                    v.add(scope, fqdn(&se.namespace, host), Target::ServiceEntry(se));
                }
            }
        }
        for svc in &inventory.services {
            let annotation = svc
                .annotations
                .get("networking.istio.io/exportTo")
                .unwrap_or("");
            let listed: Vec<&str> = annotation
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            for scope in scopes(&listed, &svc.namespace) {
                v.add(
                    &scope,
                    fqdn(&svc.namespace, &svc.name),
                    Target::Service(svc),
                );
            }
        }
        v
    }

    fn add(&mut self, scope: &str, host: String, target: Target<'a>) {
        if let Some(suffix) = host.strip_prefix('*') {
            self.wildcards
                .push((scope.to_string(), suffix.to_string(), target));
        } else {
            self.exact
                .entry((scope.to_string(), host))
                .or_insert(target);
        }
    }

    /// What `host` names for a resource in `namespace` exported to `export_to` (its
    /// `spec.exportTo`; empty for its own namespace only), as istioctl looks it up: hosts
    /// exported everywhere, then those exported to the resource's scopes, then wildcards
    /// visible from its namespace.
    pub fn lookup(&self, namespace: &str, export_to: &[&str], host: &str) -> Option<Target<'a>> {
        let name = fqdn(namespace, host);
        let get = |scope: &str| self.exact.get(&(scope.to_string(), name.clone())).copied();
        if let Some(t) = get("*") {
            return Some(t);
        }
        let found = if export_to.is_empty() {
            get(namespace)
        } else {
            export_to
                .iter()
                .find_map(|e| get(if *e == "." { namespace } else { e }))
        };
        if found.is_some() {
            return found;
        }
        let bare = name.strip_prefix('*').unwrap_or(&name);
        self.wildcards
            .iter()
            .find(|(scope, suffix, _)| {
                (scope == "*" || scope == namespace) && bare.ends_with(suffix.as_str())
            })
            .map(|(_, _, t)| *t)
    }
}

/// The scopes an `exportTo` list makes visible: everywhere when empty, `.` is the resource's
/// own namespace.
fn scopes(listed: &[&str], namespace: &str) -> Vec<String> {
    if listed.is_empty() {
        return vec!["*".into()];
    }
    listed
        .iter()
        .map(|e| if *e == "." { namespace } else { e }.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_relative_and_dotted_names_are_taken_as_written() {
        assert_eq!(fqdn("shop", "orders"), "orders.shop.svc.cluster.local");
        assert_eq!(fqdn("shop", "orders.shop"), "orders.shop");
        assert_eq!(fqdn("shop", "*.example.com"), "*.example.com");
        assert_eq!(fqdn("shop", "Orders"), "orders.shop.svc.cluster.local");
    }

    #[test]
    fn export_lists_become_scopes() {
        assert_eq!(scopes(&[], "shop"), ["*"]);
        assert_eq!(scopes(&[".", "edge"], "shop"), ["shop", "edge"]);
    }
}
