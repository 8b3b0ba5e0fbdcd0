//! The default choice of services for the lab: one path through the graph that exercises every
//! kind of policy the generator writes.
//!
//! In: the `Topology` and the `MeshConfig` generated from it. Out: the names (`name.namespace`)
//! of a gateway, an aggregator it calls, an external integration the aggregator calls, a webhook
//! receiver that also calls that integration, and, when the aggregator has one, a callee of the
//! aggregator whose generated route retries: a STRICT chain with timeouts, retries, pools and
//! ejection, a callee with two callers (two allowed principals), a PERMISSIVE receiver with the
//! unauthenticated-on-its-port exception, and a hop whose retries the lab can provoke. Chosen
//! from roles, edges and the generated retries alone; a gRPC retrying callee is preferred (the
//! lab provokes a covered gRPC failure, UNAVAILABLE in a trailers-only response, on any gRPC
//! hop whose retryOn has `unavailable`), then one called by the most services already on the
//! path (every such call is another allowed edge to prove); among several candidates the first
//! in the graph's sorted order wins, so the choice is stable.

use super::{route_for, FromMeshError};
use meshsmith_core::model::{
    Kind, MeshConfig, MeshService, Protocol, QualifiedName, Role, Spec, Topology,
};

/// The gateway -> aggregator -> external integration <- webhook receiver path, plus a retrying
/// callee of the aggregator when there is one.
pub fn choose_path(topology: &Topology, mesh: &MeshConfig) -> Result<Vec<String>, FromMeshError> {
    let mut path = core_path(topology)?;
    if let Some(aggregator) = path.get(1).and_then(|a| topology.find(a)) {
        if let Some(extra) = retrying_callee(topology, mesh, &aggregator.id, &path) {
            path.push(extra);
        }
    }
    Ok(path)
}

fn runnable(s: &MeshService) -> bool {
    matches!(s.protocol, Protocol::Http | Protocol::Grpc) && !s.workloads.is_empty()
}

fn calls(topology: &Topology, from: &QualifiedName, to: &QualifiedName) -> bool {
    topology
        .edges
        .iter()
        .any(|e| &e.from == from && &e.to == to)
}

fn core_path(topology: &Topology) -> Result<Vec<String>, FromMeshError> {
    let with_role = |role: Role| {
        topology
            .services
            .iter()
            .filter(move |s| s.role == role && runnable(s))
    };
    let calls = |from: &QualifiedName, to: &QualifiedName| calls(topology, from, to);
    let mut near_miss = None;
    for gateway in with_role(Role::Gateway) {
        for aggregator in with_role(Role::Aggregator).filter(|a| calls(&gateway.id, &a.id)) {
            for integration in
                with_role(Role::ExternalIntegration).filter(|x| calls(&aggregator.id, &x.id))
            {
                let receiver =
                    with_role(Role::WebhookReceiver).find(|w| calls(&w.id, &integration.id));
                match receiver {
                    Some(w) => {
                        return Ok([&gateway.id, &aggregator.id, &integration.id, &w.id]
                            .iter()
                            .map(|id| id.to_string())
                            .collect())
                    }
                    None => {
                        near_miss.get_or_insert(format!(
                            "{} -> {} -> {} has no webhook receiver calling {}",
                            gateway.id, aggregator.id, integration.id, integration.id
                        ));
                    }
                }
            }
        }
    }
    Err(FromMeshError::NoPath(near_miss.unwrap_or_else(|| {
        "no gateway -> aggregator -> external-integration path (HTTP or gRPC) in the graph".into()
    })))
}

/// A callee of `caller`, not yet on `path`, whose generated route for the port `caller` uses
/// retries (attempts > 0); gRPC ones first, then those with the most callers already on the
/// path, then the graph's order.
fn retrying_callee(
    topology: &Topology,
    mesh: &MeshConfig,
    caller: &QualifiedName,
    path: &[String],
) -> Option<String> {
    let mut candidates: Vec<&MeshService> = topology
        .edges
        .iter()
        .filter(|e| &e.from == caller)
        .filter_map(|e| {
            let s = topology.service(&e.to)?;
            let fresh = !path.iter().any(|p| *p == s.id.to_string());
            (fresh && runnable(s) && generated_attempts(mesh, s, e.port) > 0).then_some(s)
        })
        .collect();
    // Callers already on the path: each is one more allowed edge (and principal) proven.
    let callers_on_path = |s: &MeshService| {
        topology
            .edges
            .iter()
            .filter(|e| e.to == s.id && path.iter().any(|p| *p == e.from.to_string()))
            .count()
    };
    candidates.sort_by_key(|s| {
        (
            s.protocol != Protocol::Grpc,
            std::cmp::Reverse(callers_on_path(s)),
        )
    });
    candidates.first().map(|s| s.id.to_string())
}

/// `retries.attempts` of the generated route a request on `port` takes (0 without one).
fn generated_attempts(mesh: &MeshConfig, s: &MeshService, port: Option<u16>) -> u32 {
    let port = port.or_else(|| s.primary_port().map(|p| p.port));
    mesh.resources
        .iter()
        .filter(|r| r.kind == Kind::VirtualService && r.owner == s.id)
        .find_map(|r| match &r.spec {
            Spec::VirtualService(vs) => route_for(&vs.http, port),
            _ => None,
        })
        .and_then(|route| route.retries.as_ref())
        .map_or(0, |r| r.attempts)
}
