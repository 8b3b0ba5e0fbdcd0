//! Large traffic inputs for `cargo xtask bench`: an access log of a given size (a
//! `kubectl logs --prefix` stream of many pods' proxies, outbound and inbound entries with
//! the proxies' own lines in between) and the Prometheus answer for a synthetic
//! organisation (one series per caller, callee, reporter and response code).

use super::rng::Rng;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits};
use std::io::{BufWriter, Write};
use std::path::Path;

const NAMESPACES: usize = 40;
const SERVICES_PER_NAMESPACE: usize = 25;

/// Writes an access log of at least `bytes` bytes to `path`.
pub fn access_log(path: &Path, bytes: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let pods: Vec<(String, usize, usize)> = (0..NAMESPACES * SERVICES_PER_NAMESPACE)
        .map(|i| {
            let (ns, svc) = (i / SERVICES_PER_NAMESPACE, i % SERVICES_PER_NAMESPACE);
            (
                format!("svc-{ns:02}-{svc:02}-{}-{}", rng.alnum(10), rng.alnum(5)),
                ns,
                svc,
            )
        })
        .collect();
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        n += 1;
        let (pod, ns, svc) = &pods[rng.below(pods.len())];
        let line = if n.is_multiple_of(97) {
            format!("[pod/{pod}/istio-proxy] 2024-05-01T10:00:00.000000Z\twarn\tenvoy config\tStreamAggregatedResources gRPC config stream to xds-grpc closed\n")
        } else {
            let callee = (svc + 1 + rng.below(4)) % SERVICES_PER_NAMESPACE;
            entry(pod, *ns, *svc, callee, n, &mut rng)
        };
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()
}

fn entry(pod: &str, ns: usize, svc: usize, callee: usize, n: u64, rng: &mut Rng) -> String {
    let ms = n % 3_600_000;
    let time = format!(
        "2024-05-01T10:{:02}:{:02}.{:03}Z",
        ms / 60_000,
        (ms / 1000) % 60,
        ms % 1000
    );
    let id = rng.next_u64();
    let code = if rng.chance(2) { 503 } else { 200 };
    if n.is_multiple_of(2) {
        format!(
            "[pod/{pod}/istio-proxy] [{time}] \"GET /api/v1/items/{} HTTP/1.1\" {code} - via_upstream - \"-\" 0 {} {} {} \"-\" \"Go-http-client/1.1\" \"{id:016x}-0000-4000-8000-000000000000\" \"svc-{ns:02}-{callee:02}:8080\" \"10.244.{ns}.{callee}:8080\" outbound|8080||svc-{ns:02}-{callee:02}.ns-{ns:02}.svc.cluster.local 10.244.{ns}.{svc}:41234 10.96.{ns}.{callee}:8080 10.244.{ns}.{svc}:52014 - default\n",
            id % 1000, 100 + id % 4000, 1 + id % 50, id % 49,
        )
    } else {
        format!(
            "[pod/{pod}/istio-proxy] [{time}] \"GET /api/v1/items/{} HTTP/1.1\" {code} - via_upstream - \"-\" 0 {} {} {} \"-\" \"Go-http-client/1.1\" \"{id:016x}-0000-4000-8000-000000000000\" \"svc-{ns:02}-{svc:02}:8080\" \"10.244.{ns}.{svc}:8080\" inbound|8080|| 127.0.0.6:44110 10.244.{ns}.{svc}:8080 10.244.{ns}.{callee}:37412 outbound_.8080_._.svc-{ns:02}-{svc:02}.ns-{ns:02}.svc.cluster.local default\n",
            id % 1000, 100 + id % 4000, 1 + id % 50, id % 49,
        )
    }
}

/// Writes the Prometheus answer (the README's query, an instant vector) for the
/// organisation whose manifests are in `org`: every workload calls one to four Services,
/// mostly in its own namespace; both reporters; some 5xx.
pub fn prometheus_answer(org: &Path, path: &Path, seed: u64) -> anyhow::Result<u64> {
    let loaded = load(&[Input::Path(org.to_path_buf())], &Limits::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let inv = inventory(&loaded.objects, "default");
    let services: Vec<(&str, &str)> = inv
        .services
        .iter()
        .map(|s| (s.namespace.as_str(), s.name.as_str()))
        .collect();
    let mut rng = Rng::new(seed);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[\n")?;
    let mut count = 0u64;
    for (i, w) in inv.workloads.iter().enumerate() {
        for _ in 0..1 + rng.below(4) {
            let j = if rng.chance(80) {
                (i / 25) * 25 + rng.below(25)
            } else {
                rng.below(services.len())
            };
            let Some(&(ns, name)) = services.get(j.min(services.len().saturating_sub(1))) else {
                continue;
            };
            for reporter in ["source", "destination"] {
                for code in ["200", "503"] {
                    let value = if code == "200" {
                        1000.0 + rng.below(90_000) as f64 * 1.37
                    } else {
                        rng.below(40) as f64
                    };
                    let sep = if count == 0 { "" } else { ",\n" };
                    write!(
                        out,
                        "{sep}{{\"metric\":{{\"reporter\":\"{reporter}\",\"source_workload\":\"{}\",\"source_workload_namespace\":\"{}\",\"source_principal\":\"spiffe://cluster.local/ns/{}/sa/{}\",\"destination_service\":\"{name}.{ns}.svc.cluster.local\",\"destination_service_name\":\"{name}\",\"destination_service_namespace\":\"{ns}\",\"destination_workload\":\"{name}\",\"destination_workload_namespace\":\"{ns}\",\"request_protocol\":\"http\",\"response_code\":\"{code}\",\"connection_security_policy\":\"{}\"}},\"value\":[1714557600.123,\"{value:.3}\"]}}",
                        w.name, w.namespace, w.namespace, w.service_account,
                        if reporter == "source" { "unknown" } else { "mutual_tls" },
                    )?;
                    count += 1;
                }
            }
        }
    }
    out.write_all(b"\n]}}\n")?;
    out.flush()?;
    Ok(count)
}
