//! The timeout and retries a caller applies on each edge of the graph.
//!
//! A VirtualService for the host the caller uses (the callee's own Service or an alias of
//! it, bound to the mesh) decides for that caller; without one, the caller's own hard-coded
//! settings do (`*_TIMEOUT`, `*_RETRIES` found by inference), preferring a setting whose key
//! names the callee.
//!
//! A VirtualService's first `http` route stands for the host: requests are not known here, so
//! `match` conditions cannot pick a route. Without a `retries` block Istio retries twice;
//! `attempts: 0` turns retries off.

use super::duration::parse_duration;
use super::hosts::{resolve_host, HostRef};
use super::Index;
use crate::model::{Edge, IstioResource, MeshService, Node, Origin, Topology};
use std::collections::BTreeMap;

/// Where an edge's settings come from.
#[derive(Debug, Clone)]
pub enum PolicySource<'a> {
    /// An `http` route of a VirtualService.
    VirtualService(&'a IstioResource, &'a Node),
    /// The caller's own settings (environment, ConfigMaps), at this place.
    CurrentSettings(Option<Origin>),
}

impl PolicySource<'_> {
    pub fn origin(&self) -> Option<Origin> {
        match self {
            PolicySource::VirtualService(vs, route) => Some(vs.origin_at(route)),
            PolicySource::CurrentSettings(origin) => origin.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            PolicySource::VirtualService(vs, _) => {
                format!("VirtualService {}/{}", vs.namespace, vs.name)
            }
            PolicySource::CurrentSettings(_) => "the caller's current settings".to_string(),
        }
    }
}

/// The timing of one call.
#[derive(Debug, Clone)]
pub struct CallPolicy<'a> {
    /// The route (or client) timeout in seconds; `None` when there is none.
    pub timeout: Option<f64>,
    /// Retries after the first try.
    pub retries: u32,
    pub per_try: Option<f64>,
    pub source: PolicySource<'a>,
}

impl CallPolicy<'_> {
    /// Requests one call can become: the first try plus its retries.
    pub fn tries(&self) -> u64 {
        1 + u64::from(self.retries)
    }

    /// The longest the caller waits for this call, retries included.
    pub fn budget(&self) -> Option<f64> {
        match self.source {
            // Envoy's route timeout covers all tries; without it, each try may use its per-try one.
            PolicySource::VirtualService(..) => self
                .timeout
                .or_else(|| self.per_try.map(|p| p * self.tries() as f64)),
            // An application's own retry loop waits its full timeout on every try.
            PolicySource::CurrentSettings(_) => self.timeout.map(|t| t * self.tries() as f64),
        }
    }
}

/// The first `http` route of every mesh-bound VirtualService, by the Service it is for.
pub struct RouteIndex<'a> {
    /// (namespace, Service name) -> the VirtualService and the first route for that host.
    routes: BTreeMap<(&'a str, &'a str), (&'a IstioResource, &'a Node)>,
}

impl<'a> RouteIndex<'a> {
    pub fn new(index: &Index<'a>) -> Self {
        let mut routes = BTreeMap::new();
        for vs in index.istio_kind("VirtualService") {
            if !applies_to_mesh(vs.spec()) {
                continue;
            }
            let Some(route) = vs.spec().at("http").as_seq().first() else {
                continue;
            };
            for host in vs
                .spec()
                .at("hosts")
                .as_seq()
                .iter()
                .filter_map(Node::as_str)
            {
                if let HostRef::Service(svc) = resolve_host(index, host, &vs.namespace) {
                    routes
                        .entry((svc.namespace.as_str(), svc.name.as_str()))
                        .or_insert((vs, route));
                }
            }
        }
        RouteIndex { routes }
    }

    /// The settings the caller of `edge` applies.
    /// Every synchronous (HTTP, HTTP/2, gRPC) edge of the graph with the timing that governs it.
    pub fn synchronous_calls(
        &self,
        topology: &'a Topology,
    ) -> impl Iterator<Item = (&'a Edge, CallPolicy<'a>)> + '_ {
        topology
            .edges
            .iter()
            .filter(|e| e.protocol.is_http_family())
            .filter_map(move |e| self.policy(topology, e).map(|p| (e, p)))
    }

    pub fn policy(&self, topology: &'a Topology, edge: &Edge) -> Option<CallPolicy<'a>> {
        let callee = topology.service(&edge.to)?;
        // The route of the host the caller uses: a route for another of the callee's names
        // does not apply to its calls. Without the name, any of them may.
        let names: Vec<&str> = if edge.via.is_empty() {
            super::hosts::node_service_names(callee).collect()
        } else {
            edge.via.iter().map(String::as_str).collect()
        };
        for name in names {
            if let Some((vs, route)) = self.routes.get(&(callee.id.namespace.as_str(), name)) {
                return Some(route_policy(vs, route));
            }
        }
        let caller = topology.service(&edge.from)?;
        Some(current_policy(caller, callee))
    }
}

/// No `gateways`, or `mesh` among them: the routes apply to sidecars calling the host.
pub fn applies_to_mesh(spec: &Node) -> bool {
    let gateways = spec.at("gateways").as_seq();
    gateways.is_empty() || gateways.iter().any(|g| g.as_str() == Some("mesh"))
}

fn route_policy<'a>(vs: &'a IstioResource, route: &'a Node) -> CallPolicy<'a> {
    let timeout = route
        .at("timeout")
        .as_str()
        .and_then(parse_duration)
        .filter(|t| *t > 0.0);
    let retries_node = route.at("retries");
    // Without a `retries` block Istio applies its default policy of 2 retries.
    let retries = if retries_node.is_null() {
        2
    } else {
        retries_node
            .at("attempts")
            .as_i64()
            .map_or(0, |a| u32::try_from(a.max(0)).unwrap_or(u32::MAX))
    };
    let per_try = retries_node
        .at("perTryTimeout")
        .as_str()
        .and_then(parse_duration);
    CallPolicy {
        timeout,
        retries,
        per_try,
        source: PolicySource::VirtualService(vs, route),
    }
}

/// The caller's own settings for `callee`. Generation derives route timeouts over the same
/// budgets (`generate::deadlines`, which reads a caller's budget this way too), so that the
/// configuration it writes passes MS203: keep the two in step.
fn current_policy<'a>(caller: &MeshService, callee: &MeshService) -> CallPolicy<'a> {
    let token = callee.id.name.to_ascii_uppercase().replace('-', "_");
    let short = token.split('_').next().unwrap_or(&token).to_string();
    let pick = |timeouts: bool| {
        let candidates = caller.settings.iter().filter(|s| s.is_timeout == timeouts);
        let named = candidates
            .clone()
            .filter(|s| {
                let key = s.key.to_ascii_uppercase();
                key.contains(&token) || key.contains(&short)
            })
            .max_by(|a, b| a.value.total_cmp(&b.value));
        named.or_else(|| candidates.max_by(|a, b| a.value.total_cmp(&b.value)))
    };
    let timeout = pick(true);
    let retries = pick(false);
    CallPolicy {
        timeout: timeout.map(|s| s.value).filter(|v| *v > 0.0),
        retries: retries.map_or(0, |s| s.value.max(0.0).min(f64::from(u32::MAX)) as u32),
        per_try: None,
        source: PolicySource::CurrentSettings(
            timeout
                .or(retries)
                .map(|s| s.origin.clone())
                .or_else(|| caller.workloads.first().map(|w| w.origin.clone())),
        ),
    }
}
