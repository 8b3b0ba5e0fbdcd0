//! A node and its neighbourhood -> its role, with the evidence that decided it.
//!
//! "Exposed" means reached from outside the mesh: routed by an Istio ingress gateway, named
//! by a Kubernetes Ingress, or selected by its own LoadBalancer or NodePort Service
//! ("directly exposed"). "Calls" counts the in-cluster services the graph shows it calling.
//! The first rule that holds decides:
//!
//! 1. **annotation**: `meshsmith.dev/role` on the workload, its pod template or its Service.
//! 2. **gateway** (a front door): exposed, and calls more than [`WEBHOOK_MAX_CALLS`]
//!    services; or routed by an ingress gateway or an Ingress and calls at least one; or
//!    serves a user interface (its name, image or `app.kubernetes.io/component` label says
//!    front end, UI, web, dashboard, portal or console, or it runs a web server or proxy
//!    image), whose calls usually live in its code or its baked-in proxy configuration.
//! 3. **datastore**: serves TCP and is a StatefulSet, runs a datastore or broker image, or
//!    listens on a well-known datastore port (3306, 5432, 6379, 27017, ...).
//! 4. **webhook receiver**: directly exposed and not routed by an ingress gateway, so plain
//!    traffic from outside reaches it; calls at most [`WEBHOOK_MAX_CALLS`] service; and is
//!    no user interface. Calling more makes it a front door (rule 2), never a receiver.
//! 5. **worker**: a Job or CronJob, no Service, a queue consumer nobody calls, or named as one.
//! 6. **external integration**: calls a host outside the cluster.
//! 7. **aggregator**: calls two or more services.
//! 8. **sync API**: everything else.
//!
//! Reasons name objects and values, never files or lines: they travel into generated
//! resources, which must not depend on where the manifests were read from.

use crate::model::*;

pub const ROLE_ANNOTATION: &str = "meshsmith.dev/role";

/// Most in-cluster services a webhook receiver calls: a receiver checks a delivery and hands
/// it on; an exposed service calling more is a front door.
pub const WEBHOOK_MAX_CALLS: usize = 1;

/// Words (between `-`, `_` or `.`) in a name, image or component label that say the
/// workload serves a user interface.
const UI_WORDS: [&str; 12] = [
    "frontend",
    "front",
    "ui",
    "webui",
    "web",
    "www",
    "dashboard",
    "portal",
    "console",
    "storefront",
    "webapp",
    "admin",
];

/// Words that make `web` and `admin` name an API rather than a user interface
/// (`admin-api`, `ts-admin-order-service`).
const API_WORDS: [&str; 5] = ["api", "service", "svc", "backend", "server"];

/// Words that say the workload receives webhooks or callbacks: never a user interface.
const WEBHOOK_WORDS: [&str; 4] = ["webhook", "webhooks", "hook", "callback"];

/// Web servers and proxies: exposed, they are front doors whose upstreams live in their
/// configuration files.
const WEB_SERVER_IMAGES: [&str; 9] = [
    "nginx",
    "envoy",
    "haproxy",
    "traefik",
    "caddy",
    "httpd",
    "openresty",
    "kong",
    "apache",
];

pub struct RoleInput<'a> {
    pub annotations: Vec<(&'a str, &'a StringMap)>,
    pub exposure: &'a Exposure,
    pub has_service: bool,
    pub workloads: Vec<&'a Workload>,
    pub protocol: Protocol,
    pub ports: &'a [PortInfo],
    pub callees: usize,
    pub callers: usize,
    pub external: Vec<&'a str>,
    pub queue_keys: Vec<String>,
    pub name: &'a str,
}

pub fn role(input: &RoleInput) -> (Role, String) {
    if let Some(annotated) = annotated(input) {
        return annotated;
    }
    if let Some(gateway) = front_door(input) {
        return (Role::Gateway, gateway);
    }
    if let Some(why) = datastore(input) {
        return (Role::Datastore, why);
    }
    if let Some(why) = webhook_receiver(input) {
        return (Role::WebhookReceiver, why);
    }
    if let Some(why) = worker(input) {
        return (Role::Worker, why);
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
        format!("serves requests and calls {}", services(input.callees)),
    )
}

fn annotated(input: &RoleInput) -> Option<(Role, String)> {
    input.annotations.iter().find_map(|(what, annotations)| {
        let value = annotations.get(ROLE_ANNOTATION)?;
        let role = Role::parse(value.trim())?;
        Some((
            role,
            format!("annotation {ROLE_ANNOTATION}: {value} on {what}"),
        ))
    })
}

/// How the node is reached from outside, for a reason: the first of its exposures.
fn exposed_by(exposure: &Exposure) -> Option<String> {
    if let Some((kind, _)) = &exposure.direct {
        Some(format!("exposed by its own {} Service", kind.as_str()))
    } else if !exposure.ingress_gateway.is_empty() {
        Some("routed by an ingress gateway".to_string())
    } else if !exposure.ingress.is_empty() {
        Some("named by an Ingress".to_string())
    } else {
        None
    }
}

