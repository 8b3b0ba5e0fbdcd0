//! The Services a node is reached by: its own and its aliases (other Services selecting the
//! same pods, headless twins included). Each is a host of its own in Istio, so each gets its
//! own route and circuit breaker, built from the node's settings; the node's own comes first.

use super::{fqdn, routable};
use crate::model::*;

/// One Service a node is reached by, with its own ports: the node's own, or an alias.
pub(crate) struct Host<'a> {
    pub name: &'a str,
    pub ports: &'a [PortInfo],
    /// Set for an alias: another Service selecting the node's workloads.
    pub alias: Option<&'a ServiceAlias>,
}

/// Every Service a routable node is reached by, its own first: each is a host of its own
/// and gets its own route and circuit breaker.
pub(crate) fn hosts(service: &MeshService) -> Vec<Host<'_>> {
    let Some(name) = routable(service) else {
        return Vec::new();
    };
    let own = Host {
        name,
        ports: &service.ports,
        alias: None,
    };
    let aliases = service.aliases.iter().map(|a| Host {
        name: &a.name,
        ports: &a.ports,
        alias: Some(a),
    });
    std::iter::once(own).chain(aliases).collect()
}

/// Why an alias gets resources of its own, for the first reason of each.
pub(crate) fn alias_reason(service: &MeshService, alias: &ServiceAlias) -> Reason {
    Reason::new(
        "host",
        fqdn(&alias.name, &service.id.namespace),
        format!(
            "Service {} selects the pods of {}: callers that use this name reach them through \
             a host of its own, with the same settings",
            alias.name, service.id
        ),
    )
}
