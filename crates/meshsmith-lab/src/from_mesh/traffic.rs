//! The traffic policy of one service as the lab runs it: route timeout and retries from its
//! generated VirtualService (the route for the port its callers use), connection pool and
//! outlier detection from its DestinationRule, durations and `retryOn` read as Istio reads them.

use super::{route_for, FromMeshError};
use crate::spec::{ConnectionPool, OutlierDetection, RetryBudget, RetryPolicy, TrafficPolicy};
use meshsmith_core::model::{DestinationRuleSpec, VirtualServiceSpec};

/// The service's traffic policy for requests on `port`.
pub(super) fn policy(
    name: &str,
    vs: &VirtualServiceSpec,
    dr: &DestinationRuleSpec,
    port: Option<u16>,
) -> Result<TrafficPolicy, FromMeshError> {
    let unsupported = |what: String| FromMeshError::Unsupported {
        service: name.to_string(),
        what,
    };
    let route = route_for(&vs.http, port).ok_or_else(|| {
        unsupported("its VirtualService has no HTTP route for the port its callers use".into())
    })?;
    let duration = |field, value: &Option<String>| -> Result<u64, FromMeshError> {
        value.as_deref().map_or(Ok(0), |v| {
            millis(v).ok_or_else(|| FromMeshError::BadDuration {
                service: name.to_string(),
                field,
                value: v.to_string(),
            })
        })
    };
    let timeout_ms = duration("timeout", &route.timeout)?;
    let retries = match &route.retries {
        Some(r) => {
            let (retry_on, retriable_status_codes) =
                retry_on(r.retry_on.as_deref().unwrap_or("")).map_err(unsupported)?;
            RetryPolicy {
                attempts: r.attempts,
                per_try_timeout_ms: duration("retries.perTryTimeout", &r.per_try_timeout)?,
                retry_on,
                retriable_status_codes,
            }
        }
        // No retries field: the lab models no retry policy (it does not reproduce Istio's
        // mesh-wide default, which generate never relies on).
        None => RetryPolicy {
            attempts: 0,
            per_try_timeout_ms: 0,
            retry_on: Vec::new(),
            retriable_status_codes: Vec::new(),
        },
    };
    let tp = &dr.traffic_policy;
    let http = tp.connection_pool.http.as_ref().ok_or_else(|| {
        unsupported("its DestinationRule sets no HTTP connection pool limits".into())
    })?;
    let connection_pool = Some(ConnectionPool {
        max_connections: tp.connection_pool.tcp.max_connections,
        max_pending_requests: http.http1_max_pending_requests,
        max_requests: http.http2_max_requests,
        // The generated DestinationRule leaves maxRequestsPerConnection unset: unlimited.
        max_requests_per_connection: 0,
        max_retries: http.max_retries,
        retry_budget: tp.retry_budget.as_ref().map(|b| RetryBudget {
            permille: (b.percent * 10.0).round().clamp(0.0, 1000.0) as u32,
            min_retry_concurrency: b.min_retry_concurrency,
        }),
    });
    let o = &tp.outlier_detection;
    let outlier_detection = Some(OutlierDetection {
        consecutive_5xx: o.consecutive_5xx_errors,
        interval_ms: duration("outlierDetection.interval", &Some(o.interval.clone()))?,
        base_ejection_time_ms: duration(
            "outlierDetection.baseEjectionTime",
            &Some(o.base_ejection_time.clone()),
        )?,
        max_ejection_percent: o.max_ejection_percent,
    });
    Ok(TrafficPolicy {
        timeout_ms,
        retries,
        outlier_detection,
        connection_pool,
    })
}

/// Istio's reading of `retryOn`: named conditions pass through; a bare number is an HTTP status
/// that goes to `retriable_status_codes`, and `retriable-status-codes` is added so Envoy acts on
/// the list.
pub(super) fn retry_on(text: &str) -> Result<(Vec<String>, Vec<u16>), String> {
    let mut conditions: Vec<String> = Vec::new();
    let mut codes: Vec<u16> = Vec::new();
    for c in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if c.bytes().all(|b| b.is_ascii_digit()) {
            match c.parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => {
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
                _ => return Err(format!("retryOn `{c}` is not an HTTP status code")),
            }
        } else if !conditions.iter().any(|k| k == c) {
            conditions.push(c.to_string());
        }
    }
    if !codes.is_empty() && !conditions.iter().any(|k| k == "retriable-status-codes") {
        conditions.push("retriable-status-codes".into());
    }
    Ok((conditions, codes))
}

/// Istio duration text (`10s`, `1660ms`, `0s`, `1m`) in milliseconds.
pub(crate) fn millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    let ms = value * scale;
    (ms.fract() == 0.0 && (0.0..=86_400_000.0).contains(&ms)).then_some(ms as u64)
}
