//! The generated mesh configuration -> a `LabSpec`: the lab runs what `generate` wrote, not a
//! hand-written copy of it.
//!
//! In: the `Topology`, the `MeshConfig` generated from it, the services to bring up and the trust
//! domain. Out: a `LabSpec` whose every figure is read from a generated resource: route timeout
//! and retries (attempts, perTryTimeout, retryOn) from the service's VirtualService route for the
//! port its callers use; connection pool and outlier detection from its DestinationRule; mTLS mode
//! from its PeerAuthentication; allowed principals, and the "requests without identity on these
//! ports" exception of a webhook receiver, from its AuthorizationPolicy, and whether that
//! policy only records (`istio.io/dry-run: "true"`, read as Istio reads it). Protocol,
//! namespace, ServiceAccount, workload, ports and the edges come from the topology; calls the
//! graph does not show come from the command line, with whether the caller's generated Sidecar
//! imports the callee (see `calls`). What the lab adds itself is stated where
//! it is decided: a callee with outlier detection gets two instances (an ejection needs a healthy
//! host to fail over to), everything else one. A resource the lab cannot reproduce faithfully
//! (a DENY policy, a mode other than STRICT or PERMISSIVE, a TCP service) is an error naming the
//! resource, never a silent approximation.

mod calls;
mod istiod;
mod old;
mod path;
mod traffic;

pub use calls::Call;
pub use istiod::for_istiod;
pub use old::{old_settings, OldHop};
pub use path::choose_path;
#[cfg(test)]
use traffic::{millis, retry_on};

use crate::spec::{EdgeSpec, LabSpec, MtlsMode, Protocol, ServiceSpec};

/// The annotation that makes an AuthorizationPolicy record instead of enforce.
pub const DRY_RUN_ANNOTATION: &str = "istio.io/dry-run";
use meshsmith_core::model::{
    self as core, AuthorizationPolicySpec, DestinationRuleSpec, HttpRoute, Kind, MeshConfig,
    MeshService, PeerAuthenticationSpec, QualifiedName, Resource, Role, Spec, Topology,
    VirtualServiceSpec,
};

/// Why the generated configuration could not be turned into a lab spec.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FromMeshError {
    /// A service named on the command line is not in the graph.
    #[error("service `{0}` is not in the graph; `meshsmith map` lists the services")]
    UnknownService(String),
    /// The same service was chosen twice.
    #[error("service `{0}` is chosen twice")]
    DuplicateService(String),
    /// The chosen services do not call each other, so there is nothing to prove.
    #[error(
        "none of the chosen services ({0}) calls another; choose services joined by edges, or \
         name a call the graph does not show with --call FROM:TO"
    )]
    NoEdges(String),
    /// A `--call` that is malformed or names a service that is not brought up.
    #[error("--call {0}")]
    BadCall(String),
    /// No path of the kind the lab looks for by default.
    #[error("{0}; choose the services by hand with --services a,b,c")]
    NoPath(String),
    /// A chosen service lacks a resource the lab needs.
    #[error("{service}: no generated {kind}; the lab runs only what generate wrote")]
    MissingResource { service: String, kind: &'static str },
    /// A generated value the lab cannot reproduce.
    #[error("{service}: {what}")]
    Unsupported { service: String, what: String },
    /// A duration field that does not read as one.
    #[error("{service}: {field} `{value}` is not a duration")]
    BadDuration {
        service: String,
        field: &'static str,
        value: String,
    },
}

