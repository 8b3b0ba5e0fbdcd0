//! Prometheus series over Istio's standard metrics (from a JSON answer, see [`json`], or
//! exposition text, see [`text`]) -> calls.
//!
//! Which series are read:
//! - `istio_requests_total` and `istio_tcp_connections_opened_total`, and series without a
//!   name (what `sum by (...)`, `increase()` or `rate()` answer): one call each. The caller is
//!   `source_workload` + `source_workload_namespace` (`unknown`: outside the mesh), else
//!   `source_principal`. The callee is `destination_service` (a `NAME.NS.svc...` host is a
//!   Service, another host an external one), else `destination_service_name` +
//!   `destination_service_namespace`, else `destination_workload` +
//!   `destination_workload_namespace`. A series that names neither is an error; one whose
//!   destination is all `unknown` (a request that reached nothing) is skipped.
//!   `reporter`, `request_protocol`, `response_code` (2xx/3xx ok, 4xx, 5xx; a 403 whose
//!   `response_flags` mention RBAC also counts as denied: Istio's metrics carry no response
//!   details, so an application's own 403 and a policy's look alike) and
//!   `connection_security_policy` (`mutual_tls`, `none`) are read when present.
//! - Envoy's RBAC dry-run counters as Istio's proxies export them: a name that starts with
//!   `envoy_` and contains `rbac`, with `authz_dry_run_result="denied"` (Istio's tag names), or
//!   a name ending in `_shadow_denied` (`..._rbac_istio_dry_run_allow_shadow_denied`, the
//!   raw stat). The callee is the pod (`pod`, `pod_name` or `kubernetes_pod_name`; else the
//!   pod the file is named after), its port from the listener in the name
//!   (`inbound_0_0_0_0_9080`); the metric does not name the caller, which is therefore
//!   unknown (the detail says so).
//! - Anything else (other Envoy and Istio metrics) is skipped.
//!
//! The value: a series whose value is 0 over the whole window is no call. A counter's
//! instant value, or the value of a function, counts when positive (rounded, at least 1).
//! In a range answer, a counter (a series that kept its `__name__`) counts its increase over
//! the window, resets included; a function's result (no `__name__`) counts its largest sample.

pub(crate) mod json;
pub(crate) mod text;

use super::aggregate::{CallRef, PeerRef, TargetRef};
use super::names::{is_passthrough, principal, scrub, target_from_host};
use super::reader::FileContext;
use super::TrafficError;
use crate::model::{CallCounts, Protocol, Reporter, TrafficFormat};
use std::borrow::Cow;

/// A series: its name, labels and the amount its samples show.
pub(crate) struct Series<'a> {
    pub name: Option<&'a str>,
    pub labels: &'a [(Cow<'a, str>, Cow<'a, str>)],
    pub amount: f64,
}

impl Series<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }

    /// A label whose value names something (not `unknown`).
    fn known(&self, key: &str) -> Option<&str> {
        self.label(key).filter(|v| *v != "unknown")
    }
}

/// Records the call a series shows (or the problem with it).
pub(crate) fn record(
    ctx: &mut FileContext,
    series: &Series<'_>,
    file_pod: Option<&str>,
    format: TrafficFormat,
    line: u64,
) {
    if ctx.samples.is_some() {
        return keep(ctx, series, line);
    }
    match series.name {
        None if series.label("authz_dry_run_result").is_some() => {
            dry_run(ctx, series, file_pod, format, line)
        }
        None | Some("istio_requests_total") => calls(ctx, series, None, format, line),
        Some("istio_tcp_connections_opened_total") => {
            calls(ctx, series, Some(Protocol::Tcp), format, line)
        }
        Some(name) if is_dry_run_metric(name, series) => {
            dry_run(ctx, series, file_pod, format, line)
        }
        Some(_) => {}
    }
}

/// Metrics mode: the series as it is, with the file and line it was read on, at most
/// [`super::MAX_SERIES`] per file (a phase's answers hold far fewer).
fn keep(ctx: &mut FileContext, series: &Series<'_>, line: u64) {
    let file = ctx.file.clone();
    let limit = ctx.limits.max_observations.min(super::MAX_SERIES);
    let Some(samples) = ctx.samples.as_mut() else {
        return;
    };
    if samples.len() >= limit {
        if !ctx.full {
            ctx.full = true;
            let file = ctx.name();
            ctx.error(TrafficError::TooManyCalls { file, limit });
        }
        return;
    }
    samples.push(crate::model::MetricSample {
        name: series.name.map(str::to_string),
        labels: series
            .labels
            .iter()
            .filter(|(k, _)| k != "__name__")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        amount: series.amount,
        origin: crate::model::Origin::new(&file, u32::try_from(line).unwrap_or(u32::MAX)),
    });
    ctx.call_lines += 1;
}

