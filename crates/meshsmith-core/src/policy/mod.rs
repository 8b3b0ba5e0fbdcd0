//! The policy file (`meshsmith.yaml`) -> [`Policy`]: trust domain, target Istio version,
//! defaults per role, per-service overrides, mTLS exceptions and the restricted external
//! hosts callers may reach.
//!
//! In: the file's name and text. Out: a [`Policy`] whose every value is either the built-in
//! default (the table in the product description) or was written in the file, in which case
//! [`Policy::set_at`] gives the line, so `explain` can say where a value came from. A key or
//! value meshsmith does not understand is a [`PolicyError`] naming the line; nothing in the
//! file is ignored.

mod defaults;
mod egress;
mod parse;
mod resolve;
mod scalars;
mod template;
mod values;

#[cfg(test)]
mod tests;

use crate::model::Role;
use std::collections::BTreeMap;

pub use parse::{parse, parse_all, PolicyFailure};
pub use resolve::Resolved;
pub use template::init_template;
pub use values::{is_http_status, IstioVersion, Millis, MtlsMode, RETRY_ON};

/// The name `init` writes and commands look for in the current folder.
pub const FILE_NAME: &str = "meshsmith.yaml";

/// Why a policy file cannot be used. Every variant names the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not YAML meshsmith can read.
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: u32,
        message: String,
    },
    /// A key that has no meaning at this place.
    #[error("{file}:{line}: unknown key `{key}` in {place}; expected one of: {expected}")]
    UnknownKey {
        file: String,
        line: u32,
        key: String,
        place: String,
        expected: String,
    },
    /// A value of the wrong shape or out of range.
    #[error("{file}:{line}: `{key}`: {message}")]
    BadValue {
        file: String,
        line: u32,
        key: String,
        message: String,
    },
    /// A value that must be there is missing (e.g. the reason for a PERMISSIVE exception).
    #[error("{file}:{line}: {message}")]
    Missing {
        file: String,
        line: u32,
        message: String,
    },
}

impl PolicyError {
    /// The line the problem is on.
    pub fn line(&self) -> u32 {
        match self {
            Self::Syntax { line, .. }
            | Self::UnknownKey { line, .. }
            | Self::BadValue { line, .. }
            | Self::Missing { line, .. } => *line,
        }
    }
}

/// Retry settings of one role or service. `None` means "the built-in rule decides".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retries {
    /// Retries after the first try (Istio `attempts`); 0 turns retries off.
    pub attempts: u32,
    /// `None`: chosen so that every try fits in the timeout.
    pub per_try_timeout: Option<Millis>,
    /// `None`: safe conditions chosen per port protocol (HTTP or gRPC).
    pub retry_on: Option<Vec<String>>,
    /// Base interval between tries; written only for an Istio that has the field.
    pub backoff: Option<Millis>,
}

/// DestinationRule `connectionPool` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPool {
    pub max_connections: u32,
    pub connect_timeout: Millis,
    pub http1_max_pending_requests: u32,
    pub http2_max_requests: u32,
    pub max_retries: u32,
}

/// DestinationRule `outlierDetection` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierDetection {
    pub consecutive_5xx_errors: u32,
    pub interval: Millis,
    pub base_ejection_time: Millis,
    pub max_ejection_percent: u32,
}

/// DestinationRule `retryBudget` values (Istio 1.27 and later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    pub percent: u32,
    pub min_retry_concurrency: u32,
}

/// Everything a role decides about a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefaults {
    pub timeout: Millis,
    pub retries: Retries,
    pub connection_pool: ConnectionPool,
    pub outlier_detection: OutlierDetection,
    pub retry_budget: RetryBudget,
}

/// An mTLS mode other than the default, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsException {
    pub mode: MtlsMode,
    pub reason: String,
}

/// Per-service settings; each `None` falls back to the role's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceOverride {
    /// As written: `name` (any namespace) or `name.namespace`.
    pub key: String,
    pub role: Option<Role>,
    pub timeout: Option<Millis>,
    pub attempts: Option<u32>,
    pub per_try_timeout: Option<Millis>,
    pub retry_on: Option<Vec<String>>,
    pub connection_pool: Option<ConnectionPool>,
    pub outlier_detection: Option<OutlierDetection>,
    pub mtls: Option<MtlsException>,
    /// Callers confirmed by a person (`callers: [a, b]`) and the line of the key.
    pub callers: Option<(Vec<String>, u32)>,
    /// Why the callers are known (`reason:`), and its line.
    pub callers_reason: Option<(String, u32)>,
}

