//! Which service is onboarded in which phase, and when each is locked down.
//!
//! In: the graph, the generated configuration and the phase count. Out: a [`Schedule`]:
//! tiers (workers, internal, core, exposed) spread over the onboarding phases (a large tier
//! is split, small neighbours merged), the phase in which each service gets its sidecar,
//! and the phase in which it goes STRICT and enforced: the one after every caller (and the
//! service itself) has a sidecar. A lock-down that no phase can make safe is held, with why.
//! A workload that opts out of injection, or whose namespace does, gets no sidecar; as a
//! caller it does not hold its callee's lock-down where the callee stays PERMISSIVE for it
//! and admits it without identity on the port it calls (enforcement is the lock-down then).

use super::injection::{self, pod_choice, Injection};
use super::source::{ConfigObject, RolloutConfig};
use super::PlanSettings;
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One onboarding phase.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub title: String,
    pub tiers: Vec<Tier>,
    pub services: Vec<QualifiedName>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    /// Onboarding phases, then (if needed) an empty closing lock-down phase.
    pub groups: Vec<Group>,
    /// Phase in which each onboarded service's workloads get their sidecar.
    pub injected: BTreeMap<QualifiedName, u32>,
    /// How the workloads of each namespace get their sidecars.
    pub injection: BTreeMap<String, Injection>,
    /// Phase in which each onboarded service's configuration is first applied.
    pub onboarded: BTreeMap<QualifiedName, u32>,
    /// Phase in which each service goes STRICT and enforced.
    pub lock: BTreeMap<QualifiedName, u32>,
    pub held: Vec<Hold>,
    /// Services held because their callers are not known (a subset of `held`).
    pub unverified: BTreeSet<QualifiedName>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
}

