//! A scene -> Istio's Envoy access logs: one file per pod in the default text format, the
//! same as one `kubectl logs --prefix` stream, and one file per pod in the JSON encoding
//! (with the `downstream_peer_uri_san` key a format may add). Each log starts with the
//! proxy's own startup lines, as `kubectl logs -c istio-proxy` shows them.

use super::rng::Rng;
use super::scene::{Call, Outside, Proto, Scene};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One access log entry, in the log of `pod` (workload, pod index).
#[derive(Clone)]
pub struct Entry {
    pub pod: (usize, usize),
    pub at_ms: u64,
    /// `None` for a TCP connection.
    pub method: Option<&'static str>,
    pub path: String,
    pub protocol: &'static str,
    pub code: u16,
    pub flags: &'static str,
    pub details: &'static str,
    pub user_agent: &'static str,
    pub request_id: String,
    pub authority: Option<String>,
    pub upstream_host: Option<String>,
    pub cluster: String,
    pub upstream_local: Option<String>,
    pub downstream_local: String,
    pub downstream_remote: String,
    pub sni: Option<String>,
    pub peer: Option<String>,
    pub bytes: (u64, u64),
    pub duration: u64,
}

/// Every entry of the scene, in time order.
pub fn entries(scene: &Scene, seed: u64) -> Vec<Entry> {
    let mut rng = Rng::new(seed ^ 0x1095);
    let mut out = Vec::new();
    let mut clock = 0u64;
    for call in &scene.calls {
        for k in 0..(2 + call.requests % 5) as usize {
            clock += 37 + rng.below(90) as u64;
            call_entries(scene, call, k, clock, &mut rng, &mut out);
        }
    }
    for o in &scene.outside {
        for k in 0..(2 + o.requests % 3) as usize {
            clock += 211;
            out.push(outside_entry(scene, o, k, clock, &mut rng));
        }
    }
    out.sort_by_key(|e| e.at_ms);
    out
}

/// The `k`th request of a call: the caller's outbound entry and, unless it failed before
/// reaching the callee, the callee's inbound entry. A call with 5xx responses fails once.
fn call_entries(
    scene: &Scene,
    call: &Call,
    k: usize,
    clock: u64,
    rng: &mut Rng,
    out: &mut Vec<Entry>,
) {
    let service = &scene.services[call.service];
    let caller = &scene.workloads[call.caller];
    let from = k % caller.pods.len();
    let backend = service.backends[k % service.backends.len()];
    let callee = &scene.workloads[backend];
    let to = k % callee.pods.len();
    let failed = k == 0 && call.errors > 0;
    let (method, path, protocol) = request(call.protocol, &service.name, k);
    let authority = (call.protocol != Proto::Tcp).then(|| {
        if service.namespace == caller.namespace {
            format!("{}:{}", service.name, call.port)
        } else {
            format!("{}.{}:{}", service.name, service.namespace, call.port)
        }
    });
    let (pod_ip, caller_ip) = (&callee.pods[to].ip, &caller.pods[from].ip);
    let ephemeral = 32768 + rng.below(28000);
    let ok = if method.is_some() { 200 } else { 0 };
    let outbound = Entry {
        pod: (call.caller, from),
        at_ms: clock,
        method,
        path: path.clone(),
        protocol,
        code: if failed { 503 } else { ok },
        flags: if failed { "UF" } else { "-" },
        details: match (failed, method) {
            (true, _) => "upstream_reset_before_response_started{connection_failure}",
            (false, Some(_)) => "via_upstream",
            (false, None) => "-",
        },
        user_agent: user_agent(call.protocol),
        request_id: request_id(rng),
        authority,
        upstream_host: Some(format!("{pod_ip}:{}", call.target_port)),
        cluster: format!("outbound|{}||{}", call.port, service.host()),
        upstream_local: (!failed).then(|| format!("{caller_ip}:{ephemeral}")),
        downstream_local: format!("{}:{}", service.cluster_ip, call.port),
        downstream_remote: format!("{caller_ip}:{}", ephemeral - 2),
        sni: None,
        peer: None,
        bytes: (
            if method == Some("POST") { 64 } else { 0 },
            if failed {
                91
            } else {
                120 + rng.below(4000) as u64
            },
        ),
        duration: 2 + rng.below(40) as u64,
    };
    if !failed {
        out.push(Entry {
            pod: (backend, to),
            at_ms: clock + 1,
            code: ok,
            request_id: outbound.request_id.clone(),
            authority: outbound.authority.clone(),
            path: outbound.path.clone(),
            cluster: format!("inbound|{}||", call.target_port),
            upstream_local: Some(format!("127.0.0.6:{}", 40000 + rng.below(20000))),
            downstream_local: format!("{pod_ip}:{}", call.target_port),
            downstream_remote: format!("{caller_ip}:{ephemeral}"),
            sni: Some(format!("outbound_.{}_._.{}", call.port, service.host())),
            peer: Some(format!("spiffe://{}", caller.principal())),
            duration: 1 + rng.below(30) as u64,
            ..outbound.clone()
        });
    }
    out.push(outbound);
}

