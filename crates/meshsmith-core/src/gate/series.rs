//! Prometheus series -> what they measure, for which service and which caller, folded into
//! one [`Tally`] per (service, caller) and reporter.
//!
//! A series is known by its name when the answer kept it, else by its labels (what `sum by`
//! and `increase` answer):
//!
//! | measures | name | labels of a nameless series |
//! |---|---|---|
//! | requests, errors, 403s | `istio_requests_total` | `response_code` |
//! | latency buckets | `istio_request_duration_milliseconds_bucket` | `le` |
//! | TCP connections opened | `istio_tcp_connections_opened_total` | - |
//! | TCP connections closed (failed: a response flag) | `istio_tcp_connections_closed_total` | `response_flags`, no `response_code` |
//! | outlier ejections | `envoy_cluster_outlier_detection_ejections_enforced_total` | `cluster_name` |
//! | dry-run denials | `envoy_*rbac*` with `authz_dry_run_result="denied"`, or `..._shadow_denied` | `authz_dry_run_result` |
//! | plaintext refused | `envoy_listener_no_filter_chain_match`, `envoy_listener_ssl_connection_error` | `listener_address` |
//!
//! The service is the destination (`destination_service_name` + `_namespace`, the
//! `destination_service` host, `destination_workload` + `_namespace`), the host of an
//! outbound `cluster_name`, or the pod (`pod`, `pod_name`, `kubernetes_pod_name`) of a
//! sidecar's own counter, matched to a service of the phase by the name its pods start with.

use crate::model::{MetricSample, QualifiedName};
use std::collections::BTreeMap;

/// What a series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    Requests,
    Buckets,
    TcpOpened,
    TcpClosed,
    Ejections,
    DryRun,
    Refused,
}

impl Family {
    /// The metric a person would look for when it is missing.
    pub fn metric(self) -> &'static str {
        match self {
            Self::Requests => "istio_requests_total",
            Self::Buckets => "istio_request_duration_milliseconds_bucket",
            Self::TcpOpened => "istio_tcp_connections_opened_total",
            Self::TcpClosed => "istio_tcp_connections_closed_total",
            Self::Ejections => "envoy_cluster_outlier_detection_ejections_enforced_total",
            Self::DryRun => "envoy_*_rbac_*_shadow_denied (authz_dry_run_result)",
            Self::Refused => {
                "envoy_listener_no_filter_chain_match / envoy_listener_ssl_connection_error"
            }
        }
    }
}

pub(crate) fn family(s: &MetricSample) -> Option<Family> {
    match s.name.as_deref() {
        Some("istio_requests_total") => Some(Family::Requests),
        Some("istio_request_duration_milliseconds_bucket") => Some(Family::Buckets),
        Some("istio_tcp_connections_opened_total") => Some(Family::TcpOpened),
        Some("istio_tcp_connections_closed_total") => Some(Family::TcpClosed),
        Some("envoy_cluster_outlier_detection_ejections_enforced_total") => Some(Family::Ejections),
        Some("envoy_listener_no_filter_chain_match" | "envoy_listener_ssl_connection_error") => {
            Some(Family::Refused)
        }
        Some(n) if n.starts_with("envoy_") && n.contains("rbac") && is_shadow(n, s) => {
            Some(Family::DryRun)
        }
        Some(_) => None,
        None if s.label("le").is_some() => Some(Family::Buckets),
        None if s.label("response_code").is_some() => Some(Family::Requests),
        None if s.label("authz_dry_run_result").is_some() => Some(Family::DryRun),
        None if s.label("cluster_name").is_some() => Some(Family::Ejections),
        None if s.label("listener_address").is_some() => Some(Family::Refused),
        None if s.label("response_flags").is_some() => Some(Family::TcpClosed),
        None => None,
    }
}

fn is_shadow(name: &str, s: &MetricSample) -> bool {
    name.ends_with("_shadow_denied")
        || name.ends_with("_shadow_allowed")
        || s.label("authz_dry_run_result").is_some()
}

/// Which side's proxy reported a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Side {
    Source,
    Destination,
    #[default]
    Unknown,
}

/// What one reporter measured for one (service, caller).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub requests: f64,
    pub errors: f64,
    pub denials: f64,
    /// (le, count) of every bucket series, summed later by bound.
    pub buckets: Vec<(f64, f64)>,
    pub tcp_opened: f64,
    pub tcp_closed: f64,
    pub tcp_failures: f64,
    pub ejections: f64,
    pub dry_run: f64,
    pub refused: f64,
}

/// (service, caller) -> reporter -> tally. A caller of `None` is a sidecar's own counter,
/// which names no caller.
pub(crate) type Tallies = BTreeMap<(QualifiedName, Option<String>), BTreeMap<Side, Tally>>;