/// Turn the generated resources of `services` (names as `name` or `name.namespace`) into a
/// spec, with `calls` the apps make although the graph has no such edge.
pub fn spec_from_mesh(
    topology: &Topology,
    mesh: &MeshConfig,
    services: &[String],
    calls: &[Call],
    trust_domain: &str,
) -> Result<LabSpec, FromMeshError> {
    let mut chosen: Vec<&MeshService> = Vec::new();
    for name in services {
        let s = topology
            .find(name)
            .ok_or_else(|| FromMeshError::UnknownService(name.clone()))?;
        if chosen.iter().any(|c| c.id == s.id) {
            return Err(FromMeshError::DuplicateService(name.clone()));
        }
        chosen.push(s);
    }
    let position = |id: &QualifiedName| chosen.iter().position(|c| &c.id == id);
    // Edges grouped by callee in the chosen order; a callee's callers nearest before it in the
    // chosen order come first, then those after it. The first caller of a service is the one the
    // lab drives its single-caller scenarios through: the hop just upstream of it on the path.
    let mut edges: Vec<(usize, usize, Option<u16>)> = Vec::new();
    for e in &topology.edges {
        if let (Some(from), Some(to)) = (position(&e.from), position(&e.to)) {
            if from != to && !edges.iter().any(|(f, t, _)| (*f, *t) == (from, to)) {
                edges.push((from, to, e.port));
            }
        }
    }
    edges.sort_by_key(|(f, t, _)| (*t, if f < t { (0, t - f) } else { (1, *f) }));
    let calls = calls::resolve(topology, mesh, &chosen, calls)?;
    if edges.is_empty() && calls.is_empty() {
        let names: Vec<String> = chosen.iter().map(|s| s.id.to_string()).collect();
        return Err(FromMeshError::NoEdges(names.join(", ")));
    }
    let mut specs = Vec::new();
    for (i, s) in chosen.iter().enumerate() {
        // The port callers in the lab use; a service nobody in the lab calls is reached on its
        // first port (a webhook receiver's plain-traffic port).
        let port = edges
            .iter()
            .find(|(_, t, _)| *t == i)
            .and_then(|(_, _, p)| *p)
            .or_else(|| s.primary_port().map(|p| p.port));
        // Only an edge's caller drives the scenarios that need a second instance.
        let called = edges.iter().any(|(_, t, _)| *t == i);
        specs.push(service_spec(s, mesh, port, called)?);
    }
    let edges = edges
        .into_iter()
        .map(|(f, t, _)| EdgeSpec {
            from: specs[f].name.clone(),
            to: specs[t].name.clone(),
        })
        .collect();
    Ok(LabSpec {
        trust_domain: trust_domain.to_string(),
        services: specs,
        edges,
        calls,
    })
}

fn service_spec(
    s: &MeshService,
    mesh: &MeshConfig,
    port: Option<u16>,
    called: bool,
) -> Result<ServiceSpec, FromMeshError> {
    let name = s.id.to_string();
    let unsupported = |what: String| FromMeshError::Unsupported {
        service: name.clone(),
        what,
    };
    let protocol = match s.protocol {
        core::Protocol::Http => Protocol::Http,
        core::Protocol::Grpc => Protocol::Grpc,
        other => {
            return Err(unsupported(format!(
                "speaks {}; the lab's test apps speak HTTP/1.1 and gRPC",
                other.as_str()
            )))
        }
    };
    let workload = s
        .workloads
        .first()
        .ok_or_else(|| unsupported("has no workload to run".into()))?;
    let Generated { vs, dr, pa, ap } = generated(s, mesh, &workload.name)?;
    let dry_run = ap
        .annotations
        .get(DRY_RUN_ANNOTATION)
        .is_some_and(parse_bool);
    let traffic = traffic::policy(&name, vs, dr, port)?;
    let mtls = match pa.mtls.mode.as_str() {
        "STRICT" => MtlsMode::Strict,
        "PERMISSIVE" => MtlsMode::Permissive,
        other => {
            return Err(unsupported(format!(
                "PeerAuthentication mode {other}; the lab runs STRICT and PERMISSIVE"
            )))
        }
    };
    let target_port = port.map(|p| s.port(p).and_then(|i| i.target_port).unwrap_or(p));
    let Spec::AuthorizationPolicy(ap) = &ap.spec else {
        return Err(unsupported(
            "a generated resource has an unexpected body".into(),
        ));
    };
    let access = access(ap, target_port).map_err(unsupported)?;
    Ok(ServiceSpec {
        name: s.id.name.to_string(),
        namespace: s.id.namespace.to_string(),
        service_account: account(mesh, s, workload),
        workload: Some(workload.name.clone()),
        port: port.unwrap_or(crate::spec::DEFAULT_PORT),
        target_port: target_port.filter(|t| Some(*t) != port),
        protocol,
        mtls,
        external_plaintext: s.role == Role::WebhookReceiver || s.exposure.direct.is_some(),
        allowed_principals: access.principals,
        allow_unauthenticated: access.unauthenticated,
        dry_run,
        // The lab's rule: an ejection can only be shown with a second, healthy instance.
        instances: if called && traffic.outlier_detection.is_some() {
            2
        } else {
            1
        },
        traffic,
    })
}