fn is_dry_run_metric(name: &str, series: &Series<'_>) -> bool {
    name.starts_with("envoy_")
        && name.contains("rbac")
        && (name.ends_with("_shadow_denied")
            || name.ends_with("_shadow_allowed")
            || series.label("authz_dry_run_result").is_some())
}

/// The count a series' amount stands for: 0 when it shows no call.
fn count_of(amount: f64) -> u64 {
    if amount.is_finite() && amount > 0.0 {
        (amount.round() as u64).max(1)
    } else {
        0
    }
}

fn calls(
    ctx: &mut FileContext,
    series: &Series<'_>,
    tcp: Option<Protocol>,
    format: TrafficFormat,
    line: u64,
) {
    let Some(source) = source_of(series) else {
        return missing(
            ctx,
            series,
            line,
            "source: source_workload and source_workload_namespace, or source_principal",
        );
    };
    let destination = match destination_of(series) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(()) => return missing(ctx, series, line, "destination: destination_service, destination_service_name and destination_service_namespace, or destination_workload and destination_workload_namespace"),
    };
    let n = count_of(series.amount);
    if n == 0 {
        return;
    }
    let protocol = match series.label("request_protocol") {
        Some("http") => Some(Protocol::Http),
        Some("grpc") => Some(Protocol::Grpc),
        Some("tcp") => Some(Protocol::Tcp),
        _ => tcp,
    };
    let reporter = match series.label("reporter") {
        Some("source") => Reporter::Source,
        Some("destination" | "waypoint") => Reporter::Destination,
        _ => Reporter::Unknown,
    };
    let port = series
        .label("destination_port")
        .and_then(|p| p.parse().ok());
    let call = CallRef {
        source,
        destination,
        port,
        protocol,
        reporter,
        format,
    };
    let counts = counts_of(series, n);
    ctx.record(&call, &counts, line, &|| detail_of(series, ""));
}

fn source_of<'s>(series: &'s Series<'_>) -> Option<PeerRef<'s>> {
    if series.label("source_workload") == Some("unknown") {
        return Some(PeerRef::Unknown);
    }
    if let (Some(name), Some(namespace)) = (
        series.known("source_workload"),
        series.known("source_workload_namespace"),
    ) {
        return Some(PeerRef::Workload { namespace, name });
    }
    if let Some(p) = series.label("source_principal") {
        return Some(principal(p).unwrap_or(PeerRef::Unknown));
    }
    None
}

/// `Ok(None)`: the series says the request reached nothing that has a name.
fn destination_of<'s>(series: &'s Series<'_>) -> Result<Option<TargetRef<'s>>, ()> {
    let service_name = series.label("destination_service_name");
    if let Some(host) = series.known("destination_service") {
        if !is_passthrough(host) {
            return Ok(Some(target_from_host(host)));
        }
    }
    if let (Some(name), Some(namespace)) = (
        series.known("destination_service_name"),
        series.known("destination_service_namespace"),
    ) {
        if !is_passthrough(name) && !name.starts_with("InboundPassthroughCluster") {
            return Ok(Some(TargetRef::Service {
                namespace: Some(namespace),
                name,
            }));
        }
    }
    if let (Some(name), Some(namespace)) = (
        series.known("destination_workload"),
        series.known("destination_workload_namespace"),
    ) {
        return Ok(Some(TargetRef::Workload { namespace, name }));
    }
    let said = ["destination_service", "destination_workload"]
        .iter()
        .any(|k| series.label(k).is_some())
        || service_name.is_some();
    if said {
        // Every destination label is `unknown` or a passthrough cluster.
        return Ok(None);
    }
    Err(())
}

fn counts_of(series: &Series<'_>, n: u64) -> CallCounts {
    let mut counts = CallCounts {
        requests: n,
        ..CallCounts::default()
    };
    if let Some(code) = series
        .label("response_code")
        .and_then(|c| c.parse::<u16>().ok())
    {
        super::access_log::add_status(&mut counts, code, n);
        let rbac = series
            .label("response_flags")
            .is_some_and(|f| f.to_ascii_lowercase().contains("rbac"));
        if code == 403 && rbac {
            counts.denied = n;
        }
    }
    match series.label("connection_security_policy") {
        Some("mutual_tls") => counts.mtls = n,
        Some("none") => counts.plaintext = n,
        _ => {}
    }
    counts
}

