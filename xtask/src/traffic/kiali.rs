//! A scene -> Kiali's workload graph (`/api/namespaces/graph?graphType=workload`, service
//! nodes injected): workload nodes, service nodes, the `unknown` node for callers outside
//! the mesh; edges from callers to services and from services to the workloads behind them,
//! with rates over the graph's duration; the decoy as an idle edge (no rates).

use super::scene::{Proto, Scene};
use serde_json::{json, Value};

const DURATION: u64 = 86_400;

/// The graph's JSON.
pub fn graph(scene: &Scene) -> String {
    let mut nodes = vec![
        json!({"data": {"id": "unknown", "nodeType": "unknown", "namespace": "unknown", "workload": "unknown", "app": "unknown", "isRoot": true}}),
    ];
    for (i, w) in scene.workloads.iter().enumerate() {
        nodes.push(json!({"data": {"id": format!("w{i}"), "nodeType": "workload", "namespace": w.namespace, "workload": w.name, "app": w.app, "version": w.version}}));
    }
    for (i, s) in scene.services.iter().enumerate() {
        nodes.push(json!({"data": {"id": format!("s{i}"), "nodeType": "service", "namespace": s.namespace, "app": s.name, "service": s.name}}));
    }
    let mut edges = Vec::new();
    for c in &scene.calls {
        let per_second = (c.requests * 37) as f64 / DURATION as f64;
        let errors = (c.errors * 37) as f64 / DURATION as f64;
        let traffic = traffic(c.protocol, per_second, errors);
        edges.push(edge(
            &format!("w{}", c.caller),
            &format!("s{}", c.service),
            traffic.clone(),
        ));
        for &b in &scene.services[c.service].backends {
            edges.push(edge(
                &format!("s{}", c.service),
                &format!("w{b}"),
                traffic.clone(),
            ));
        }
    }
    for o in &scene.outside {
        let per_second = (o.requests * 37) as f64 / DURATION as f64;
        if let Some(s) = o.service {
            edges.push(edge(
                "unknown",
                &format!("s{s}"),
                traffic(Proto::Http, per_second, 0.0),
            ));
        }
    }
    if let Some((caller, s, _)) = scene.decoy {
        edges.push(edge(
            &format!("w{caller}"),
            &format!("s{s}"),
            json!({"protocol": "http"}),
        ));
    }
    edges.sort_by_key(|e| {
        (
            e["data"]["source"].to_string(),
            e["data"]["target"].to_string(),
        )
    });
    edges.dedup_by_key(|e| {
        (
            e["data"]["source"].to_string(),
            e["data"]["target"].to_string(),
        )
    });
    let graph = json!({
        "timestamp": 1_714_557_600u64,
        "duration": DURATION,
        "graphType": "workload",
        "elements": {"nodes": nodes, "edges": edges},
    });
    serde_json::to_string_pretty(&graph).unwrap_or_default() + "\n"
}

fn edge(source: &str, target: &str, traffic: Value) -> Value {
    let mtls = if source == "unknown" {
        None
    } else {
        Some("100")
    };
    let mut data = json!({"id": format!("{source}-{target}"), "source": source, "target": target, "traffic": traffic});
    if let Some(m) = mtls {
        data["isMTLS"] = m.into();
    }
    json!({ "data": data })
}

fn traffic(protocol: Proto, per_second: f64, errors: f64) -> Value {
    match protocol {
        Proto::Tcp => json!({"protocol": "tcp", "rates": {"tcp": rate(per_second * 2048.0)}}),
        Proto::Grpc => {
            json!({"protocol": "grpc", "rates": {"grpc": rate(per_second), "grpcPercentReq": "100.0"}})
        }
        Proto::Http => {
            let mut rates = json!({"http": rate(per_second), "httpPercentReq": "100.0"});
            if errors > 0.0 {
                rates["http5xx"] = rate(errors).into();
                rates["httpPercentErr"] = format!("{:.1}", errors / per_second * 100.0).into();
            }
            json!({"protocol": "http", "rates": rates, "responses": {"200": {"flags": {"-": "100.0"}}}})
        }
    }
}

/// A rate as Kiali writes it: at least two decimals, more until one digit shows.
fn rate(v: f64) -> String {
    let mut precision = 2;
    while precision < 5 && v > 0.0 && v * 10f64.powi(precision) < 1.0 {
        precision += 1;
    }
    format!("{v:.*}", precision as usize)
}