/// The `k`th request from outside the mesh (a browser, the kubelet, Prometheus).
fn outside_entry(scene: &Scene, o: &Outside, k: usize, clock: u64, rng: &mut Rng) -> Entry {
    let w = &scene.workloads[o.workload];
    let to = k % w.pods.len();
    let pod_ip = &w.pods[to].ip;
    let authority = match o.service {
        Some(_) => format!("{}.example.com", scene.corpus),
        None => format!("{pod_ip}:{}", o.target_port),
    };
    Entry {
        pod: (o.workload, to),
        at_ms: clock,
        method: Some("GET"),
        path: o.path.to_string(),
        protocol: "HTTP/1.1",
        code: 200,
        flags: "-",
        details: "via_upstream",
        user_agent: o.user_agent,
        request_id: request_id(rng),
        authority: Some(authority),
        upstream_host: Some(format!("{pod_ip}:{}", o.target_port)),
        cluster: format!("inbound|{}||", o.target_port),
        upstream_local: Some(format!("127.0.0.6:{}", 40000 + rng.below(20000))),
        downstream_local: format!("{pod_ip}:{}", o.target_port),
        downstream_remote: format!("{}:{}", o.remote_ip, 30000 + rng.below(30000)),
        sni: None,
        peer: None,
        bytes: (0, 200 + rng.below(9000) as u64),
        duration: 1 + rng.below(60) as u64,
    }
}

fn request(
    protocol: Proto,
    service: &str,
    k: usize,
) -> (Option<&'static str>, String, &'static str) {
    match protocol {
        Proto::Http => (Some("GET"), format!("/api/{service}/{k}"), "HTTP/1.1"),
        Proto::Grpc => {
            let camel: String = service
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            (
                Some("POST"),
                format!("/{}.{camel}/Get", service.replace('-', "")),
                "HTTP/2",
            )
        }
        Proto::Tcp => (None, String::new(), "-"),
    }
}

fn user_agent(protocol: Proto) -> &'static str {
    match protocol {
        Proto::Http => "Go-http-client/1.1",
        Proto::Grpc => "grpc-go/1.63.2",
        Proto::Tcp => "-",
    }
}

