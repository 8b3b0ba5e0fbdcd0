//! Topology + Policy -> [`MeshConfig`]: one module per Istio kind, each with one `build`.
//!
//! ```text
//!  Topology ─┐                 ┌─ virtual_service      ┌─ sidecar
//!            ├─ generate() ────┼─ destination_rule     ├─ service_entry
//!  Policy ───┘  (per service:  ├─ peer_authentication  ├─ namespace (injection patch)
//!               Resolved)      └─ authorization_policy ├─ service_account (+ account patch)
//!                                                      └─ service_patch (port declarations)
//! ```
//!
//! Before any resource is built, three passes over the whole graph settle what depends on
//! other services: route timeouts that cover every callee's budget (`deadlines`), retries
//! capped along call chains (`retry_budget`), and the account each caller presents where it
//! shared one with workloads that do not call what it calls (`service_account`).
//!
//! Generation cannot fail: what cannot be configured (no Service to route to, a workload
//! without labels to select it by) is skipped with a note. Every value set carries a
//! [`Reason`]. [`layout`] turns the result into files, [`yaml`] writes them.

mod authorization_policy;
mod deadlines;
mod destination_rule;
mod hosts;
pub mod layout;
mod namespace;
mod outside;
mod own_objects;
mod peer_authentication;
mod provenance;
mod retry_budget;
mod service_account;
mod service_entry;
mod service_patch;
mod sidecar;
mod virtual_service;
pub mod yaml;

#[cfg(test)]
mod alias_tests;
#[cfg(test)]
mod corpora_tests;
#[cfg(test)]
mod egress_tests;
#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod identity_property_tests;
#[cfg(test)]
pub(crate) mod identity_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
pub(crate) mod least_privilege;
#[cfg(test)]
mod mesh_route_tests;
#[cfg(test)]
mod own_objects_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod self_check_tests;
#[cfg(test)]
mod shape_tests;
#[cfg(test)]
mod tests;

use crate::model::*;
use crate::policy::{IstioVersion, Policy, Resolved};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(crate) use hosts::{alias_reason, hosts, Host};
pub use layout::{layout, layout_into, layout_with_objects, objects_into, stream, Header, Layout};
pub(crate) use outside::HOST_NETWORK;

/// Choices made on the command line rather than in the policy file.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    pub api_version: ApiVersion,
    /// Replaces the policy's `istioVersion` when given.
    pub istio_version: Option<IstioVersion>,
    /// Labels of the Namespaces found in the input, to tell which need injection enabled.
    pub namespace_labels: BTreeMap<String, StringMap>,
    /// Leave out the per-value reasons: they are for `explain`, and on a large organisation
    /// they outweigh the resources themselves.
    pub without_reasons: bool,
    /// Enforce AuthorizationPolicies even where the callers are not known.
    pub enforce_unverified: bool,
    /// The ServiceAccounts of the input as (namespace, name), so that an account generated
    /// for a workload never takes the name of one the team wrote.
    pub service_accounts: BTreeSet<(String, String)>,
}

