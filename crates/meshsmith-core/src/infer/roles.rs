//! A node and its neighbourhood -> its role, with the evidence that decided it.
//!
//! Order: an explicit `meshsmith.dev/role` annotation; gateway (exposed and calls in);
//! webhook receiver (takes outside traffic directly, not via an ingress gateway); datastore
//! (stateful and TCP); worker (batch, no Service, queue consumer); external integration
//! (calls a host outside the cluster); aggregator (calls two or more services); sync API.

use crate::model::*;

pub const ROLE_ANNOTATION: &str = "meshsmith.dev/role";

pub struct RoleInput<'a> {
    pub annotations: Vec<(&'a str, &'a StringMap)>,
    pub exposure: &'a Exposure,
    pub has_service: bool,
    pub workloads: Vec<&'a Workload>,
    pub protocol: Protocol,
    pub callees: usize,
    pub callers: usize,
    pub external: Vec<&'a str>,
    pub queue_keys: Vec<String>,
    pub name: &'a str,
}

pub fn role(input: &RoleInput) -> (Role, String) {
    for (what, annotations) in &input.annotations {
        if let Some(value) = annotations.get(ROLE_ANNOTATION) {
            if let Some(r) = Role::parse(value.trim()) {
                return (
                    r,
                    format!("annotation {ROLE_ANNOTATION}: {value} on {what}"),
                );
            }
        }
    }
    let exposure = input.exposure;
    if (!exposure.ingress_gateway.is_empty() || !exposure.ingress.is_empty()) && input.callees > 0 {
        let via = exposure
            .ingress_gateway
            .first()
            .map(|o| format!("routed by an ingress gateway ({o})"))
            .or_else(|| {
                exposure
                    .ingress
                    .first()
                    .map(|o| format!("named by an Ingress ({o})"))
            })
            .unwrap_or_default();
        return (
            Role::Gateway,
            format!("{via} and calls {} service(s)", input.callees),
        );
    }
    if let Some((kind, origin)) = &exposure.direct {
        if exposure.ingress_gateway.is_empty() {
            return (
                Role::WebhookReceiver,
                format!(
                    "takes traffic from outside the mesh directly through its {} Service ({origin})",
                    kind.as_str()
                ),
            );
        }
    }
    let stateful = input
        .workloads
        .iter()
        .any(|w| w.kind == WorkloadKind::StatefulSet);
    let datastore_image = input
        .workloads
        .iter()
        .flat_map(|w| &w.containers)
        .find_map(|c| super::protocol::image_is_tcp_datastore(&c.image).map(|_| c.image.clone()));
    if input.protocol == Protocol::Tcp && (stateful || datastore_image.is_some()) {
        let why = datastore_image.map_or("a StatefulSet".to_string(), |i| format!("image {i}"));
        return (Role::Datastore, format!("serves TCP and is {why}"));
    }
    if let Some(batch) = input.workloads.iter().find(|w| w.kind.is_batch()) {
        return (Role::Worker, format!("runs as a {}", batch.kind.as_str()));
    }
    if !input.has_service && !input.workloads.is_empty() {
        return (
            Role::Worker,
            "no Service selects it: it only calls out".into(),
        );
    }
    // A queue name alone may belong to a producer; nobody calling in makes it a consumer.
    if let Some(key) = input.queue_keys.first().filter(|_| input.callers == 0) {
        return (
            Role::Worker,
            format!("consumes a queue ({key}) and nobody calls it"),
        );
    }
    if input
        .name
        .split('-')
        .any(|p| p == "worker" || p == "consumer")
    {
        return (Role::Worker, format!("named as a worker ({})", input.name));
    }
    if let Some(host) = input.external.first() {
        return (
            Role::ExternalIntegration,
            format!("calls the external host {host}"),
        );
    }
    if input.callees >= 2 {
        return (
            Role::Aggregator,
            format!("calls {} services", input.callees),
        );
    }
    (
        Role::SyncApi,
        format!("serves requests and calls {} service(s)", input.callees),
    )
}

/// Environment keys that name a queue, topic or subscription the workload consumes.
pub fn is_queue_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    [
        "_QUEUE",
        "_TOPIC",
        "_SUBSCRIPTION",
        "_SUBSCRIPTION_NAME",
        "_QUEUE_NAME",
        "_TOPIC_NAME",
    ]
    .iter()
    .any(|s| upper.ends_with(s))
        || matches!(
            upper.as_str(),
            "QUEUE" | "TOPIC" | "SUBSCRIPTION" | "SUBSCRIPTION_NAME" | "JOB_QUEUE"
        )
}
