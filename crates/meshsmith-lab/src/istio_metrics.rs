//! The sidecars' traffic as Istio's proxies export it, for `meshsmith gate`: a monitoring
//! window recorded on real Envoy.
//!
//! ```text
//!  LabSpec ──Fleet::start──▶ steady requests along every edge (callee delays as asked)
//!     each sidecar's JSON access log ──▶ istio_requests_total, istio_request_duration_milliseconds
//!     each sidecar's admin counters  ──▶ outlier ejections, refused plaintext
//!  ──▶ DIR/<query>.json: the answers Prometheus gives the gate's queries
//! ```
//!
//! Istio's stats filter counts one request per access-log entry and labels it from the same
//! facts the log holds; so the lab derives the standard metrics from each entry: the caller's
//! sidecar (`upstream_cluster` `outbound|...`) reports `reporter="source"`, the callee's
//! (`inbound|...`) `reporter="destination"` with the caller from the peer certificate's SPIFFE
//! identity (`unknown` without one), `response_code` and `response_flags` as logged (a route
//! timeout is `504` `UT`; a policy's denial is `403`), and the duration in Istio's buckets.
//! Dry-run results come from the log (`dry_run_result`), ejections and refused plaintext from
//! Envoy's own counters (`outlier_detection.ejections_enforced_total`, `listener.*.
//! ssl.connection_error` and `no_filter_chain_match`). Each file is what `sum by (...)
//! (increase(...[window]))` answers for the run: counts since the fleet started.

use crate::access_log::{field, read_json};
use crate::client::{self, AppRequest};
use crate::fleet::{fqdn, Fleet, Sidecar};
use crate::spec::{LabSpec, Protocol, ServiceSpec};
use crate::LabError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Istio's default buckets for `istio_request_duration_milliseconds`.
pub const DURATION_BUCKETS_MS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// The traffic of one recorded window.
#[derive(Debug, Clone)]
pub struct WindowTraffic {
    /// Requests sent along each edge of the spec, one after the other.
    pub requests_per_edge: u32,
    /// How long each callee's app holds every request (service name -> ms).
    pub delay_ms: BTreeMap<String, u64>,
}

/// What a recording sent and wrote.
#[derive(Debug, Clone)]
pub struct WindowRecord {
    /// (caller, callee, status -> count) per edge, as the client saw it.
    pub edges: Vec<(String, String, BTreeMap<u16, u32>)>,
    pub files: Vec<PathBuf>,
}

