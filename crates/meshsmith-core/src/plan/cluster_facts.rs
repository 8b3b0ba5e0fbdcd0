//! What the plan needs from the manifests beyond the graph: each namespace's labels (does it
//! inject sidecars already, or has it opted out), each LoadBalancer Service's annotations and
//! ports (does TLS end on the load balancer), and the routes that Istio Gateways send to a
//! service (which host, port and scheme a request through the gateway uses).
//!
//! In: the [`Inventory`]. Out: [`ClusterFacts`], plain data the caller puts into the plan's
//! settings; empty facts give a plan that assumes unlabelled namespaces, plain HTTP load
//! balancers and gateway routes for any host on port 80.

use crate::model::*;
use std::collections::BTreeMap;

/// AWS (in-tree provider and AWS Load Balancer Controller): the listeners given by
/// `...-ssl-ports` (port numbers or names, `*` or left out for all) terminate TLS with the
/// certificate of `...-ssl-cert`.
const AWS_SSL_CERT: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
const AWS_SSL_PORTS: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports";
/// DigitalOcean: the listed port numbers speak TLS (terminated, or passed through).
const DO_TLS_PORTS: &str = "service.beta.kubernetes.io/do-loadbalancer-tls-ports";
/// Oracle Cloud: the listed port numbers terminate TLS.
const OCI_SSL_PORTS: &str = "service.beta.kubernetes.io/oci-load-balancer-ssl-ports";
// GKE and AKS build a LoadBalancer Service as a layer-4 pass-through load balancer: no Service
// annotation terminates TLS there, so the port's own protocol decides.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFacts {
    /// Each namespace's labels, as the manifests write them.
    pub namespace_labels: BTreeMap<String, StringMap>,
    /// LoadBalancer Services by (namespace, Service name).
    pub load_balancers: BTreeMap<QualifiedName, LoadBalancer>,
    /// The first route of a gateway-bound VirtualService to each (namespace, Service name).
    pub gateway_routes: BTreeMap<QualifiedName, GatewayRoute>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancer {
    pub annotations: StringMap,
    pub ports: Vec<ServicePortFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePortFacts {
    pub port: u16,
    pub name: Option<String>,
    pub app_protocol: Option<String>,
}

/// How a request reaches a service through the ingress gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The VirtualService's first host without a wildcard; `None` for `*` alone.
    pub host: Option<String>,
    /// The Gateway server's port (a port of the gateway's Service).
    pub port: u16,
    /// The Gateway server terminates TLS (protocol HTTPS).
    pub tls: bool,
    /// The route's first URI prefix or exact match, `/` when it has none.
    pub path: String,
}

impl LoadBalancer {
    /// Whether a client speaks TLS to the load balancer on `port`: a cloud annotation
    /// terminates TLS there, or the port itself serves HTTPS (`appProtocol: https`, or a
    /// name `https` / `https-...`), which a pass-through load balancer hands on as it is.
    pub fn tls_on(&self, port: u16) -> bool {
        let unnamed = ServicePortFacts {
            port,
            ..ServicePortFacts::default()
        };
        let p = self
            .ports
            .iter()
            .find(|p| p.port == port)
            .unwrap_or(&unnamed);
        let listed = |key: &str| {
            self.annotations.get(key).is_some_and(|list| {
                list.split(',')
                    .map(str::trim)
                    .any(|x| x == "*" || x == p.port.to_string() || Some(x) == p.name.as_deref())
            })
        };
        let aws = self.annotations.contains_key(AWS_SSL_CERT)
            && (!self.annotations.contains_key(AWS_SSL_PORTS) || listed(AWS_SSL_PORTS));
        let own = p
            .app_protocol
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("https") || a == "kubernetes.io/wss")
            || p.name
                .as_deref()
                .is_some_and(|n| n == "https" || n.starts_with("https-"));
        aws || listed(DO_TLS_PORTS) || listed(OCI_SSL_PORTS) || own
    }
}

