//! `LabSpec::validate`: names, references, principals and ranges, checked before anything is
//! started, each problem a `SpecError` that names the service and the field.

use super::{LabSpec, ServiceSpec};
/// retryOn values Envoy accepts: the same list the policy file is checked against.
use meshsmith_core::policy::RETRY_ON;
use std::collections::BTreeSet;

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
    /// A call names a service that is not in the spec, or a service calling itself.
    #[error("call {from} -> {to}: {why}")]
    BadCall {
        from: String,
        to: String,
        why: &'static str,
    },
    /// Nothing to run.
    #[error("the spec has no edges and no calls")]
    NoEdges,
}

impl LabSpec {
    /// Check names, references, principals and ranges. Runs before anything is started.
    pub fn validate(&self) -> Result<(), SpecError> {
        dns_label("trust domain", &self.trust_domain.replace('.', "-"))?;
        let mut names = BTreeSet::new();
        for s in &self.services {
            dns_label("service name", &s.name)?;
            dns_label("workload name", s.workload())?;
            dns_label("namespace", &s.namespace)?;
            dns_label("service account", &s.service_account)?;
            if !names.insert(s.name.as_str()) {
                return Err(SpecError::DuplicateService(s.name.clone()));
            }
            s.validate()?;
        }
        if self.edges.is_empty() && self.calls.is_empty() {
            return Err(SpecError::NoEdges);
        }
        self.validate_calls(&names)?;
        self.validate_edges(&names)
    }

    fn validate_calls(&self, names: &BTreeSet<&str>) -> Result<(), SpecError> {
        for c in &self.calls {
            let why = if c.from == c.to {
                Some("a service calling itself is not a call")
            } else if !names.contains(c.from.as_str()) || !names.contains(c.to.as_str()) {
                Some("both ends must be services of the spec")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(SpecError::BadCall {
                    from: c.from.clone(),
                    to: c.to.clone(),
                    why,
                });
            }
        }
        Ok(())
    }

    fn validate_edges(&self, names: &BTreeSet<&str>) -> Result<(), SpecError> {
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

pub(super) fn dns_label(what: &'static str, value: &str) -> Result<(), SpecError> {
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

pub(super) fn principal_shaped(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    parts.len() == 5
        && parts[1] == "ns"
        && parts[3] == "sa"
        && parts.iter().all(|s| !s.is_empty() && !s.contains('*'))
}