fn front_door(input: &RoleInput) -> Option<String> {
    let exposure = input.exposure;
    let by = exposed_by(exposure)?;
    let routed = !exposure.ingress_gateway.is_empty() || !exposure.ingress.is_empty();
    if input.callees > WEBHOOK_MAX_CALLS || (routed && input.callees > 0) {
        let by = if routed && input.callees <= WEBHOOK_MAX_CALLS {
            exposure
                .ingress_gateway
                .first()
                .map_or("named by an Ingress", |_| "routed by an ingress gateway")
                .to_string()
        } else {
            by
        };
        return Some(format!(
            "{by} and calls {}: a front door",
            services(input.callees)
        ));
    }
    let ui = user_interface(input)?;
    Some(format!(
        "{by} and serves a user interface ({ui}): a front door, whose calls live in its code or configuration"
    ))
}

/// What says the node serves a user interface, if anything does.
fn user_interface(input: &RoleInput) -> Option<String> {
    if says_webhook(input.name) {
        return None;
    }
    if is_ui_name(input.name) {
        return Some(format!("named {}", input.name));
    }
    for w in &input.workloads {
        if let Some(component) = w
            .labels
            .get("app.kubernetes.io/component")
            .or_else(|| w.pod_labels.get("app.kubernetes.io/component"))
        {
            if says_webhook(component) {
                return None;
            }
            if is_ui_name(component) {
                return Some(format!("component {component}"));
            }
        }
        let serving = w.containers.iter().filter(|c| !c.init);
        for c in serving {
            if WEB_SERVER_IMAGES
                .iter()
                .any(|p| super::protocol::image_is(&c.image, p))
            {
                return Some(format!("web server image {}", c.image));
            }
            if is_ui_name(image_name(&c.image)) {
                return Some(format!("image {}", c.image));
            }
        }
    }
    None
}

/// The last path segment of an image, without tag or digest.
fn image_name(image: &str) -> &str {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split([':', '@']).next().unwrap_or(name)
}

fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn is_ui_name(name: &str) -> bool {
    let words: Vec<String> = words(name).collect();
    let api = words.iter().any(|w| API_WORDS.contains(&w.as_str()));
    words.iter().any(|w| match w.as_str() {
        "web" | "admin" => !api,
        other => UI_WORDS.contains(&other),
    })
}

fn says_webhook(name: &str) -> bool {
    words(name).any(|w| WEBHOOK_WORDS.contains(&w.as_str()))
}

fn datastore(input: &RoleInput) -> Option<String> {
    if input.protocol != Protocol::Tcp {
        return None;
    }
    let image = input
        .workloads
        .iter()
        .flat_map(|w| &w.containers)
        .find(|c| super::protocol::image_is_tcp_datastore(&c.image).is_some());
    if let Some(c) = image {
        return Some(format!(
            "serves TCP and runs the datastore image {}",
            c.image
        ));
    }
    if input
        .workloads
        .iter()
        .any(|w| w.kind == WorkloadKind::StatefulSet)
    {
        return Some("serves TCP from a StatefulSet".to_string());
    }
    input
        .ports
        .iter()
        .find(|p| {
            p.believed == Protocol::Tcp
                && (super::protocol::is_datastore_port(p.port)
                    || p.target_port
                        .is_some_and(super::protocol::is_datastore_port))
        })
        .map(|p| format!("serves TCP on the well-known datastore port {}", p.port))
}

fn webhook_receiver(input: &RoleInput) -> Option<String> {
    let exposure = input.exposure;
    let (kind, _) = exposure.direct.as_ref()?;
    if !exposure.ingress_gateway.is_empty() || input.callees > WEBHOOK_MAX_CALLS {
        return None;
    }
    Some(format!(
        "its own {} Service takes plain traffic from outside the mesh, not via an ingress gateway, \
         and it calls {} (a webhook receiver calls at most {WEBHOOK_MAX_CALLS}; \
         an exposed service calling more is a front door)",
        kind.as_str(),
        services(input.callees)
    ))
}

fn worker(input: &RoleInput) -> Option<String> {
    if let Some(batch) = input.workloads.iter().find(|w| w.kind.is_batch()) {
        return Some(format!("runs as a {}", batch.kind.as_str()));
    }
    if !input.has_service && !input.workloads.is_empty() {
        return Some("no Service selects it: it only calls out".into());
    }
    // A queue name alone may belong to a producer; nobody calling in makes it a consumer.
    if let Some(key) = input.queue_keys.first().filter(|_| input.callers == 0) {
        return Some(format!("consumes a queue ({key}) and nobody calls it"));
    }
    words(input.name)
        .any(|p| p == "worker" || p == "consumer")
        .then(|| format!("named as a worker ({})", input.name))
}

fn services(n: usize) -> String {
    match n {
        0 => "no service".to_string(),
        1 => "1 service".to_string(),
        n => format!("{n} services"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_interfaces_are_told_by_name_and_apis_are_not() {
        for ui in [
            "frontend",
            "front-end",
            "store-front",
            "ts-ui-dashboard",
            "store-admin",
            "web",
        ] {
            assert!(is_ui_name(ui), "{ui}");
        }
        for api in [
            "ts-admin-order-service",
            "admin-api",
            "web-server",
            "payments",
            "user",
        ] {
            assert!(!is_ui_name(api), "{api}");
        }
        assert!(says_webhook("stripe-webhook"));
        assert!(says_webhook("web-hook"));
        assert!(!says_webhook("frontend"));
    }

    #[test]
    fn an_image_name_drops_registry_tag_and_digest() {
        assert_eq!(image_name("ghcr.io/x/store-front:2.2.0"), "store-front");
        assert_eq!(image_name("nginx@sha256:abc"), "nginx");
    }
}
