//! Workloads whose outbound calls the manifests may not show, and why: a registry or
//! discovery client (it finds its peers at run time), configuration inside the image (the
//! environment only selects a profile and names no address), or a proxy or exposed front end
//! with no visible upstream (its routes live in a config file baked into the image).
//!
//! Every signal is generic (names of settings, images, exposure), never a known application.

use super::env::EnvEntry;
use crate::model::*;

/// Words in a setting's name that say the workload asks a registry for its peers.
const REGISTRY_SETTINGS: [&str; 8] = [
    "EUREKA",
    "CONSUL",
    "NACOS",
    "REGISTRY",
    "DISCOVERY",
    "SPRING_CLOUD",
    "SERVICE_MESH_DISCOVERY",
    "CONFIG_SERVER",
];

/// Registries that are about images or schemas, not about peers.
const NOT_PEER_REGISTRIES: [&str; 4] = [
    "SCHEMA_REGISTRY",
    "DOCKER_REGISTRY",
    "IMAGE_REGISTRY",
    "CONTAINER_REGISTRY",
];

/// Words in a Service's name or image that say it is a registry, discovery or config server.
const REGISTRY_NAMES: [&str; 7] = [
    "consul",
    "eureka",
    "nacos",
    "discovery",
    "registry",
    "config-server",
    "configserver",
];

/// Images of proxies whose upstreams live in their own config files.
const PROXY_IMAGES: [&str; 9] = [
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

/// What the caller of [`hidden_calls`] knows about one node.
pub(crate) struct NodeFacts<'a> {
    pub workloads: Vec<&'a Workload>,
    pub env: &'a [EnvEntry],
    pub exposed: bool,
    /// How it is exposed, for the reason: `LoadBalancer Service`, `Ingress`, `gateway route`.
    pub exposure_kind: String,
    pub has_service: bool,
    /// Edges and unresolved names out of it: calls the manifests do show.
    pub visible_calls: usize,
    /// Services it calls whose name or image looks like a registry.
    pub calls_registry: Option<(String, Origin)>,
}

pub(crate) fn hidden_calls(node: &NodeFacts) -> Vec<HiddenCalls> {
    let mut out = Vec::new();
    let first = |why: &str, signal: String, origin: &Origin, w: &Workload| HiddenCalls {
        workload: w.name.clone(),
        why: why.to_string(),
        signal,
        origin: origin.clone(),
    };
    let Some(&w0) = node.workloads.first() else {
        return out;
    };
    if let Some(e) = node
        .env
        .iter()
        .find(|e| registry_setting(&e.name, e.value.as_deref()))
    {
        out.push(first(
            "registry client",
            format!("setting {}", e.name),
            &e.origin,
            w0,
        ));
    } else if let Some((callee, origin)) = &node.calls_registry {
        out.push(first(
            "registry client",
            format!("calls {callee}"),
            origin,
            w0,
        ));
    }
    if node.visible_calls == 0 {
        if let Some(e) = node.env.iter().find(|e| selects_a_profile(&e.name)) {
            let value = e.value.as_deref().unwrap_or("");
            out.push(first(
                "configuration inside the image",
                format!("{}={value} selects a profile and no address is set", e.name),
                &e.origin,
                w0,
            ));
        }
        let proxy = node.workloads.iter().find_map(|w| {
            w.containers
                .iter()
                .filter(|c| !c.init)
                .find(|c| is_proxy_image(&c.image))
                .map(|c| (*w, c.image.clone()))
        });
        if let Some((w, image)) = proxy {
            out.push(first(
                "proxy with no visible upstream",
                format!("image {image}"),
                &w.origin,
                w,
            ));
        } else if node.exposed && node.has_service {
            out.push(first(
                "exposed front end with no visible upstream",
                format!("{} reached from outside", node.exposure_kind),
                &w0.origin,
                w0,
            ));
        }
    }
    out
}

/// A setting that points a client at a registry, discovery or config server.
fn registry_setting(name: &str, value: Option<&str>) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_PEER_REGISTRIES.iter().any(|n| upper.contains(n)) {
        return false;
    }
    if REGISTRY_SETTINGS.iter().any(|k| upper.contains(k)) {
        return true;
    }
    let lower = value.unwrap_or("").to_ascii_lowercase();
    lower.contains("/eureka") || lower.contains("consul:") || lower.contains("consul.")
}

/// Whether a Service (by its name or its workloads' images) is a registry or config server.
pub(crate) fn is_registry(name: &str, images: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    REGISTRY_NAMES.iter().any(|r| lower.contains(r))
        || images.iter().any(|i| {
            let image = i.rsplit('/').next().unwrap_or(i).to_ascii_lowercase();
            ["consul", "eureka", "nacos"]
                .iter()
                .any(|r| image.starts_with(r))
        })
}

/// `ASPNETCORE_ENVIRONMENT`, `SPRING_PROFILES_ACTIVE`, `RAILS_ENV`, `*_ENVIRONMENT`...: a
/// setting that picks one of the configuration files built into the image
/// (`appsettings.Production.json`, `application-prod.yml`, `database.yml`'s section).
/// `NODE_ENV` and `FLASK_ENV` are left out: they switch libraries between development and
/// production behaviour, which says nothing about where a service's peers are configured.
fn selects_a_profile(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "RAILS_ENV"
            | "RACK_ENV"
            | "APP_ENV"
            | "MIX_ENV"
            | "GO_ENV"
            | "ENVIRONMENT"
            | "ENV"
            | "PROFILE"
            | "DJANGO_SETTINGS_MODULE"
    ) || upper.ends_with("_ENVIRONMENT")
        || upper.ends_with("_PROFILES_ACTIVE")
        || upper.ends_with("_PROFILE")
        || upper.ends_with("_PROFILES")
}

fn is_proxy_image(image: &str) -> bool {
    PROXY_IMAGES
        .iter()
        .any(|p| super::protocol::image_is(image, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_settings_are_told_from_image_and_schema_registries() {
        assert!(registry_setting(
            "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE",
            None
        ));
        assert!(registry_setting("CONSUL_ADDR", None));
        assert!(registry_setting("SERVICE_DISCOVERY_URL", None));
        assert!(registry_setting(
            "PEERS",
            Some("http://discovery:8761/eureka/")
        ));
        assert!(!registry_setting("SCHEMA_REGISTRY_URL", None));
        assert!(!registry_setting("DOCKER_REGISTRY", None));
        assert!(!registry_setting(
            "PAYMENT_URL",
            Some("http://payment:8080")
        ));
    }

    #[test]
    fn profile_selectors_are_recognised() {
        for n in [
            "ASPNETCORE_ENVIRONMENT",
            "SPRING_PROFILES_ACTIVE",
            "RAILS_ENV",
            "APP_PROFILE",
        ] {
            assert!(selects_a_profile(n), "{n}");
        }
        assert!(!selects_a_profile("PAYMENT_URL"));
        assert!(!selects_a_profile("NODE_ENV"));
        assert!(!selects_a_profile("ENVOY_ADMIN"));
    }

    #[test]
    fn proxies_are_recognised_by_image_name_not_by_registry_path() {
        assert!(is_proxy_image("nginx:1.27"));
        assert!(is_proxy_image("docker.io/library/nginx@sha256:abc"));
        assert!(is_proxy_image("envoyproxy/envoy:v1.30"));
        assert!(!is_proxy_image("nginx-registry.example.com/shop/api:1"));
        assert!(!is_proxy_image("shop/orders:1"));
    }
}