/// Folds every series about one of `services` into tallies; also returns the families seen.
pub(crate) fn fold(samples: &[MetricSample], services: &[QualifiedName]) -> (Tallies, Vec<Family>) {
    let mut tallies = Tallies::new();
    let mut seen = Vec::new();
    for s in samples {
        let Some(family) = family(s) else { continue };
        if !seen.contains(&family) {
            seen.push(family);
        }
        let amount = if s.amount.is_finite() && s.amount > 0.0 {
            s.amount
        } else {
            0.0
        };
        let Some(service) = service_of(s, family, services) else {
            continue;
        };
        let caller = match family {
            Family::Ejections | Family::DryRun | Family::Refused => None,
            _ => Some(caller_of(s)),
        };
        let side = match s.label("reporter") {
            Some("source") => Side::Source,
            Some("destination" | "waypoint") => Side::Destination,
            _ => Side::Unknown,
        };
        let t = tallies
            .entry((service, caller))
            .or_default()
            .entry(side)
            .or_default();
        add(t, s, family, amount);
    }
    seen.sort();
    (tallies, seen)
}

fn add(t: &mut Tally, s: &MetricSample, family: Family, amount: f64) {
    match family {
        Family::Requests => {
            t.requests += amount;
            let code: u16 = s
                .label("response_code")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let grpc_failed = s.label("request_protocol") == Some("grpc")
                && s.label("grpc_response_status").is_some_and(|g| g != "0");
            if (500..=599).contains(&code) || grpc_failed {
                t.errors += amount;
            }
            // Istio's metrics carry no response details, and Envoy flags an RBAC denial `-`
            // (its details say `rbac_access_denied...`): every 403 may be a policy's. The
            // baseline's own share of 403s is allowed for when judging.
            if code == 403 {
                t.denials += amount;
            }
        }
        Family::Buckets => {
            let le = match s.label("le") {
                Some("+Inf" | "Inf" | "inf") => Some(f64::INFINITY),
                Some(v) => v.parse::<f64>().ok(),
                None => None,
            };
            if let Some(le) = le {
                t.buckets.push((le, amount));
            }
        }
        Family::TcpOpened => t.tcp_opened += amount,
        Family::TcpClosed => {
            t.tcp_closed += amount;
            if s.label("response_flags").is_some_and(|f| f != "-") {
                t.tcp_failures += amount;
            }
        }
        Family::Ejections => t.ejections += amount,
        Family::DryRun => {
            let denied = match s.label("authz_dry_run_result") {
                Some(r) => r == "denied",
                None => s
                    .name
                    .as_deref()
                    .is_some_and(|n| n.ends_with("_shadow_denied")),
            };
            if denied {
                t.dry_run += amount;
            }
        }
        Family::Refused => t.refused += amount,
    }
}

/// The caller as a row names it: `name.namespace`, a principal, or `unknown`.
fn caller_of(s: &MetricSample) -> String {
    let known = |k| s.label(k).filter(|v| *v != "unknown");
    match (known("source_workload"), known("source_workload_namespace")) {
        (Some(name), Some(ns)) => format!("{name}.{ns}"),
        _ => known("source_principal")
            .map(|p| p.trim_start_matches("spiffe://").to_string())
            .unwrap_or_else(|| "unknown".to_string()),
    }
}

/// The service of the phase a series is about, if any.
fn service_of(
    s: &MetricSample,
    family: Family,
    services: &[QualifiedName],
) -> Option<QualifiedName> {
    let find = |ns: Option<&str>, name: &str| {
        services
            .iter()
            .find(|q| q.name == name && ns.is_none_or(|n| n == q.namespace))
            .cloned()
    };
    match family {
        Family::Ejections => {
            // outbound|PORT|SUBSET|HOST
            let host = s.label("cluster_name")?.split('|').nth(3)?;
            let (name, ns) = host_parts(host)?;
            find(Some(ns), name)
        }
        Family::DryRun | Family::Refused => pod_service(s, services),
        _ => {
            if let (Some(name), Some(ns)) = (
                s.label("destination_service_name"),
                s.label("destination_service_namespace"),
            ) {
                if let Some(q) = find(Some(ns), name) {
                    return Some(q);
                }
            }
            if let Some((name, ns)) = s.label("destination_service").and_then(host_parts) {
                if let Some(q) = find(Some(ns), name) {
                    return Some(q);
                }
            }
            let name = s.label("destination_workload")?;
            find(s.label("destination_workload_namespace"), name)
        }
    }
}

/// `name.ns.svc.cluster.local` -> (name, ns).
fn host_parts(host: &str) -> Option<(&str, &str)> {
    let mut parts = host.split('.');
    let name = parts.next()?;
    let ns = parts.next()?;
    Some((name, ns))
}

/// The service whose pods a sidecar's counter names: the longest service name the pod's
/// name starts with (followed by `-`), in the pod's namespace when the series says it.
fn pod_service(s: &MetricSample, services: &[QualifiedName]) -> Option<QualifiedName> {
    let ns = ["namespace", "kubernetes_namespace", "pod_namespace"]
        .iter()
        .find_map(|k| s.label(k));
    if let Some(app) = s.label("app") {
        if let Some(q) = services
            .iter()
            .find(|q| q.name == app && ns.is_none_or(|n| n == q.namespace))
        {
            return Some(q.clone());
        }
    }
    let pod = ["pod", "pod_name", "kubernetes_pod_name"]
        .iter()
        .find_map(|k| s.label(k))?;
    services
        .iter()
        .filter(|q| ns.is_none_or(|n| n == q.namespace))
        .filter(|q| {
            pod.strip_prefix(q.name.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|q| q.name.len())
        .cloned()
}