/// Builds every resource for every service the policy does not skip.
pub fn generate(topology: &Topology, policy: &Policy, options: &GenerateOptions) -> MeshConfig {
    let cx = Context::new(topology, policy, options);
    let mut out = MeshConfig::default();
    // At most one of each of five kinds per service, one ServiceEntry per external call and
    // a patch per namespace: allocated once rather than grown by doubling.
    out.resources
        .reserve(5 * topology.services.len() + topology.external.len() + 16);
    for s in &topology.services {
        if policy.skips(&s.id.namespace) {
            out.notes
                .push(format!("{}: namespace skipped by the policy", s.id));
        }
    }
    if options.api_version == ApiVersion::V1 && !cx.istio.has_v1_api() {
        out.notes.push(format!(
            "Istio {} does not serve the v1 APIs (added in 1.22); use --api-version v1beta1",
            cx.istio
        ));
    }
    for o in &policy.services {
        let used = topology
            .services
            .iter()
            .any(|s| o.matches(&s.id.namespace, &s.id.name));
        if !used {
            out.notes.push(format!(
                "policy override `{}` ({}) matches no service",
                o.key,
                policy
                    .set_at(&format!("services.{}", o.key))
                    .unwrap_or_default()
            ));
        }
    }
    // Each service's resources depend only on the shared look-ups, so services are built in
    // parallel chunks; the sort below puts the result in the same order either way.
    // In batches, so that only one batch's parts wait to be moved into place.
    for batch in cx.targets.chunks(2048) {
        let built: Vec<MeshConfig> = batch
            .par_chunks(128)
            .map(|targets| {
                let mut part = MeshConfig::default();
                virtual_service::build(&cx, targets, &mut part);
                destination_rule::build(&cx, targets, &mut part);
                peer_authentication::build(&cx, targets, &mut part);
                authorization_policy::build(&cx, targets, &mut part);
                sidecar::build(&cx, targets, &mut part);
                service_account::build(&cx, targets, &mut part);
                service_patch::build(&cx, targets, &mut part);
                part
            })
            .collect();
        for part in built {
            out.resources.extend(part.resources);
            out.notes.extend(part.notes);
            out.kept.extend(part.kept);
        }
    }
    out.notes.extend(cx.deadline_notes.iter().cloned());
    out.notes.extend(cx.identities.notes.iter().cloned());
    service_entry::build(&cx, &mut out);
    namespace::build(&cx, &mut out);
    own_objects::keep_theirs(&cx.own, &mut out);
    // Stable: two resources with the same owner, kind and name stay in the order built. A
    // node's own route and rule come before its aliases', so that a reader taking the first
    // of a kind for a service gets the node's own.
    let alias = |r: &Resource| {
        matches!(r.kind, Kind::VirtualService | Kind::DestinationRule) && r.name != r.owner.name
    };
    out.resources.sort_by(|a, b| {
        (&a.owner, a.kind, &a.namespace, alias(a), &a.name).cmp(&(
            &b.owner,
            b.kind,
            &b.namespace,
            alias(b),
            &b.name,
        ))
    });
    out.notes.sort();
    out.notes.dedup();
    out
}

/// A namespace with more services of unknown callers than this is imported whole (`ns/*`)
/// rather than host by host, and more such hosts than [`UNVERIFIED_HOSTS`] in all make every
/// Sidecar import everything (`*/*`): egress cannot be scoped where callers are not known.
const UNVERIFIED_HOSTS_PER_NAMESPACE: usize = 10;
const UNVERIFIED_HOSTS: usize = 50;

