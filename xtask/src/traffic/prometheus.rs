//! A scene -> Istio's standard metrics as Prometheus gives them: the HTTP API's JSON answer
//! to the README's query (an instant vector of `increase()` over the window, no
//! `__name__`), the raw counters as a range answer (`query_range`, with `__name__`, one
//! counter reset), and the exposition text a federation scrape returns (with unrelated
//! Envoy metrics around). Both reporters' series are written; the decoy is a series of zero.

use super::rng::Rng;
use super::scene::{Proto, Scene};
use std::fmt::Write as _;

/// The query the instant answer stands for (also printed in the fixture's README).
pub const QUERY: &str = "sum by (reporter, source_workload, source_workload_namespace, source_principal, destination_service, destination_service_name, destination_service_namespace, destination_workload, destination_workload_namespace, request_protocol, response_code, connection_security_policy) (increase(istio_requests_total[7d])) or sum by (reporter, source_workload, source_workload_namespace, source_principal, destination_service, destination_service_name, destination_service_namespace, destination_workload, destination_workload_namespace, request_protocol, connection_security_policy) (increase(istio_tcp_connections_opened_total[7d]))";

/// How many requests in a week one request of the scene stands for.
const SCALE: u64 = 37;

/// One series: its metric, labels and the count it shows over the window.
pub struct Series {
    pub metric: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub count: u64,
}

/// Every series of the scene.
pub fn series(scene: &Scene) -> Vec<Series> {
    let mut out = Vec::new();
    for call in &scene.calls {
        let service = &scene.services[call.service];
        let caller = &scene.workloads[call.caller];
        let share = (call.requests * SCALE) / service.backends.len() as u64;
        for &b in &service.backends {
            let callee = &scene.workloads[b];
            for reporter in ["source", "destination"] {
                let mut labels = vec![
                    ("reporter", reporter.to_string()),
                    ("source_workload", caller.name.clone()),
                    ("source_workload_namespace", caller.namespace.clone()),
                    (
                        "source_principal",
                        format!("spiffe://{}", caller.principal()),
                    ),
                    ("source_app", caller.app.clone()),
                    ("source_version", caller.version.clone()),
                    ("destination_service", service.host()),
                    ("destination_service_name", service.name.clone()),
                    ("destination_service_namespace", service.namespace.clone()),
                    ("destination_workload", callee.name.clone()),
                    ("destination_workload_namespace", callee.namespace.clone()),
                    (
                        "destination_principal",
                        format!("spiffe://{}", callee.principal()),
                    ),
                    ("destination_app", callee.app.clone()),
                    ("destination_version", callee.version.clone()),
                    ("request_protocol", call.protocol.as_str().to_string()),
                ];
                let policy = if reporter == "source" {
                    "unknown"
                } else {
                    "mutual_tls"
                };
                if call.protocol == Proto::Tcp {
                    labels.push(("response_flags", "-".into()));
                    labels.push(("connection_security_policy", policy.into()));
                    out.push(Series {
                        metric: "istio_tcp_connections_opened_total",
                        labels,
                        count: share.div_ceil(SCALE),
                    });
                    continue;
                }
                let errors = call.errors * SCALE / service.backends.len() as u64;
                for (code, flags, count) in [
                    ("200", "-", share - errors.min(share)),
                    ("503", "UF", errors),
                ] {
                    if count == 0 {
                        continue;
                    }
                    let mut l = labels.clone();
                    l.push(("response_code", code.into()));
                    l.push(("response_flags", flags.into()));
                    l.push(("connection_security_policy", policy.into()));
                    out.push(Series {
                        metric: "istio_requests_total",
                        labels: l,
                        count,
                    });
                }
            }
        }
    }
    outside_series(scene, &mut out);
    decoy_series(scene, &mut out);
    out
}

fn outside_series(scene: &Scene, out: &mut Vec<Series>) {
    for o in &scene.outside {
        let w = &scene.workloads[o.workload];
        let (host, name, namespace) = match o.service {
            Some(s) => {
                let s = &scene.services[s];
                (s.host(), s.name.clone(), s.namespace.clone())
            }
            None => ("unknown".into(), "unknown".into(), "unknown".into()),
        };
        let labels = vec![
            ("reporter", "destination".to_string()),
            ("source_workload", "unknown".into()),
            ("source_workload_namespace", "unknown".into()),
            ("source_principal", "unknown".into()),
            ("source_app", "unknown".into()),
            ("destination_service", host),
            ("destination_service_name", name),
            ("destination_service_namespace", namespace),
            ("destination_workload", w.name.clone()),
            ("destination_workload_namespace", w.namespace.clone()),
            ("request_protocol", "http".into()),
            ("response_code", "200".into()),
            ("response_flags", "-".into()),
            ("connection_security_policy", "none".into()),
        ];
        out.push(Series {
            metric: "istio_requests_total",
            labels,
            count: o.requests * SCALE,
        });
    }
}