impl Schedule {
    pub fn locked_in(&self, phase: u32) -> Vec<QualifiedName> {
        self.lock
            .iter()
            .filter(|(_, p)| **p == phase)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

pub(crate) fn tier(topology: &Topology, edges: &EdgeIndex, s: &MeshService) -> Tier {
    let exposed = |m: &MeshService| {
        matches!(m.role, Role::Gateway | Role::WebhookReceiver) || m.exposure.is_exposed()
    };
    if exposed(s) {
        Tier::Exposed
    } else if s.role == Role::Worker {
        Tier::Workers
    } else if edges
        .callers(&s.id)
        .iter()
        .filter_map(|e| topology.service(&e.from))
        .any(exposed)
    {
        Tier::Core
    } else {
        Tier::Internal
    }
}

pub(crate) fn schedule(
    topology: &Topology,
    config: &RolloutConfig,
    settings: &PlanSettings,
) -> Schedule {
    let mut out = Schedule::default();
    let edges = topology.edge_index();
    let owned = by_owner(config);
    let mut tiers: BTreeMap<Tier, Vec<QualifiedName>> = BTreeMap::new();
    for s in &topology.services {
        if s.workloads.is_empty() {
            out.skipped.push(Skipped {
                service: s.id.clone(),
                reason: "no workloads: nothing to inject or configure".into(),
            });
        } else if !owned.contains_key(&s.id) {
            out.skipped.push(Skipped {
                service: s.id.clone(),
                reason: "no configuration was generated for it (namespace skipped by the policy)"
                    .into(),
            });
        } else {
            tiers
                .entry(tier(topology, &edges, s))
                .or_default()
                .push(s.id.clone());
        }
    }
    out.groups = group(
        tiers,
        settings.phases.max(1) as usize,
        settings.max_services_per_phase.map(|m| m.max(1) as usize),
    );
    sidecars(topology, settings, &mut out);
    out.injection = injection::modes(topology, config, settings, &out.injected);
    let onboarded: Vec<QualifiedName> = out.onboarded.keys().cloned().collect();
    for s in onboarded {
        // Nothing to lock when no STRICT policy or AuthorizationPolicy could be generated
        // (e.g. a workload without labels to select it by).
        let own: &[ConfigObject] = owned.get(&s).map_or(&[], Vec::as_slice);
        let lockable = own
            .iter()
            .any(|r| r.is_strict() || r.kind() == Kind::AuthorizationPolicy);
        if !lockable {
            continue;
        }
        if let Some(reason) = unverified(topology, own, &s) {
            out.unverified.insert(s.clone());
            out.held.push(Hold { service: s, reason });
            continue;
        }
        match lock_phase(topology, &edges, own, &out, &s) {
            Ok(p) => {
                out.lock.insert(s, p);
            }
            Err(reason) => out.held.push(Hold { service: s, reason }),
        }
    }
    let last = out.lock.values().copied().max().unwrap_or(0) as usize;
    if last > out.groups.len() {
        out.groups.push(Group {
            title: "lock-down of the last tier's callees".into(),
            tiers: Vec::new(),
            services: Vec::new(),
        });
    }
    out
}

/// The configuration's objects by the service they belong to, in the configuration's
/// order, so that a plan finds a service's objects without scanning them all.
pub(crate) fn by_owner<'a>(
    config: &'a RolloutConfig,
) -> HashMap<&'a QualifiedName, Vec<ConfigObject<'a>>> {
    let mut owned: HashMap<&QualifiedName, Vec<ConfigObject>> = HashMap::new();
    for r in config.objects() {
        owned.entry(r.owner()).or_default().push(r);
    }
    owned
}

/// The phase each service's workloads get their sidecar in, with a note for each service
/// that gets none and for each batch workload.
fn sidecars(topology: &Topology, settings: &PlanSettings, out: &mut Schedule) {
    let mut opted_out_namespaces = BTreeSet::new();
    for (i, g) in out.groups.iter().enumerate() {
        for s in &g.services {
            out.onboarded.insert(s.clone(), i as u32 + 1);
            let workloads = topology.service(s).map_or(&[][..], |m| &m.workloads[..]);
            if let Some(w) = workloads
                .iter()
                .find(|w| matches!(w.kind, WorkloadKind::Job | WorkloadKind::CronJob))
            {
                out.notes.push(format!(
                    "{s}: {} {} gets its sidecar only when its next pod starts, and its pods finish only if the \
                     sidecar exits with them (native sidecars: Kubernetes 1.28+ with Istio's ENABLE_NATIVE_SIDECARS)",
                    w.kind.as_str(),
                    w.name
                ));
            }
            if injection::namespace_opted_out(settings, &s.namespace) {
                opted_out_namespaces.insert(s.namespace.clone());
            } else if let Some(w) = workloads.iter().find(|w| w.host_network) {
                out.notes.push(format!(
                    "{s}: workload {}: {}; it gets no sidecar",
                    w.name,
                    crate::generate::HOST_NETWORK
                ));
            } else if workloads.iter().any(|w| pod_choice(w) == Some(false)) {
                out.notes.push(format!(
                    "{s}: a workload opts out of injection (sidecar.istio.io/inject: \"false\"); it gets no sidecar"
                ));
            } else {
                out.injected.insert(s.clone(), i as u32 + 1);
            }
        }
    }
    for ns in opted_out_namespaces {
        out.notes.push(format!(
            "namespace {ns} is labelled istio-injection=disabled: none of its workloads gets a sidecar, \
             and the plan does not change the label; remove it to mesh them"
        ));
    }
}

/// Why a service whose callers are not known is not locked down: its policy was generated in
/// dry-run, and it stays so (and PERMISSIVE) until traffic or the policy file shows its callers.
fn unverified(
    topology: &Topology,
    resources: &[ConfigObject],
    s: &QualifiedName,
) -> Option<String> {
    let m = topology.service(s)?;
    let dry_run = resources.iter().any(|r| {
        r.kind() == Kind::AuthorizationPolicy
            && r.annotation(DRY_RUN_ANNOTATION).as_deref() == Some("true")
    });
    (!m.callers.is_known() && dry_run).then(|| {
        format!(
            "callers {}: {}. It stays PERMISSIVE with its AuthorizationPolicy in dry-run until the \
             traffic of its collect-traffic step (or the policy file) shows who calls it",
            m.callers.level.as_str(),
            m.callers.summary()
        )
    })
}

/// The phase after the service and all its callers have sidecars, or why there is none.
fn lock_phase(
    topology: &Topology,
    edges: &EdgeIndex,
    resources: &[ConfigObject],
    schedule: &Schedule,
    s: &QualifiedName,
) -> Result<u32, String> {
    let own = *schedule.injected.get(s).ok_or_else(|| {
        "it gets no sidecar (a workload or its namespace opts out of injection)".to_string()
    })?;
    let mut latest = own;
    for edge in edges.callers(s).iter().filter(|e| &e.from != s) {
        let Some(caller) = topology.service(&edge.from) else {
            continue;
        };
        if caller.workloads.is_empty() {
            continue;
        }
        match schedule.injected.get(&caller.id) {
            Some(p) => latest = latest.max(*p),
            // A caller without a sidecar is admitted without identity where the callee stays
            // PERMISSIVE for it and its policy admits plain requests on the port it calls.
            None if admits_without_identity(resources, caller_port(topology, edge)) => {}
            None => {
                return Err(format!(
                    "its caller {} never gets a sidecar in this plan; it would lose its calls",
                    caller.id
                ))
            }
        }
    }
    if let Some(m) = topology.service(s) {
        let plain_admitted = resources
            .iter()
            .filter(|r| r.kind() == Kind::AuthorizationPolicy)
            .any(|r| !r.plain_ports().is_empty());
        let outside = !m.exposure.ingress.is_empty() || m.exposure.direct.is_some();
        if outside && !plain_admitted {
            return Err(
                "traffic from outside reaches it without a mesh identity (a Kubernetes Ingress or its own \
                 LoadBalancer/NodePort); mesh that path or declare it a webhook receiver first"
                    .into(),
            );
        }
    }
    Ok(latest + 1)
}

/// The workload port a call along `edge` reaches, if known.
fn caller_port(topology: &Topology, edge: &Edge) -> Option<u16> {
    topology
        .service(&edge.to)
        .and_then(|callee| super::simulate::edge_port(callee, edge))
}

/// The service stays PERMISSIVE (no STRICT PeerAuthentication) and every AuthorizationPolicy
/// of it admits requests without identity on `port`.
fn admits_without_identity(resources: &[ConfigObject], port: Option<u16>) -> bool {
    let Some(port) = port else {
        return false;
    };
    !resources.iter().any(ConfigObject::is_strict)
        && resources
            .iter()
            .filter(|r| r.kind() == Kind::AuthorizationPolicy)
            .all(|r| r.plain_ports().contains(&port))
}

/// Spreads the non-empty tiers over `count` phases, in tier order, none over `max`.
fn group(
    tiers: BTreeMap<Tier, Vec<QualifiedName>>,
    count: usize,
    max: Option<usize>,
) -> Vec<Group> {
    let mut groups: Vec<(Vec<Tier>, Vec<QualifiedName>)> = tiers
        .into_iter()
        .map(|(t, mut s)| {
            s.sort();
            (vec![t], s)
        })
        .collect();
    // Too many tiers: merge the neighbours that together are smallest.
    while groups.len() > count && groups.len() > 1 {
        let Some(i) =
            (0..groups.len() - 1).min_by_key(|&i| (groups[i].1.len() + groups[i + 1].1.len(), i))
        else {
            break;
        };
        let (tiers, services) = groups.remove(i + 1);
        groups[i].0.extend(tiers);
        groups[i].1.extend(services);
    }
    // Too few: give extra phases to the tier with the most services per phase.
    let mut parts: Vec<usize> = vec![1; groups.len()];
    let total: usize = groups.iter().map(|g| g.1.len()).sum();
    while parts.iter().sum::<usize>() < count.min(total) {
        let Some(i) = (0..groups.len())
            .filter(|&i| parts[i] < groups[i].1.len())
            .max_by_key(|&i| (groups[i].1.len().div_ceil(parts[i]), usize::MAX - i))
        else {
            break;
        };
        parts[i] += 1;
    }
    let mut out = Vec::new();
    for ((tiers, services), n) in groups.into_iter().zip(parts) {
        let names: Vec<&str> = tiers.iter().map(|t| t.as_str()).collect();
        let base = names.join(" + ");
        let even = services.len().div_ceil(n.max(1)).max(1);
        let size = max.map_or(even, |m| even.min(m));
        let chunks: Vec<&[QualifiedName]> = services.chunks(size).collect();
        let k = chunks.len();
        for (j, chunk) in chunks.into_iter().enumerate() {
            out.push(Group {
                title: if k > 1 {
                    format!("{base} (part {} of {k})", j + 1)
                } else {
                    base.clone()
                },
                tiers: tiers.clone(),
                services: chunk.to_vec(),
            });
        }
    }
    out
}