/// The `<ns>/<fqdn>` egress hosts of the services whose callers are not known. A workload
/// whose Sidecar did not import such a service would reach it through the passthrough
/// cluster, in plain text and without an identity a policy or the traffic could name.
fn unverified_hosts(topology: &Topology) -> Vec<(String, String)> {
    let mut by_namespace: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for s in topology.services.iter().filter(|s| !s.callers.is_known()) {
        // Every name of it: a caller the graph does not show may use any.
        for host in hosts(s) {
            by_namespace.entry(&s.id.namespace).or_default().push((
                format!("{}/{}", s.id.namespace, fqdn(host.name, &s.id.namespace)),
                format!(
                    "the callers of {} are not known, so this workload may be one of them",
                    s.id
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for (ns, hosts) in by_namespace {
        if hosts.len() > UNVERIFIED_HOSTS_PER_NAMESPACE {
            out.push((
                format!("{ns}/*"),
                format!(
                    "the callers of {} services of {ns} are not known, so this workload may be one of them",
                    hosts.len()
                ),
            ));
        } else {
            out.extend(hosts);
        }
    }
    if out.len() > UNVERIFIED_HOSTS {
        let count = out.len();
        return vec![(
            "*/*".to_string(),
            format!("{count} namespaces or services have callers that are not known: egress cannot be scoped"),
        )];
    }
    out
}

/// What every `build` needs: the inputs, and each service with its settings resolved.
pub(crate) struct Context<'a> {
    pub topology: &'a Topology,
    pub policy: &'a Policy,
    pub options: &'a GenerateOptions,
    pub istio: IstioVersion,
    pub targets: Vec<Target<'a>>,
    /// The graph's edges and external calls by service, built once so that every `build`
    /// stays linear in the size of the graph.
    callers: HashMap<&'a QualifiedName, Vec<&'a Edge>>,
    callees: HashMap<&'a QualifiedName, Vec<&'a Edge>>,
    external: HashMap<&'a QualifiedName, Vec<&'a ExternalCall>>,
    /// Retry attempts per service after the chain-wide budget.
    retry_allowance: HashMap<QualifiedName, retry_budget::Allowance>,
    /// Route timeouts derived along the call graph (see [`deadlines`]).
    deadlines: HashMap<QualifiedName, deadlines::Deadline>,
    /// Where a deadline inversion could not be removed, and why.
    deadline_notes: Vec<String>,
    /// The Sidecar egress hosts of the services whose callers are not known, with why.
    unverified_hosts: Vec<(String, String)>,
    /// The account each caller presents once its own is applied (see [`service_account`]).
    pub identities: service_account::Identities,
    /// The manifests' own Istio objects by what they govern (see [`own_objects`]).
    pub own: own_objects::OwnIndex<'a>,
}

/// One service that gets configuration.
pub(crate) struct Target<'a> {
    pub service: &'a MeshService,
    pub resolved: Resolved<'a>,
}

impl<'a> Context<'a> {
    fn new(topology: &'a Topology, policy: &'a Policy, options: &'a GenerateOptions) -> Self {
        let targets: Vec<Target> = topology
            .services
            .iter()
            .filter(|s| !policy.skips(&s.id.namespace))
            .map(|s| Target {
                service: s,
                resolved: policy.resolve(&s.id.namespace, &s.id.name, s.role, &s.role_reason),
            })
            .collect();
        let mut callers: HashMap<&QualifiedName, Vec<&Edge>> = HashMap::new();
        let mut callees: HashMap<&QualifiedName, Vec<&Edge>> = HashMap::new();
        for e in &topology.edges {
            callers.entry(&e.to).or_default().push(e);
            callees.entry(&e.from).or_default().push(e);
        }
        let mut external: HashMap<&QualifiedName, Vec<&ExternalCall>> = HashMap::new();
        for x in &topology.external {
            external.entry(&x.from).or_default().push(x);
        }
        let routed: Vec<&Target> = targets
            .iter()
            .filter(|t| {
                routable(t.service).is_some()
                    && t.service.ports.iter().any(|p| speaks(p).is_http_family())
            })
            .collect();
        let wanted = routed
            .iter()
            .map(|t| {
                let r = &t.resolved;
                (
                    &t.service.id,
                    (
                        r.settings.retries.attempts,
                        r.overridden("retries.attempts"),
                    ),
                )
            })
            .collect();
        let callee_ids = callees
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|e| &e.to).collect()))
            .collect();
        let retry_allowance = retry_budget::allowances(&wanted, &callee_ids);
        let starts = routed
            .iter()
            .map(|t| {
                let start = deadlines::Start {
                    timeout: t.resolved.settings.timeout,
                    pinned: t.resolved.overridden("timeout"),
                };
                (&t.service.id, start)
            })
            .collect();
        let derived = deadlines::derive(&starts, &callees, topology);
        let unverified_hosts = unverified_hosts(topology);
        let identities = service_account::Identities::new(topology, policy, options, &callers);
        Context {
            topology,
            policy,
            options,
            istio: options.istio_version.unwrap_or(policy.istio_version),
            targets,
            callers,
            callees,
            external,
            retry_allowance,
            deadlines: derived.deadlines,
            deadline_notes: derived.notes,
            unverified_hosts,
            identities,
            own: own_objects::OwnIndex::new(topology),
        }
    }

    /// Egress hosts every Sidecar imports because their callers are not known (`id`'s own
    /// hosts excepted): any workload may be the caller the graph does not show.
    pub fn unverified_hosts(&self, id: &QualifiedName) -> impl Iterator<Item = &(String, String)> {
        let own: Vec<String> = self
            .topology
            .service(id)
            .map(hosts)
            .unwrap_or_default()
            .iter()
            .map(|h| format!("{}/{}", id.namespace, fqdn(h.name, &id.namespace)))
            .collect();
        self.unverified_hosts
            .iter()
            .filter(move |(host, _)| !own.contains(host))
    }

    /// The reasons to keep on a resource: all of them, or none when the caller does not
    /// want them (they are then never attached, so they never pile up).
    pub fn kept(&self, reasons: impl FnOnce() -> Vec<Reason>) -> Vec<Reason> {
        if self.options.without_reasons {
            Vec::new()
        } else {
            reasons()
        }
    }

    /// The route timeout derived for `id` along the call graph; `None` when it gets no route.
    pub fn deadline(&self, id: &QualifiedName) -> Option<&deadlines::Deadline> {
        self.deadlines.get(id)
    }

    /// Retry attempts `id` may have under the chain-wide budget, and why if lowered.
    pub fn retry_allowance(&self, id: &QualifiedName) -> Option<&retry_budget::Allowance> {
        self.retry_allowance.get(id)
    }

    /// Edges into `id`, in the graph's order.
    pub fn callers_of(&self, id: &QualifiedName) -> &[&'a Edge] {
        self.callers.get(id).map_or(&[], Vec::as_slice)
    }

    /// Edges out of `id`, in the graph's order.
    pub fn callees_of(&self, id: &QualifiedName) -> &[&'a Edge] {
        self.callees.get(id).map_or(&[], Vec::as_slice)
    }

    /// External hosts `id` calls, in the graph's order.
    pub fn external_of(&self, id: &QualifiedName) -> &[&'a ExternalCall] {
        self.external.get(id).map_or(&[], Vec::as_slice)
    }

    /// A resource with the API version, labels and owner every kind shares.
    pub fn resource(&self, kind: Kind, name: &str, owner: &QualifiedName, spec: Spec) -> Resource {
        let api_version = match kind {
            // Kubernetes core objects (or patches of objects the team owns).
            k if !k.is_istio() => "v1".to_string(),
            _ => format!("{}/{}", kind.group(), self.options.api_version.as_str()),
        };
        let mut labels = StringMap::new();
        if !kind.is_patch() {
            labels.insert(
                "app.kubernetes.io/managed-by".to_string(),
                "meshsmith".to_string(),
            );
        }
        Resource {
            kind,
            api_version,
            name: name.to_string(),
            namespace: owner.namespace.to_string(),
            owner: owner.clone(),
            labels,
            annotations: StringMap::new(),
            spec,
            reasons: Vec::new(),
        }
    }

    /// `<trust-domain>/ns/<ns>/sa/<sa>`.
    pub fn principal(&self, namespace: &str, account: &str) -> String {
        format!("{}/ns/{namespace}/sa/{account}", self.policy.trust_domain)
    }
}