fn decoy_series(scene: &Scene, out: &mut Vec<Series>) {
    let Some((caller, s, _)) = scene.decoy else {
        return;
    };
    let (caller, service) = (&scene.workloads[caller], &scene.services[s]);
    let labels = vec![
        ("reporter", "source".to_string()),
        ("source_workload", caller.name.clone()),
        ("source_workload_namespace", caller.namespace.clone()),
        (
            "source_principal",
            format!("spiffe://{}", caller.principal()),
        ),
        ("destination_service", service.host()),
        ("destination_service_name", service.name.clone()),
        ("destination_service_namespace", service.namespace.clone()),
        ("request_protocol", "http".into()),
        ("response_code", "200".into()),
        ("response_flags", "-".into()),
        ("connection_security_policy", "unknown".into()),
    ];
    out.push(Series {
        metric: "istio_requests_total",
        labels,
        count: 0,
    });
}

fn labels_json(labels: &[(&'static str, String)], name: Option<&str>) -> String {
    let mut m = serde_json::Map::new();
    if let Some(name) = name {
        m.insert("__name__".into(), name.into());
    }
    for (k, v) in labels {
        m.insert((*k).into(), v.as_str().into());
    }
    serde_json::Value::Object(m).to_string()
}

const END: u64 = 1_714_557_600;

/// The instant answer: `increase()` over the window, extrapolated as Prometheus does.
pub fn instant_json(series: &[Series]) -> String {
    let mut out =
        String::from("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[\n");
    for (i, s) in series.iter().enumerate() {
        let value = s.count as f64 * 1.0137;
        let sep = if i + 1 < series.len() { "," } else { "" };
        let _ = writeln!(
            out,
            "{{\"metric\":{},\"value\":[{END}.123,\"{}\"]}}{sep}",
            labels_json(&s.labels, None),
            trim(value)
        );
    }
    out.push_str("]}}\n");
    out
}

/// The raw counters over the window, eight samples three hours apart; the first series'
/// proxy restarts half way (a counter reset).
pub fn range_json(series: &[Series], seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x7a9e);
    let mut out = String::from("{\n  \"status\": \"success\",\n  \"data\": {\n    \"resultType\": \"matrix\",\n    \"result\": [\n");
    for (i, s) in series.iter().enumerate() {
        let base = 1000 + rng.below(50_000) as u64;
        let mut values = Vec::new();
        for k in 0..8u64 {
            let grown = s.count * k / 7;
            let v = if i == 0 && k >= 4 {
                grown - s.count * 3 / 7
            } else {
                base + grown
            };
            values.push(format!("[{}, \"{v}\"]", END - (7 - k) * 10_800));
        }
        let sep = if i + 1 < series.len() { "," } else { "" };
        let _ = writeln!(
            out,
            "      {{\n        \"metric\": {},\n        \"values\": [{}]\n      }}{sep}",
            labels_json(&s.labels, Some(s.metric)),
            values.join(", ")
        );
    }
    out.push_str("    ]\n  }\n}\n");
    out
}

/// A federation scrape: counters since the proxies started, with the scrape's own labels.
pub fn exposition(scene: &Scene, series: &[Series]) -> String {
    let mut out = String::new();
    for metric in ["istio_requests_total", "istio_tcp_connections_opened_total"] {
        let _ = writeln!(out, "# TYPE {metric} counter");
        for s in series.iter().filter(|s| s.metric == metric) {
            let mut labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            if let Some(pod) = reporting_pod(scene, s) {
                labels.push(format!("instance=\"{}:15020\"", pod.1));
                labels.push("job=\"kubernetes-pods\"".into());
                labels.push(format!("pod=\"{}\"", pod.0));
            }
            let _ = writeln!(
                out,
                "{metric}{{{}}} {} {}000",
                labels.join(","),
                s.count,
                END
            );
        }
    }
    out.push_str("# TYPE envoy_server_live gauge\nenvoy_server_live{job=\"kubernetes-pods\"} 1 1714557600000\n");
    out.push_str("# TYPE envoy_cluster_upstream_cx_total counter\nenvoy_cluster_upstream_cx_total{cluster_name=\"xds-grpc\",job=\"kubernetes-pods\"} 3 1714557600000\n");
    out
}

/// The pod (name, IP) of the proxy that reported a series.
fn reporting_pod(scene: &Scene, s: &Series) -> Option<(String, String)> {
    let get = |k: &str| {
        s.labels
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.as_str())
    };
    let key = if get("reporter") == Some("source") {
        "source_workload"
    } else {
        "destination_workload"
    };
    let w = scene
        .workloads
        .iter()
        .find(|w| Some(w.name.as_str()) == get(key))?;
    Some((w.pods[0].name.clone(), w.pods[0].ip.clone()))
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
