//! One service's effective settings: the role's defaults with the service's overrides on
//! top, and for every value the reason it has that value (built-in default, a line of the
//! policy file, or the evidence behind the inferred role).

use super::*;

/// The settings that apply to one service, with their provenance.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    policy: &'a Policy,
    over: Option<&'a ServiceOverride>,
    pub role: Role,
    /// Why the service has its role.
    pub role_why: String,
    pub settings: RoleDefaults,
    pub mtls: Option<MtlsException>,
}

impl Policy {
    /// Applies the policy to a service whose inferred role is `role` (with `role_reason`).
    pub fn resolve<'a>(
        &'a self,
        namespace: &str,
        name: &str,
        role: Role,
        role_reason: &str,
    ) -> Resolved<'a> {
        let over = self.service(namespace, name);
        let (role, role_why) = match over.and_then(|o| o.role.map(|r| (o, r))) {
            Some((o, r)) => (
                r,
                format!(
                    "set in the policy ({}); inferred was {}: {role_reason}",
                    self.set_at(&format!("services.{}.role", o.key))
                        .unwrap_or_default(),
                    role.as_str()
                ),
            ),
            None => (role, role_reason.to_string()),
        };
        let mut settings = self.role(role);
        if let Some(o) = over {
            let written = |field: &str| {
                self.lines
                    .contains_key(&format!("services.{}.{field}", o.key))
            };
            if let Some(t) = o.timeout {
                settings.timeout = t;
            }
            if let Some(a) = o.attempts {
                settings.retries.attempts = a;
            }
            if o.per_try_timeout.is_some() {
                settings.retries.per_try_timeout = o.per_try_timeout;
            }
            if o.retry_on.is_some() {
                settings.retries.retry_on = o.retry_on.clone();
            }
            if let Some(p) = &o.connection_pool {
                let s = &mut settings.connection_pool;
                if written("connectionPool.maxConnections") {
                    s.max_connections = p.max_connections;
                }
                if written("connectionPool.connectTimeout") {
                    s.connect_timeout = p.connect_timeout;
                }
                if written("connectionPool.http1MaxPendingRequests") {
                    s.http1_max_pending_requests = p.http1_max_pending_requests;
                }
                if written("connectionPool.http2MaxRequests") {
                    s.http2_max_requests = p.http2_max_requests;
                }
                if written("connectionPool.maxRetries") {
                    s.max_retries = p.max_retries;
                }
            }
            if let Some(p) = &o.outlier_detection {
                let s = &mut settings.outlier_detection;
                if written("outlierDetection.consecutive5xxErrors") {
                    s.consecutive_5xx_errors = p.consecutive_5xx_errors;
                }
                if written("outlierDetection.interval") {
                    s.interval = p.interval;
                }
                if written("outlierDetection.baseEjectionTime") {
                    s.base_ejection_time = p.base_ejection_time;
                }
                if written("outlierDetection.maxEjectionPercent") {
                    s.max_ejection_percent = p.max_ejection_percent;
                }
            }
        }
        Resolved {
            policy: self,
            over,
            role,
            role_why,
            settings,
            mtls: over.and_then(|o| o.mtls.clone()),
        }
    }
}

impl Resolved<'_> {
    /// Where the value of `field` (a policy key path such as `retries.attempts`) came from.
    pub fn why(&self, field: &str) -> String {
        if let Some(o) = self.over {
            if let Some(at) = self.policy.set_at(&format!("services.{}.{field}", o.key)) {
                return format!("policy override for {} ({at})", o.key);
            }
        }
        let role = self.role.as_str();
        match self.policy.set_at(&format!("roles.{role}.{field}")) {
            Some(at) => format!("policy default for role {role} ({at})"),
            None => match defaults::rationale(self.role, field) {
                Some(why) => format!("built-in default for role {role}: {why}"),
                None => format!("built-in default for role {role}"),
            },
        }
    }

    /// Whether a per-service override in the policy file sets `field`.
    pub fn overridden(&self, field: &str) -> bool {
        self.over.is_some_and(|o| {
            self.policy
                .set_at(&format!("services.{}.{field}", o.key))
                .is_some()
        })
    }

    pub fn trust_domain(&self) -> &str {
        &self.policy.trust_domain
    }
}