impl ClusterFacts {
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let load_balancers = inventory
            .services
            .iter()
            .filter(|s| s.service_type == ServiceType::LoadBalancer)
            .map(|s| {
                let ports = s
                    .ports
                    .iter()
                    .map(|p| ServicePortFacts {
                        port: p.port,
                        name: p.name.clone(),
                        app_protocol: p.app_protocol.clone(),
                    })
                    .collect();
                let lb = LoadBalancer {
                    annotations: s.annotations.clone(),
                    ports,
                };
                (QualifiedName::new(&s.namespace, &s.name), lb)
            })
            .collect();
        ClusterFacts {
            namespace_labels: inventory.namespace_labels(),
            load_balancers,
            gateway_routes: gateway_routes(&inventory.istio),
        }
    }
}

/// `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` -> (ns, name).
fn service_of(host: &str, default_ns: &str) -> Option<QualifiedName> {
    let short = host
        .strip_suffix(".svc.cluster.local")
        .or_else(|| host.strip_suffix(".svc"))
        .unwrap_or(host);
    let parts: Vec<&str> = short.split('.').collect();
    match parts.as_slice() {
        [name] => Some(QualifiedName::new(default_ns, name)),
        [name, ns] => Some(QualifiedName::new(ns, name)),
        _ => None,
    }
}

fn gateway_routes(istio: &[Box<IstioResource>]) -> BTreeMap<QualifiedName, GatewayRoute> {
    let mut out = BTreeMap::new();
    for vs in istio.iter().filter(|r| &*r.kind == "VirtualService") {
        let gateways: Vec<&str> = vs
            .spec
            .at("gateways")
            .as_seq()
            .iter()
            .filter_map(|g| g.as_str())
            .filter(|g| *g != "mesh")
            .collect();
        let Some(gateway) = gateways.first() else {
            continue;
        };
        let host = vs
            .spec
            .at("hosts")
            .as_seq()
            .iter()
            .filter_map(|h| h.as_str())
            .find(|h| !h.contains('*'))
            .map(str::to_string);
        let (port, tls) = server(istio, gateway, &vs.namespace, host.as_deref());
        for route in vs.spec.at("http").as_seq() {
            let uri = route.at("match").as_seq().first().map(|m| m.at("uri"));
            let path = uri
                .and_then(|u| u.at("prefix").as_str().or(u.at("exact").as_str()))
                .unwrap_or("/");
            for dest in route.at("route").as_seq() {
                let target = dest.path(&["destination", "host"]).as_str();
                if let Some(service) = target.and_then(|h| service_of(h, &vs.namespace)) {
                    out.entry(service).or_insert_with(|| GatewayRoute {
                        host: host.clone(),
                        port,
                        tls,
                        path: path.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// The port and TLS of the Gateway server that serves `host`; port 80 without TLS when the
/// Gateway is not in the input.
fn server(
    istio: &[Box<IstioResource>],
    gateway: &str,
    vs_ns: &str,
    host: Option<&str>,
) -> (u16, bool) {
    let (ns, name) = gateway.split_once('/').unwrap_or((vs_ns, gateway));
    let Some(gw) = istio
        .iter()
        .find(|r| &*r.kind == "Gateway" && &*r.name == name && &*r.namespace == ns)
    else {
        return (80, false);
    };
    let servers = gw.spec.at("servers").as_seq();
    let serves = |s: &&Node| {
        s.at("hosts")
            .as_seq()
            .iter()
            .filter_map(|h| h.as_str())
            .any(|h| {
                let h = h.split_once('/').map_or(h, |(_, dns)| dns);
                match (h, host) {
                    ("*", _) => true,
                    (h, Some(host)) => {
                        h == host
                            || h.strip_prefix('*')
                                .is_some_and(|suffix| host.ends_with(suffix))
                    }
                    _ => false,
                }
            })
    };
    let Some(s) = servers.iter().find(serves).or(servers.first()) else {
        return (80, false);
    };
    let port = s
        .path(&["port", "number"])
        .as_i64()
        .and_then(|n| u16::try_from(n).ok());
    let tls = s
        .path(&["port", "protocol"])
        .as_str()
        .is_some_and(|p| p.eq_ignore_ascii_case("HTTPS"));
    (port.unwrap_or(if tls { 443 } else { 80 }), tls)
}
