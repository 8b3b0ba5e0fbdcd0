//! What a generated policy says, read back from its typed spec: the principals and the
//! identity-free ports an AuthorizationPolicy admits, and whether a PeerAuthentication is
//! STRICT. The plan's effects carry these, so plan.json can be checked without the YAML.

use crate::model::*;

/// The AuthorizationPolicy's principals, sorted.
pub(crate) fn principals(r: &Resource) -> Vec<String> {
    let mut out: Vec<String> = match &r.spec {
        Spec::AuthorizationPolicy(ap) => ap
            .rules
            .iter()
            .flat_map(|rule| rule.from.iter())
            .flat_map(|f| f.source.principals.iter().cloned())
            .collect(),
        _ => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

/// Workload ports on which the AuthorizationPolicy admits requests without an identity.
pub(crate) fn plain_ports(r: &Resource) -> Vec<u16> {
    let mut out: Vec<u16> = match &r.spec {
        Spec::AuthorizationPolicy(ap) => ap
            .rules
            .iter()
            .filter(|rule| {
                rule.from
                    .iter()
                    .any(|f| f.source.not_principals.iter().any(|p| p == "*"))
            })
            .flat_map(|rule| rule.to.iter())
            .flat_map(|t| t.operation.ports.iter())
            .filter_map(|p| p.parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

pub(crate) fn is_strict(r: &Resource) -> bool {
    matches!(&r.spec, Spec::PeerAuthentication(pa) if pa.mtls.mode == "STRICT")
}
