//! The default choice of services for the lab: one path through the graph that exercises every
//! kind of policy the generator writes.
//!
//! In: the `Topology`. Out: the names (`name.namespace`) of a gateway, an aggregator it calls,
//! an external integration the aggregator calls, and a webhook receiver that also calls that
//! integration: a STRICT chain with timeouts, retries, pools and ejection on two hops, a callee
//! with two callers (two allowed principals), and a PERMISSIVE receiver with the
//! unauthenticated-on-its-port exception. Chosen from roles and edges alone; among several such
//! paths the first in the graph's sorted order wins, so the choice is stable.

use super::FromMeshError;
use meshsmith_core::model::{MeshService, QualifiedName, Role, Topology};

/// The gateway -> aggregator -> external integration <- webhook receiver path.
pub fn choose_path(topology: &Topology) -> Result<Vec<String>, FromMeshError> {
    let runnable = |s: &MeshService| {
        matches!(
            s.protocol,
            meshsmith_core::model::Protocol::Http | meshsmith_core::model::Protocol::Grpc
        ) && !s.workloads.is_empty()
    };
    let with_role = |role: Role| {
        topology
            .services
            .iter()
            .filter(move |s| s.role == role && runnable(s))
    };
    let calls = |from: &QualifiedName, to: &QualifiedName| {
        topology
            .edges
            .iter()
            .any(|e| &e.from == from && &e.to == to)
    };
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