/// The account a workload runs as once the generated configuration is applied: the
/// generated ServiceAccount that names it (where it shared one), else its own.
fn account(mesh: &MeshConfig, s: &MeshService, w: &core::WorkloadRef) -> String {
    let wanted = format!("{}/{}", w.kind.as_str(), w.name);
    mesh.of_kind(Kind::ServiceAccount)
        .find(|r| {
            r.namespace == s.id.namespace
                && r.annotations.get(core::ACCOUNT_FOR_ANNOTATION) == Some(wanted.as_str())
        })
        .map_or_else(|| w.service_account.clone(), |r| r.name.clone())
}

/// The generated resources the lab reads for one service.
struct Generated<'a> {
    vs: &'a VirtualServiceSpec,
    dr: &'a DestinationRuleSpec,
    pa: &'a PeerAuthenticationSpec,
    /// The whole resource: its annotations say whether it is dry-run.
    ap: &'a Resource,
}

fn generated<'a>(
    s: &MeshService,
    mesh: &'a MeshConfig,
    workload: &str,
) -> Result<Generated<'a>, FromMeshError> {
    let find = |kind: Kind| -> Result<&Resource, FromMeshError> {
        mesh.resources
            .iter()
            .map(|r| &**r)
            .filter(|r| r.kind == kind && r.owner == s.id)
            // Security kinds are written per workload; take the one for the workload we run.
            .find(|r| {
                !matches!(kind, Kind::PeerAuthentication | Kind::AuthorizationPolicy)
                    || r.name == workload
            })
            .ok_or(FromMeshError::MissingResource {
                service: s.id.to_string(),
                kind: kind.as_str(),
            })
    };
    let wrong = || FromMeshError::Unsupported {
        service: s.id.to_string(),
        what: "a generated resource has an unexpected body".into(),
    };
    let Spec::VirtualService(vs) = &find(Kind::VirtualService)?.spec else {
        return Err(wrong());
    };
    let Spec::DestinationRule(dr) = &find(Kind::DestinationRule)?.spec else {
        return Err(wrong());
    };
    let Spec::PeerAuthentication(pa) = &find(Kind::PeerAuthentication)?.spec else {
        return Err(wrong());
    };
    let ap = find(Kind::AuthorizationPolicy)?;
    Ok(Generated { vs, dr, pa, ap })
}

/// Istio reads the annotation with Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// The route a request on `port` takes: the first whose match names the port, else the first
/// without a match.
pub(crate) fn route_for(routes: &[HttpRoute], port: Option<u16>) -> Option<&HttpRoute> {
    routes
        .iter()
        .find(|r| port.is_some_and(|p| r.matches.iter().any(|m| m.port == p)))
        .or_else(|| routes.iter().find(|r| r.matches.is_empty()))
}

/// Who an AuthorizationPolicy lets in on one workload port.
#[derive(Debug, Default, PartialEq, Eq)]
struct Access {
    principals: Vec<String>,
    unauthenticated: bool,
}

fn access(ap: &AuthorizationPolicySpec, port: Option<u16>) -> Result<Access, String> {
    let mut out = Access::default();
    match ap.action.as_deref() {
        None | Some("ALLOW") => {}
        Some(other) => {
            return Err(format!(
                "AuthorizationPolicy action {other}; the lab runs ALLOW policies"
            ))
        }
    }
    for (i, rule) in ap.rules.iter().enumerate() {
        let ports: Vec<&String> = rule.to.iter().flat_map(|t| &t.operation.ports).collect();
        let on_port = ports.is_empty()
            || port.is_some_and(|p| ports.iter().any(|q| q.as_str() == p.to_string()));
        if !on_port {
            continue;
        }
        for from in &rule.from {
            let src = &from.source;
            match (src.principals.is_empty(), src.not_principals.as_slice()) {
                (false, []) => out.principals.extend(src.principals.iter().cloned()),
                (true, [any]) if any == "*" => out.unauthenticated = true,
                _ => {
                    return Err(format!(
                        "AuthorizationPolicy rule {i} mixes principals and notPrincipals in a way \
                         the lab does not reproduce"
                    ))
                }
            }
        }
    }
    out.principals.sort();
    out.principals.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests;