impl ServiceOverride {
    /// `name` matches in every namespace; `name.namespace` in one.
    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        match self.key.split_once('.') {
            Some((n, ns)) => n == name && ns == namespace,
            None => self.key == name,
        }
    }
}

/// A cloud metadata endpoint or link-local address callers may reach, and why
/// (`egress.allow`). Without one, such a host gets a finding and no ServiceEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressAllowance {
    /// As callers name it, lower-case: a host name or an IP address.
    pub host: String,
    pub reason: String,
    /// The line of the entry.
    pub line: u32,
}

impl EgressAllowance {
    /// Whether `host` (as the graph records it) is the allowed one: names compare without
    /// case or a trailing dot, addresses as addresses.
    pub fn matches(&self, host: &str) -> bool {
        let host = egress::normalized(host);
        host == self.host
            || matches!(
                (host.parse::<std::net::IpAddr>(), self.host.parse::<std::net::IpAddr>()),
                (Ok(a), Ok(b)) if a == b
            )
    }
}

/// How `meshsmith plan` paces the rollout (the `rollout:` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// Onboarding phases (a closing lock-down phase may follow them).
    pub phases: u32,
    /// Monitoring window after each phase.
    pub window: Millis,
    /// Splits a phase further when it would onboard more services than this.
    pub max_services_per_phase: Option<u32>,
    /// When `meshsmith gate` holds or rolls back a phase (`rollout.gate:`).
    pub gate: crate::model::GateThresholds,
}

/// The whole policy. [`Default`] is the built-in table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The file it was read from, for reasons; `None` for the built-in defaults.
    pub file: Option<String>,
    pub trust_domain: String,
    pub istio_version: IstioVersion,
    pub ingress_gateway_principal: String,
    pub skip_namespaces: Vec<String>,
    pub roles: BTreeMap<Role, RoleDefaults>,
    /// Sorted by key.
    pub services: Vec<ServiceOverride>,
    pub rollout: Rollout,
    /// Per check code (`MS106`), the level it is reported at: off, info, warning or error.
    pub checks: BTreeMap<String, String>,
    /// Restricted external hosts callers may reach, each with its reason; sorted by host.
    pub egress_allow: Vec<EgressAllowance>,
    /// Dotted key path (`roles.sync-api.timeout`, `services.x.mtls`) -> line it was written on.
    pub lines: BTreeMap<String, u32>,
}

impl Policy {
    /// The callers the file confirms, per service key, for `infer`.
    pub fn declared_callers(&self) -> Vec<crate::model::DeclaredCallers> {
        let file: std::sync::Arc<str> = self.file.as_deref().unwrap_or("meshsmith.yaml").into();
        self.services
            .iter()
            .filter_map(|o| {
                let (callers, line) = o.callers.as_ref()?;
                Some(crate::model::DeclaredCallers {
                    service: o.key.clone(),
                    callers: callers.clone(),
                    reason: o
                        .callers_reason
                        .as_ref()
                        .map(|r| r.0.clone())
                        .unwrap_or_default(),
                    origin: crate::model::Origin::new(&file, *line),
                })
            })
            .collect()
    }

    /// The defaults of a role. Every role has an entry; the fallback keeps this total.
    pub fn role(&self, role: Role) -> RoleDefaults {
        self.roles
            .get(&role)
            .cloned()
            .unwrap_or_else(|| defaults::role_defaults(role))
    }

    /// The most specific override for a service: `name.namespace` before bare `name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceOverride> {
        let exact = format!("{name}.{namespace}");
        self.services
            .iter()
            .find(|s| s.key == exact)
            .or_else(|| self.services.iter().find(|s| s.matches(namespace, name)))
    }

    /// Where a key path was written, as `file:line`, if it was.
    pub fn set_at(&self, path: &str) -> Option<String> {
        let line = self.lines.get(path)?;
        Some(format!(
            "{}:{}",
            self.file.as_deref().unwrap_or(FILE_NAME),
            line
        ))
    }

    /// The `egress.allow` entry for a restricted external host, if the file has one.
    pub fn egress_allowance(&self, host: &str) -> Option<&EgressAllowance> {
        self.egress_allow.iter().find(|a| a.matches(host))
    }

    pub fn skips(&self, namespace: &str) -> bool {
        self.skip_namespaces.iter().any(|n| n == namespace)
    }
}

impl Default for Policy {
    fn default() -> Self {
        defaults::policy()
    }
}
