//! What a generated policy says, read back from its typed spec: the principals and the
//! identity-free ports an AuthorizationPolicy admits, and whether a PeerAuthentication is
//! STRICT. The plan's effects carry these, so plan.json can be checked without the YAML.
//! The same facts are read from a policy as a Kubernetes object (`object`), for the files a
//! person edited.

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

/// The same facts read from a policy as a Kubernetes object (a file a person edited).
pub(crate) mod object {
    use serde_json::Value;

    fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
        v.as_array().into_iter().flatten().filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    fn rules(policy: &Value) -> impl Iterator<Item = &Value> {
        policy["spec"]["rules"].as_array().into_iter().flatten()
    }

    /// `spec.rules[].from[].source.principals`, sorted.
    pub(crate) fn principals(policy: &Value) -> Vec<String> {
        let mut out: Vec<String> = rules(policy)
            .flat_map(|rule| rule["from"].as_array().into_iter().flatten())
            .flat_map(|f| strings(&f["source"]["principals"]))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Ports of the rules that admit any caller without an identity (`notPrincipals: ["*"]`).
    pub(crate) fn plain_ports(policy: &Value) -> Vec<u16> {
        let mut out: Vec<u16> = rules(policy)
            .filter(|rule| {
                rule["from"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|f| strings(&f["source"]["notPrincipals"]).any(|p| p == "*"))
            })
            .flat_map(|rule| rule["to"].as_array().into_iter().flatten())
            .flat_map(|t| strings(&t["operation"]["ports"]).collect::<Vec<_>>())
            .filter_map(|p| p.parse().ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// `spec.mtls.mode`, if written.
    pub(crate) fn mtls_mode(policy: &Value) -> Option<&str> {
        policy["spec"]["mtls"]["mode"].as_str()
    }

    /// An annotation's text (a YAML `true` written without quotes reads as `true`).
    pub(crate) fn annotation(object: &Value, key: &str) -> Option<String> {
        match &object["metadata"]["annotations"][key] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}
