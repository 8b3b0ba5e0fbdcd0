//! The built-in defaults: the generation table of the product description, per role.
//!
//! Roles the table does not name get the closest safe choice: a gateway and a datastore are
//! treated like a sync API behind them; a webhook receiver like an external integration,
//! because webhook deliveries are not idempotent either.

use super::{
    ConnectionPool, IstioVersion, Millis, OutlierDetection, Policy, Retries, RetryBudget,
    RoleDefaults, Rollout,
};
use crate::model::Role;

pub const TRUST_DOMAIN: &str = "cluster.local";
pub const INGRESS_GATEWAY_PRINCIPAL: &str =
    "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
/// The newest stable Istio the CRD snapshots were taken from.
pub const ISTIO_VERSION: IstioVersion = IstioVersion::new(1, 30);
pub const SKIP_NAMESPACES: [&str; 4] = [
    "istio-system",
    "kube-node-lease",
    "kube-public",
    "kube-system",
];

/// Onboarding phases of a rollout: one per tier (workers, internal, core, exposed).
pub const ROLLOUT_PHASES: u32 = 4;
/// Monitoring window after each phase.
pub const ROLLOUT_WINDOW: Millis = Millis::secs(4 * 3600);

/// Retries only where the request cannot have reached the application.
pub const SAFE_RETRY_ON: [&str; 2] = ["connect-failure", "refused-stream"];

pub fn policy() -> Policy {
    Policy {
        file: None,
        trust_domain: TRUST_DOMAIN.to_string(),
        istio_version: ISTIO_VERSION,
        ingress_gateway_principal: INGRESS_GATEWAY_PRINCIPAL.to_string(),
        skip_namespaces: SKIP_NAMESPACES.iter().map(|s| s.to_string()).collect(),
        roles: Role::ALL
            .into_iter()
            .map(|r| (r, role_defaults(r)))
            .collect(),
        services: Vec::new(),
        rollout: Rollout {
            phases: ROLLOUT_PHASES,
            window: ROLLOUT_WINDOW,
            max_services_per_phase: None,
            gate: Default::default(),
        },
        checks: Default::default(),
        egress_allow: Vec::new(),
        lines: Default::default(),
    }
}

pub fn role_defaults(role: Role) -> RoleDefaults {
    let (timeout, attempts, per_try, retry_on) = match role {
        Role::SyncApi | Role::Gateway | Role::Datastore => (3, 2, Some(Millis::secs(1)), None),
        Role::Aggregator => (5, 2, None, None),
        Role::ExternalIntegration | Role::WebhookReceiver => (
            10,
            1,
            None,
            Some(SAFE_RETRY_ON.iter().map(|s| s.to_string()).collect()),
        ),
        Role::Worker => (10, 2, None, None),
    };
    RoleDefaults {
        timeout: Millis::secs(timeout),
        retries: Retries {
            attempts,
            per_try_timeout: per_try,
            retry_on,
            backoff: Some(Millis(25)),
        },
        connection_pool: ConnectionPool {
            max_connections: 100,
            connect_timeout: Millis::secs(1),
            http1_max_pending_requests: 100,
            http2_max_requests: 1000,
            max_retries: 10,
        },
        outlier_detection: if role == Role::Worker {
            // Batch work tolerates a flaky instance longer than a request path does.
            OutlierDetection {
                consecutive_5xx_errors: 10,
                interval: Millis::secs(30),
                base_ejection_time: Millis::secs(15),
                max_ejection_percent: 25,
            }
        } else {
            OutlierDetection {
                consecutive_5xx_errors: 5,
                interval: Millis::secs(10),
                base_ejection_time: Millis::secs(30),
                max_ejection_percent: 50,
            }
        },
        retry_budget: RetryBudget {
            percent: 20,
            min_retry_concurrency: 3,
        },
    }
}

/// Why the built-in table chose a value, for the fields where the role makes the difference.
pub fn rationale(role: Role, field: &str) -> Option<&'static str> {
    let retries = field.starts_with("retries.");
    Some(match role {
        Role::ExternalIntegration if retries => {
            "calls to outside systems (payments) are not idempotent, so only requests that never reached it are retried"
        }
        Role::WebhookReceiver if retries => {
            "webhook deliveries are not idempotent, so only requests that never reached it are retried"
        }
        Role::ExternalIntegration if field == "timeout" => "it waits on a system outside the cluster",
        Role::SyncApi if field == "timeout" => "callers wait on it synchronously",
        Role::Aggregator if field == "timeout" => "it fans out to several services and waits for them",
        Role::Worker if field == "timeout" => "background work, nobody waits interactively",
        Role::Worker if field.starts_with("outlierDetection.") => {
            "lenient: background work tolerates a flaky instance longer than a request path"
        }
        _ if field == "outlierDetection.consecutive5xxErrors" => "eject an instance after 5 consecutive 5xx",
        _ if field == "outlierDetection.baseEjectionTime" => "keep it out for 30 s",
        _ => return None,
    })
}