/// The in-cluster name Istio routes by.
pub(crate) fn fqdn(service: &str, namespace: &str) -> String {
    format!("{service}.{namespace}.svc.cluster.local")
}

/// What a port is configured for: what it speaks, as far as Istio will proxy it so before
/// its port patch is applied (see [`service_patch::routed`]).
pub(crate) fn speaks(port: &PortInfo) -> Protocol {
    service_patch::routed(port)
}

/// The Kubernetes Service a node routes through, unless it has none or is an ExternalName.
pub(crate) fn routable(service: &MeshService) -> Option<&str> {
    match (&service.service, &service.external_name) {
        (Some(name), None) => Some(name),
        _ => None,
    }
}

/// The pod labels selecting a workload. An empty selector would widen a policy to the whole
/// namespace, so a workload without labels gets no per-workload policy.
pub(crate) fn selector(workload: &WorkloadRef) -> Option<WorkloadSelector> {
    if workload.selector.is_empty() {
        None
    } else {
        Some(WorkloadSelector {
            match_labels: workload.selector.clone(),
        })
    }
}

pub(crate) fn unselectable_note(
    service: &MeshService,
    workload: &WorkloadRef,
    kind: Kind,
) -> String {
    format!(
        "{}: workload {} has no pod labels, so no {} can select it alone",
        service.id,
        workload.name,
        kind.as_str()
    )
}
