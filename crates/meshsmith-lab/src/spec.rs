//! The lab's input model: the services on one path through the graph, the mesh policy each one
//! carries (what the generated VirtualService, DestinationRule, PeerAuthentication and
//! AuthorizationPolicy say) and the edges between them. Everything downstream (bootstraps,
//! certificates, scenarios) reads only this; `LabSpec::validate` refuses a spec the lab could not
//! run honestly, before any process starts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The services and edges the lab brings up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// SPIFFE trust domain, `cluster.local` in a default Istio install.
    pub trust_domain: String,
    pub services: Vec<ServiceSpec>,
    pub edges: Vec<EdgeSpec>,
}

/// One service and the policy that applies to traffic towards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    pub namespace: String,
    pub service_account: String,
    pub protocol: Protocol,
    /// PeerAuthentication mode of the service's inbound port.
    pub mtls: MtlsMode,
    /// Takes plain traffic from outside the mesh (a webhook receiver): the lab expects plaintext to
    /// be accepted here and rejected everywhere else.
    #[serde(default)]
    pub external_plaintext: bool,
    /// AuthorizationPolicy ALLOW principals in Istio form (`<trust-domain>/ns/<ns>/sa/<sa>`).
    /// Empty means allow nothing.
    pub allowed_principals: Vec<String>,
    /// An ALLOW rule for requests that carry no peer identity (plaintext under PERMISSIVE).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Replicas the lab starts; outlier detection needs at least two to show an ejection.
    #[serde(default = "one")]
    pub instances: u32,
    pub traffic: TrafficPolicy,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Grpc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MtlsMode {
    Strict,
    Permissive,
}

/// VirtualService route settings and DestinationRule traffic policy for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficPolicy {
    /// Route timeout; 0 means none (Istio writes `timeout: 0s`).
    pub timeout_ms: u64,
    pub retries: RetryPolicy,
    pub outlier_detection: Option<OutlierDetection>,
    pub connection_pool: Option<ConnectionPool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Istio `retries.attempts`: retries after the first try (0 = no retry policy).
    pub attempts: u32,
    /// 0 means the route timeout bounds each try.
    pub per_try_timeout_ms: u64,
    /// Istio `retryOn` conditions, e.g. `5xx`, `connect-failure`, `unavailable`.
    pub retry_on: Vec<String>,
    /// HTTP statuses `retriable-status-codes` retries (Istio's bare numbers in `retryOn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retriable_status_codes: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
    pub interval_ms: u64,
    pub base_ejection_time_ms: u64,
    pub max_ejection_percent: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPool {
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
    /// 0 means unlimited.
    pub max_requests_per_connection: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
}

/// Why a spec cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// A name that would end up in file names, cluster names or SPIFFE IDs is not DNS-label shaped.
    #[error("{what} `{value}` is not a DNS label (lowercase letters, digits and '-')")]
    BadName { what: &'static str, value: String },
    /// Two services share a name.
    #[error("service `{0}` is listed twice")]
    DuplicateService(String),
    /// An edge names a service that is not in the spec.
    #[error("edge {from} -> {to}: unknown service `{missing}`")]
    UnknownService {
        from: String,
        to: String,
        missing: String,
    },
    /// A service calling itself is not an edge.
    #[error("edge {0} -> {0}: a service calling itself is not an edge")]
    SelfEdge(String),
    /// A principal that is not `<trust-domain>/ns/<ns>/sa/<sa>` (wildcards included).
    #[error("service `{service}`: principal `{principal}` is not <trust-domain>/ns/<ns>/sa/<sa>")]
    BadPrincipal { service: String, principal: String },
    /// A retryOn condition Envoy does not know.
    #[error("service `{service}`: retryOn condition `{condition}` is not known")]
    UnknownRetryOn { service: String, condition: String },
    /// A value outside what the lab can run on a small machine.
    #[error("service `{service}`: {field} = {value} is outside {range}")]
    OutOfRange {
        service: String,
        field: &'static str,
        value: u64,
        range: &'static str,
    },
    /// Nothing to run.
    #[error("the spec has no edges")]
    NoEdges,
}

/// retryOn values Envoy accepts: the same list the policy file is checked against.
use meshsmith_core::policy::RETRY_ON;

