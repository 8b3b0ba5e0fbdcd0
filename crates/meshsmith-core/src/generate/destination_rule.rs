//! DestinationRule per service: connection pool and outlier detection of its role, and a
//! retry budget where the target Istio has one.
//!
//! In: each routable service. Out: one DestinationRule for its host and one for each alias
//! (another Service on the same pods, headless twins included: Istio applies a rule's
//! traffic policy to its own host's clusters only). TCP-only hosts get the TCP part of the
//! pool and no retry budget (retries are HTTP). No `tls` block is ever written: Istio's
//! automatic mTLS picks the right mode, and a `tls` here could turn it off.

use super::{alias_reason, fqdn, hosts, speaks, Context, Host, Target};
use crate::model::*;

pub(crate) fn build(cx: &Context, targets: &[Target], out: &mut MeshConfig) {
    for target in targets {
        for host in hosts(target.service) {
            build_host(cx, target, &host, out);
        }
    }
}

/// The DestinationRule of one of the Services a node is reached by.
fn build_host(cx: &Context, target: &Target, host: &Host, out: &mut MeshConfig) {
    let s = target.service;
    let r = &target.resolved;
    let set = &r.settings;
    let http = host.ports.iter().any(|p| speaks(p).is_http_family());
    let pool = &set.connection_pool;
    let od = &set.outlier_detection;
    let mut reasons = vec![Reason::new("role", r.role.as_str(), &r.role_why)];
    if let Some(alias) = host.alias {
        reasons.insert(0, alias_reason(s, alias));
        if alias.headless {
            reasons.push(Reason::new(
                "spec.trafficPolicy",
                "(rule of a headless Service)",
                "Istio applies it to the headless Service's original-destination clusters: the \
                 pool limits hold for calls by this name, while an ejection cannot steer a call \
                 away from the pod the caller resolved",
            ));
        }
    }
    let cp = "spec.trafficPolicy.connectionPool";
    reasons.push(Reason::new(
        format!("{cp}.tcp.maxConnections"),
        pool.max_connections,
        r.why("connectionPool.maxConnections"),
    ));
    reasons.push(Reason::new(
        format!("{cp}.tcp.connectTimeout"),
        pool.connect_timeout,
        r.why("connectionPool.connectTimeout"),
    ));
    let http_settings = http_pool(target, http, &mut reasons);
    let o = "spec.trafficPolicy.outlierDetection";
    reasons.push(Reason::new(
        format!("{o}.consecutive5xxErrors"),
        od.consecutive_5xx_errors,
        r.why("outlierDetection.consecutive5xxErrors"),
    ));
    reasons.push(Reason::new(
        format!("{o}.interval"),
        od.interval,
        r.why("outlierDetection.interval"),
    ));
    reasons.push(Reason::new(
        format!("{o}.baseEjectionTime"),
        od.base_ejection_time,
        r.why("outlierDetection.baseEjectionTime"),
    ));
    reasons.push(Reason::new(
        format!("{o}.maxEjectionPercent"),
        od.max_ejection_percent,
        r.why("outlierDetection.maxEjectionPercent"),
    ));
    let retry_budget = retry_budget(cx, target, http, &mut reasons);
    let spec = DestinationRuleSpec {
        host: fqdn(host.name, &s.id.namespace),
        traffic_policy: TrafficPolicy {
            connection_pool: ConnectionPoolSettings {
                tcp: TcpSettings {
                    max_connections: pool.max_connections,
                    connect_timeout: pool.connect_timeout.to_string(),
                },
                http: http_settings,
            },
            outlier_detection: OutlierDetectionSettings {
                consecutive_5xx_errors: od.consecutive_5xx_errors,
                interval: od.interval.to_string(),
                base_ejection_time: od.base_ejection_time.to_string(),
                max_ejection_percent: od.max_ejection_percent,
            },
            retry_budget,
        },
    };
    let mut res = cx.resource(
        Kind::DestinationRule,
        host.name,
        &s.id,
        Spec::DestinationRule(spec),
    );
    res.reasons = cx.kept(|| reasons);
    out.resources.push(Box::new(res));
}

/// The HTTP part of the pool, for a host with an HTTP or gRPC port.
fn http_pool(target: &Target, http: bool, reasons: &mut Vec<Reason>) -> Option<HttpSettings> {
    let r = &target.resolved;
    let pool = &r.settings.connection_pool;
    let cp = "spec.trafficPolicy.connectionPool";
    if !http {
        reasons.push(Reason::new(
            format!("{cp}.http"),
            "(not written)",
            "no HTTP or gRPC port: TCP settings only",
        ));
        return None;
    }
    reasons.push(Reason::new(
        format!("{cp}.http.http1MaxPendingRequests"),
        pool.http1_max_pending_requests,
        format!(
            "{}; beyond it callers get a fast 503 instead of queueing",
            r.why("connectionPool.http1MaxPendingRequests")
        ),
    ));
    reasons.push(Reason::new(
        format!("{cp}.http.http2MaxRequests"),
        pool.http2_max_requests,
        r.why("connectionPool.http2MaxRequests"),
    ));
    reasons.push(Reason::new(
        format!("{cp}.http.maxRetries"),
        pool.max_retries,
        r.why("connectionPool.maxRetries"),
    ));
    Some(HttpSettings {
        http1_max_pending_requests: pool.http1_max_pending_requests,
        http2_max_requests: pool.http2_max_requests,
        max_retries: pool.max_retries,
    })
}

/// The retry budget, where there are HTTP retries and the target Istio has the field.
fn retry_budget(
    cx: &Context,
    target: &Target,
    http: bool,
    reasons: &mut Vec<Reason>,
) -> Option<RetryBudgetSettings> {
    let r = &target.resolved;
    let set = &r.settings;
    if !http || set.retries.attempts == 0 {
        return None;
    }
    if !cx.istio.has_retry_budget() {
        reasons.push(Reason::new(
            "spec.trafficPolicy.retryBudget",
            "(not written)",
            format!("Istio {} has no retryBudget (added in 1.27)", cx.istio),
        ));
        return None;
    }
    let b = &set.retry_budget;
    reasons.push(Reason::new(
        "spec.trafficPolicy.retryBudget.percent",
        b.percent,
        r.why("retryBudget.percent"),
    ));
    reasons.push(Reason::new(
        "spec.trafficPolicy.retryBudget.minRetryConcurrency",
        b.min_retry_concurrency,
        r.why("retryBudget.minRetryConcurrency"),
    ));
    Some(RetryBudgetSettings {
        percent: f64::from(b.percent),
        min_retry_concurrency: b.min_retry_concurrency,
    })
}