fn request_id(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// `2024-05-01T10:00:00.123Z` for a time `ms` after the window opened.
pub fn timestamp(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "2024-05-01T{:02}:{:02}:{:02}.{:03}Z",
        (10 + s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

fn dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// One entry in Istio's default text format.
pub fn text_line(e: &Entry) -> String {
    let request = match e.method {
        Some(m) => format!("{m} {} {}", e.path, e.protocol),
        None => "- - -".to_string(),
    };
    let service_time = if e.code >= 200 {
        (e.duration.saturating_sub(1)).to_string()
    } else {
        "-".into()
    };
    format!(
        "[{}] \"{request}\" {} {} {} - \"-\" {} {} {} {service_time} \"-\" \"{}\" \"{}\" \"{}\" \"{}\" {} {} {} {} {} {}",
        timestamp(e.at_ms),
        e.code,
        e.flags,
        e.details,
        e.bytes.0,
        e.bytes.1,
        e.duration,
        if e.method.is_some() { e.user_agent } else { "-" },
        if e.method.is_some() { e.request_id.as_str() } else { "-" },
        dash(&e.authority),
        dash(&e.upstream_host),
        e.cluster,
        dash(&e.upstream_local),
        e.downstream_local,
        e.downstream_remote,
        dash(&e.sni),
        if e.method.is_some() { "default" } else { "-" },
    )
}

/// One entry in Istio's JSON encoding, with the caller's identity where mTLS carried it.
pub fn json_line(e: &Entry) -> String {
    let s = |v: Option<&str>| {
        v.map_or(serde_json::Value::Null, |v| {
            serde_json::Value::String(v.to_string())
        })
    };
    let http = e.method.is_some();
    let mut o = serde_json::Map::new();
    o.insert("start_time".into(), s(Some(&timestamp(e.at_ms))));
    o.insert("method".into(), s(e.method));
    o.insert("path".into(), s(http.then_some(e.path.as_str())));
    o.insert("protocol".into(), s(http.then_some(e.protocol)));
    o.insert("response_code".into(), e.code.into());
    o.insert("response_flags".into(), s(Some(e.flags)));
    o.insert(
        "response_code_details".into(),
        s((e.details != "-").then_some(e.details)),
    );
    o.insert(
        "connection_termination_details".into(),
        serde_json::Value::Null,
    );
    o.insert(
        "upstream_transport_failure_reason".into(),
        serde_json::Value::Null,
    );
    o.insert("bytes_received".into(), e.bytes.0.into());
    o.insert("bytes_sent".into(), e.bytes.1.into());
    o.insert("duration".into(), e.duration.into());
    o.insert("x_forwarded_for".into(), serde_json::Value::Null);
    o.insert("user_agent".into(), s(http.then_some(e.user_agent)));
    o.insert(
        "request_id".into(),
        s(http.then_some(e.request_id.as_str())),
    );
    o.insert("authority".into(), s(e.authority.as_deref()));
    o.insert("upstream_host".into(), s(e.upstream_host.as_deref()));
    o.insert("upstream_cluster".into(), s(Some(&e.cluster)));
    o.insert(
        "upstream_local_address".into(),
        s(e.upstream_local.as_deref()),
    );
    o.insert(
        "downstream_local_address".into(),
        s(Some(&e.downstream_local)),
    );
    o.insert(
        "downstream_remote_address".into(),
        s(Some(&e.downstream_remote)),
    );
    o.insert("requested_server_name".into(), s(e.sni.as_deref()));
    o.insert("route_name".into(), s(http.then_some("default")));
    if let Some(peer) = &e.peer {
        o.insert("downstream_peer_uri_san".into(), s(Some(peer)));
    }
    serde_json::Value::Object(o).to_string()
}

/// What the proxy prints before the first request.
pub fn startup_lines(json: bool) -> Vec<String> {
    if json {
        return vec![
            r#"{"level":"info","time":"2024-05-01T09:59:58.101234Z","msg":"Version 1.22.1-5b1ffc0a0bd5f4a0b9a6b1b1b3e0a1fa","scope":"default"}"#.into(),
            r#"{"level":"info","time":"2024-05-01T09:59:59.201234Z","msg":"Envoy proxy is ready","scope":"default"}"#.into(),
        ];
    }
    vec![
        "2024-05-01T09:59:58.101234Z\tinfo\tFLAG: --concurrency=\"2\"".into(),
        "2024-05-01T09:59:58.301234Z\tinfo\tsds\tStarting SDS grpc server".into(),
        "[2024-05-01 09:59:58.901][20][warning][main] [external/envoy/source/server/server.cc:936] there is no configured limit to the number of allowed active downstream connections. Configure a limit in `envoy.resource_monitors.downstream_connections` resource monitor.".into(),
        "2024-05-01T09:59:59.201234Z\tinfo\tEnvoy proxy is ready".into(),
    ]
}

/// Each pod's log, by pod name, in time order.
pub fn per_pod(scene: &Scene, entries: &[Entry], json: bool) -> BTreeMap<String, String> {
    let mut logs: BTreeMap<String, String> = BTreeMap::new();
    for (w, workload) in scene.workloads.iter().enumerate() {
        for (p, pod) in workload.pods.iter().enumerate() {
            let mut text = startup_lines(json).join("\n") + "\n";
            for e in entries.iter().filter(|e| e.pod == (w, p)) {
                text.push_str(&if json { json_line(e) } else { text_line(e) });
                text.push('\n');
            }
            logs.insert(pod.name.clone(), text);
        }
    }
    logs
}

/// All pods' logs as one `kubectl logs --prefix` stream.
pub fn prefixed(scene: &Scene, entries: &[Entry]) -> String {
    let mut out = String::new();
    for workload in &scene.workloads {
        for pod in &workload.pods {
            for line in startup_lines(false) {
                let _ = writeln!(out, "[pod/{}/istio-proxy] {line}", pod.name);
            }
        }
    }
    for e in entries {
        let pod = &scene.workloads[e.pod.0].pods[e.pod.1].name;
        let _ = writeln!(out, "[pod/{pod}/istio-proxy] {}", text_line(e));
    }
    out
}