impl LabSpec {
    /// Check names, references, principals and ranges. Runs before anything is started.
    pub fn validate(&self) -> Result<(), SpecError> {
        dns_label("trust domain", &self.trust_domain.replace('.', "-"))?;
        let mut names = BTreeSet::new();
        for s in &self.services {
            dns_label("service name", &s.name)?;
            dns_label("namespace", &s.namespace)?;
            dns_label("service account", &s.service_account)?;
            if !names.insert(s.name.as_str()) {
                return Err(SpecError::DuplicateService(s.name.clone()));
            }
            s.validate()?;
        }
        if self.edges.is_empty() {
            return Err(SpecError::NoEdges);
        }
        for e in &self.edges {
            if e.from == e.to {
                return Err(SpecError::SelfEdge(e.from.clone()));
            }
            for end in [&e.from, &e.to] {
                if !names.contains(end.as_str()) {
                    return Err(SpecError::UnknownService {
                        from: e.from.clone(),
                        to: e.to.clone(),
                        missing: end.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// SPIFFE ID of a service's workload certificate.
    pub fn spiffe_id(&self, service: &ServiceSpec) -> String {
        format!("spiffe://{}", self.principal(service))
    }

    /// The Istio principal form of a service's identity.
    pub fn principal(&self, service: &ServiceSpec) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, service.namespace, service.service_account
        )
    }

    /// Services that receive traffic in the lab, in spec order.
    pub fn callees(&self) -> Vec<&ServiceSpec> {
        self.services
            .iter()
            .filter(|s| s.external_plaintext || self.edges.iter().any(|e| e.to == s.name))
            .collect()
    }

    /// Services a given service calls, in edge order.
    pub fn callees_of(&self, caller: &str) -> Vec<&ServiceSpec> {
        self.edges
            .iter()
            .filter(|e| e.from == caller)
            .filter_map(|e| self.service(&e.to))
            .collect()
    }
}

impl ServiceSpec {
    fn validate(&self) -> Result<(), SpecError> {
        for p in &self.allowed_principals {
            if !principal_shaped(p) {
                return Err(SpecError::BadPrincipal {
                    service: self.name.clone(),
                    principal: p.clone(),
                });
            }
        }
        for c in &self.traffic.retries.retry_on {
            if !RETRY_ON.contains(&c.as_str()) {
                return Err(SpecError::UnknownRetryOn {
                    service: self.name.clone(),
                    condition: c.clone(),
                });
            }
        }
        let range = |field, value: u64, lo: u64, hi: u64, text| {
            if value < lo || value > hi {
                Err(SpecError::OutOfRange {
                    service: self.name.clone(),
                    field,
                    value,
                    range: text,
                })
            } else {
                Ok(())
            }
        };
        range("instances", u64::from(self.instances), 1, 4, "1..=4")?;
        range(
            "timeout_ms",
            self.traffic.timeout_ms,
            0,
            120_000,
            "0..=120000",
        )?;
        range(
            "retries.attempts",
            u64::from(self.traffic.retries.attempts),
            0,
            10,
            "0..=10",
        )?;
        for code in &self.traffic.retries.retriable_status_codes {
            range(
                "retries.retriable_status_codes",
                u64::from(*code),
                100,
                599,
                "100..=599",
            )?;
        }
        if let Some(o) = &self.traffic.outlier_detection {
            range(
                "consecutive_5xx",
                u64::from(o.consecutive_5xx),
                1,
                100,
                "1..=100",
            )?;
            range("interval_ms", o.interval_ms, 1, 600_000, "1..=600000")?;
            range(
                "max_ejection_percent",
                u64::from(o.max_ejection_percent),
                1,
                100,
                "1..=100",
            )?;
        }
        if let Some(p) = &self.traffic.connection_pool {
            range(
                "max_connections",
                u64::from(p.max_connections),
                1,
                4096,
                "1..=4096",
            )?;
            range(
                "max_pending_requests",
                u64::from(p.max_pending_requests),
                1,
                4096,
                "1..=4096",
            )?;
            range(
                "max_requests",
                u64::from(p.max_requests),
                1,
                4096,
                "1..=4096",
            )?;
        }
        Ok(())
    }
}

fn dns_label(what: &'static str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(SpecError::BadName {
            what,
            value: value.to_string(),
        })
    }
}

fn principal_shaped(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    parts.len() == 5
        && parts[1] == "ns"
        && parts[3] == "sa"
        && parts.iter().all(|s| !s.is_empty() && !s.contains('*'))
}

#[cfg(test)]
mod tests;