/// Starts a fleet for `spec`, sends the window's traffic and writes the answers into `dir`.
pub async fn record(
    spec: &LabSpec,
    envoy: &Path,
    traffic: &WindowTraffic,
    dir: &Path,
) -> Result<WindowRecord, LabError> {
    spec.validate()?;
    let fleet = crate::fleet::Fleet::start(spec, envoy, None).await?;
    for app in &fleet.apps {
        let delay_ms = traffic
            .delay_ms
            .get(&app.control.service)
            .copied()
            .unwrap_or(0);
        app.control.set(crate::app::Behaviour {
            delay_ms,
            fail: false,
        });
    }
    let mut edges = Vec::new();
    for e in &spec.edges {
        let (Some(caller), Some(callee)) = (spec.service(&e.from), spec.service(&e.to)) else {
            continue;
        };
        edges.push((
            e.from.clone(),
            e.to.clone(),
            drive(&fleet, caller, callee, traffic.requests_per_edge).await,
        ));
    }
    tokio::time::sleep(crate::envoy::LOG_FLUSH * 5).await;
    let answers = answers(&fleet).await;
    let files = write(dir, &answers).map_err(|source| LabError::Logs {
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(WindowRecord { edges, files })
}

/// [`record`] on its own runtime.
pub fn record_blocking(
    spec: &LabSpec,
    envoy: &Path,
    traffic: &WindowTraffic,
    dir: &Path,
) -> Result<WindowRecord, LabError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(LabError::Runtime)?;
    runtime.block_on(record(spec, envoy, traffic, dir))
}

/// `n` requests from `caller`'s app through its sidecar to `callee`; statuses counted (0: no
/// answer).
async fn drive(
    fleet: &Fleet,
    caller: &ServiceSpec,
    callee: &ServiceSpec,
    n: u32,
) -> BTreeMap<u16, u32> {
    let mut statuses = BTreeMap::new();
    let Some(port) = fleet
        .sidecar(&caller.name, 0)
        .and_then(|s| s.outbound_addr(callee.port))
    else {
        return statuses;
    };
    let req = AppRequest {
        host: fqdn(callee),
        grpc: callee.protocol == Protocol::Grpc,
        headers: Vec::new(),
    };
    for _ in 0..n {
        let status = client::send(port, &req).await.map_or(0, |r| r.status);
        *statuses.entry(status).or_insert(0) += 1;
    }
    statuses
}

/// Query name (as the plan names it) -> series (labels, value).
type Answers = BTreeMap<&'static str, BTreeMap<Vec<(String, String)>, f64>>;

async fn answers(fleet: &Fleet) -> Answers {
    let mut out = Answers::new();
    for name in [
        "requests",
        "latency",
        "tcp",
        "ejections",
        "dry-run-denials",
        "plaintext-refusals",
    ] {
        out.insert(name, BTreeMap::new());
    }
    for sidecar in &fleet.sidecars {
        let Some(own) = fleet.spec.service(&sidecar.service) else {
            continue;
        };
        for entry in read_json(&sidecar.logs.json) {
            from_entry(&fleet.spec, own, sidecar, &entry, &mut out);
        }
        counters(own, sidecar, &mut out).await;
    }
    out
}

fn add(out: &mut Answers, query: &'static str, labels: Vec<(&str, String)>, n: f64) {
    let key = labels
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if let Some(series) = out.get_mut(query) {
        *series.entry(key).or_insert(0.0) += n;
    }
}

/// One access-log entry: a request as Istio's stats filter counts it.
fn from_entry(spec: &LabSpec, own: &ServiceSpec, sidecar: &Sidecar, e: &Value, out: &mut Answers) {
    let cluster = field(e, "upstream_cluster").unwrap_or("");
    let (reporter, source, destination) = if cluster.starts_with("inbound|") {
        let peer = field(e, "downstream_peer_uri_san")
            .and_then(|san| caller_of(spec, san))
            .map(|s| (s.workload().to_string(), s.namespace.clone()));
        (
            "destination",
            peer,
            Some((own.name.clone(), own.namespace.clone())),
        )
    } else if let Some(host) = cluster
        .strip_prefix("outbound|")
        .and_then(|r| r.split('|').nth(2))
    {
        let mut parts = host.split('.');
        let dest = match (parts.next(), parts.next()) {
            (Some(n), Some(ns)) => Some((n.to_string(), ns.to_string())),
            _ => None,
        };
        (
            "source",
            Some((own.workload().to_string(), own.namespace.clone())),
            dest,
        )
    } else {
        return;
    };
    let Some((dest_name, dest_ns)) = destination else {
        return;
    };
    let (src_name, src_ns) = source.unwrap_or(("unknown".into(), "unknown".into()));
    let ends = vec![
        ("reporter", reporter.to_string()),
        ("source_workload", src_name),
        ("source_workload_namespace", src_ns),
        ("destination_service_name", dest_name.clone()),
        ("destination_service_namespace", dest_ns),
    ];
    let protocol = match spec.service(&dest_name).map(|s| s.protocol) {
        Some(Protocol::Grpc) => "grpc",
        _ => "http",
    };
    let code = e["response_code"].as_u64().unwrap_or(0).to_string();
    let flags = field(e, "response_flags").unwrap_or("-").to_string();
    let mut labels = ends.clone();
    labels.extend([
        ("request_protocol", protocol.to_string()),
        ("response_code", code),
        ("response_flags", flags),
    ]);
    add(out, "requests", labels, 1.0);
    let duration = e["duration"].as_f64().unwrap_or(0.0);
    for le in DURATION_BUCKETS_MS.iter().map(|b| Some(*b)).chain([None]) {
        let inside = le.is_none_or(|le| duration <= le);
        let mut labels = ends.clone();
        labels.push(("le", le.map_or("+Inf".to_string(), |le| le.to_string())));
        add(out, "latency", labels, if inside { 1.0 } else { 0.0 });
    }
    if field(e, "dry_run_result") == Some("denied") {
        let labels = vec![
            ("pod", sidecar.pod.clone()),
            ("namespace", own.namespace.clone()),
            ("authz_dry_run_result", "denied".to_string()),
        ];
        add(out, "dry-run-denials", labels, 1.0);
    }
}

/// The service whose certificate carries `san` (`spiffe://td/ns/NS/sa/SA`).
fn caller_of<'a>(spec: &'a LabSpec, san: &str) -> Option<&'a ServiceSpec> {
    spec.services.iter().find(|s| spec.spiffe_id(s) == san)
}

/// Envoy's own counters: ejections per outbound cluster, refused plaintext per listener.
async fn counters(own: &ServiceSpec, sidecar: &Sidecar, out: &mut Answers) {
    const EJECTED: &str = ".outlier_detection.ejections_enforced_total";
    if let Ok(stats) = sidecar
        .process
        .stats("outlier_detection\\.ejections_enforced_total$")
        .await
    {
        for (name, value) in stats.0 {
            if let Some(cluster) = name
                .strip_prefix("cluster.")
                .and_then(|n| n.strip_suffix(EJECTED))
            {
                add(
                    out,
                    "ejections",
                    vec![("cluster_name", cluster.to_string())],
                    value as f64,
                );
            }
        }
    }
    let refused = "^listener\\..*\\.(ssl\\.connection_error|no_filter_chain_match)$";
    if let Ok(stats) = sidecar.process.stats(refused).await {
        for (name, value) in stats.0 {
            let Some(rest) = name.strip_prefix("listener.") else {
                continue;
            };
            let address = rest
                .trim_end_matches(".ssl.connection_error")
                .trim_end_matches(".no_filter_chain_match")
                .to_string();
            let labels = vec![
                ("pod", sidecar.pod.clone()),
                ("namespace", own.namespace.clone()),
                ("listener_address", address),
            ];
            add(out, "plaintext-refusals", labels, value as f64);
        }
    }
}

/// One Prometheus vector answer per query, series sorted; values as Prometheus writes them.
fn write(dir: &Path, answers: &Answers) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for (name, series) in answers {
        let result: Vec<Value> = series
            .iter()
            .map(|(labels, v)| {
                let metric: serde_json::Map<String, Value> =
                    labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                json!({"metric": metric, "value": [0, v.to_string()]})
            })
            .collect();
        let doc = json!({"status": "success", "data": {"resultType": "vector", "result": result}});
        let path = dir.join(format!("{name}.json"));
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )?;
        files.push(path);
    }
    Ok(files)
}