fn missing(ctx: &mut FileContext, series: &Series<'_>, line: u64, what: &str) {
    let file = ctx.name();
    ctx.error(TrafficError::MissingLabels {
        file,
        line,
        metric: detail_of(series, ""),
        missing: what.to_string(),
    });
}

fn dry_run(
    ctx: &mut FileContext,
    series: &Series<'_>,
    file_pod: Option<&str>,
    format: TrafficFormat,
    line: u64,
) {
    let name = series.name.unwrap_or("");
    let denied = match series.label("authz_dry_run_result") {
        Some(result) => result == "denied",
        None => name.ends_with("_shadow_denied"),
    };
    let pod = ["pod", "pod_name", "kubernetes_pod_name"]
        .iter()
        .find_map(|k| series.label(k))
        .or(file_pod);
    let Some(pod) = pod else {
        return missing(
            ctx,
            series,
            line,
            "pod: pod, pod_name or kubernetes_pod_name",
        );
    };
    let n = count_of(series.amount);
    if !denied || n == 0 {
        return;
    }
    let namespace = ["namespace", "kubernetes_namespace", "pod_namespace"]
        .iter()
        .find_map(|k| series.label(k));
    let port =
        listener_port(name).or_else(|| series.labels.iter().find_map(|(_, v)| listener_port(v)));
    let call = CallRef {
        source: source_of(series).unwrap_or(PeerRef::Unknown),
        destination: TargetRef::Pod {
            namespace,
            name: pod,
        },
        port,
        protocol: name.starts_with("envoy_tcp").then_some(Protocol::Tcp),
        reporter: Reporter::Destination,
        format,
    };
    let counts = CallCounts {
        requests: n,
        shadow_denied: n,
        ..CallCounts::default()
    };
    let note = if source_of(series).is_none() {
        "; a dry-run policy would have denied these requests to the pod; the metric does not name the caller"
    } else {
        "; a dry-run policy would have denied these requests"
    };
    ctx.record(&call, &counts, line, &|| detail_of(series, note));
}

/// The port of an inbound listener named in a stat: `..._inbound_0_0_0_0_9080_rbac...` or
/// `inbound_0.0.0.0_9080`.
fn listener_port(text: &str) -> Option<u16> {
    let (_, after) = text.split_once("inbound_")?;
    let digits: &str = after
        .split(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .next()?;
    digits
        .trim_end_matches(['_', '.'])
        .rsplit(['_', '.'])
        .next()?
        .parse()
        .ok()
}

/// The labels that say who called whom, as PromQL would write the series.
const SHOWN_LABELS: [&str; 16] = [
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_workload",
    "destination_workload_namespace",
    "request_protocol",
    "response_code",
    "connection_security_policy",
    "authz_dry_run_result",
    "pod",
    "kubernetes_pod_name",
    "namespace",
];

fn detail_of(series: &Series<'_>, note: &str) -> String {
    let labels: Vec<String> = SHOWN_LABELS
        .iter()
        .filter_map(|k| series.label(k).map(|v| format!("{k}=\"{}\"", scrub(v))))
        .collect();
    let value = if series.amount.fract() == 0.0 {
        format!("{}", series.amount)
    } else {
        format!("{:.2}", series.amount)
    };
    format!(
        "{}{{{}}} {value}{note}",
        series.name.unwrap_or(""),
        labels.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_ports() {
        assert_eq!(
            listener_port("envoy_http_inbound_0_0_0_0_9080_rbac_istio_dry_run_allow_shadow_denied"),
            Some(9080)
        );
        assert_eq!(listener_port("inbound_0.0.0.0_80"), Some(80));
        assert_eq!(listener_port("envoy_http_rbac_shadow_denied"), None);
    }

    #[test]
    fn counts_round_up_to_one() {
        assert_eq!(count_of(0.0), 0);
        assert_eq!(count_of(0.2), 1);
        assert_eq!(count_of(12.6), 13);
        assert_eq!(count_of(f64::NAN), 0);
        assert_eq!(count_of(-3.0), 0);
    }
}
