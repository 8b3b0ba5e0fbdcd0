//! How each workload gets its sidecar in its own phase, and how that is undone.
//!
//! Istio's injector adds the sidecar when a pod is created: when the pod is labelled
//! `sidecar.istio.io/inject: "true"` (which works without any namespace label) or its
//! namespace is labelled `istio-injection=enabled`, and never when either says `"false"` /
//! `disabled`. A namespace label meshes every pod of the namespace at its next restart,
//! whatever its phase, so it is used only when the whole namespace moves in one phase. A
//! namespace whose services join in different phases gets the pod label instead, on each
//! workload of the phase, by a merge patch of its pod template (the patch itself rolls the
//! pods). A rollback undoes exactly what its step did: the namespace label goes back to what
//! it was, or the pod label is removed; nothing turns injection on where a pod or a
//! namespace opted out. Namespaces that inject already (`istio-injection=enabled` or an
//! `istio.io/rev` revision) only need the restart.

use super::source::RolloutConfig;
use super::workload_commands::{opt_out, restart, set_pod_label};
use super::PlanSettings;
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

/// The pod label (and, before it, annotation) that asks for or refuses a sidecar.
pub(crate) const POD_LABEL: &str = "sidecar.istio.io/inject";
/// The namespace label of the default revision.
pub(crate) const NAMESPACE_LABEL: &str = "istio-injection";

/// How the workloads of one namespace get their sidecars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Injection {
    /// The namespace injects already: a restart is enough.
    AlreadyOn,
    /// `istio-injection=disabled`: nothing in it gets a sidecar.
    OptedOut,
    /// Every workload of the namespace gets its sidecar in `phase`: the namespace label then,
    /// back to `previous` (or removed) on rollback.
    Namespace {
        phase: u32,
        previous: Option<String>,
    },
    /// Services of more than one phase share the namespace: the pod label per workload.
    PerWorkload,
}

/// What the pod template says about injection: never for pods on their node's network
/// (Istio's injector skips them), else the label, which Istio prefers, else the annotation;
/// `None` when neither is written.
pub(crate) fn pod_choice(w: &WorkloadRef) -> Option<bool> {
    if w.host_network {
        return Some(false);
    }
    match w.pod_labels.get(POD_LABEL) {
        Some(v) => Some(v == "true"),
        None => w.sidecar_annotation,
    }
}

/// The namespace is labelled `istio-injection=disabled`.
pub(crate) fn namespace_opted_out(settings: &PlanSettings, ns: &str) -> bool {
    settings
        .cluster
        .namespace_labels
        .get(ns)
        .is_some_and(|l| l.get(NAMESPACE_LABEL) == Some("disabled"))
}

/// The mode of each namespace that holds a service of the plan.
pub(crate) fn modes(
    topology: &Topology,
    config: &RolloutConfig,
    settings: &PlanSettings,
    injected: &BTreeMap<QualifiedName, u32>,
) -> BTreeMap<String, Injection> {
    let namespaces: BTreeSet<&str> = injected.keys().map(|s| s.namespace.as_str()).collect();
    let mut out = BTreeMap::new();
    for ns in namespaces {
        let mode = if namespace_opted_out(settings, ns) {
            Injection::OptedOut
        } else if !config.labels_namespace(ns) {
            Injection::AlreadyOn
        } else {
            whole_namespace(topology, ns, injected).map_or(Injection::PerWorkload, |phase| {
                Injection::Namespace {
                    phase,
                    previous: settings
                        .cluster
                        .namespace_labels
                        .get(ns)
                        .and_then(|l| l.get(NAMESPACE_LABEL))
                        .map(str::to_string),
                }
            })
        };
        out.insert(ns.to_string(), mode);
    }
    out
}

/// The phase in which every workload of `ns` gets its sidecar, when there is one such phase:
/// each workload either opts out itself or belongs to a service injected in that phase.
fn whole_namespace(
    topology: &Topology,
    ns: &str,
    injected: &BTreeMap<QualifiedName, u32>,
) -> Option<u32> {
    let mut phase = None;
    for s in topology.services.iter().filter(|s| s.id.namespace == ns) {
        for w in &s.workloads {
            if pod_choice(w) == Some(false) {
                continue;
            }
            let p = injected.get(&s.id)?;
            if *phase.get_or_insert(*p) != *p {
                return None;
            }
        }
    }
    phase
}

/// The commands of one phase's sidecar step that give its services their sidecars, and the
/// rollback commands that take them away again.
#[derive(Debug, Default)]
pub(crate) struct Commands {
    pub forward: Vec<String>,
    pub rollback: Vec<String>,
}

/// Commands for the services of `services` whose sidecar comes in `phase`.
pub(crate) fn commands(
    topology: &Topology,
    modes: &BTreeMap<String, Injection>,
    injected: &BTreeMap<QualifiedName, u32>,
    phase: u32,
    services: &[QualifiedName],
) -> Commands {
    let mut out = Commands::default();
    let now: Vec<&MeshService> = services
        .iter()
        .filter(|s| injected.get(*s) == Some(&phase))
        .filter_map(|s| topology.service(s))
        .collect();
    let namespaces: BTreeSet<&str> = now.iter().map(|m| m.id.namespace.as_str()).collect();
    let mut undo_workloads = Vec::new();
    for ns in namespaces {
        if let Some(Injection::Namespace { phase: p, previous }) = modes.get(ns) {
            if *p == phase {
                out.forward.push(format!(
                    "kubectl label namespace {ns} {NAMESPACE_LABEL}=enabled --overwrite"
                ));
                out.rollback.push(match previous {
                    Some(v) => {
                        format!("kubectl label namespace {ns} {NAMESPACE_LABEL}={v} --overwrite")
                    }
                    None => format!("kubectl label namespace {ns} {NAMESPACE_LABEL}-"),
                });
            }
        }
    }
    for m in now {
        let ns = m.id.namespace.as_str();
        let mode = modes.get(ns).unwrap_or(&Injection::AlreadyOn);
        for w in m.workloads.iter().filter(|w| pod_choice(w) != Some(false)) {
            let labelled = w.pod_labels.get(POD_LABEL) == Some("true");
            match mode {
                Injection::OptedOut => {}
                Injection::PerWorkload if !labelled => {
                    out.forward.extend(set_pod_label(ns, w, Some("true")));
                    undo_workloads.extend(set_pod_label(ns, w, None));
                }
                Injection::Namespace { .. } if !labelled => {
                    out.forward.extend(restart(ns, w, true));
                    undo_workloads.extend(restart(ns, w, false));
                }
                // Injection is on for it already: the restart brings the sidecar, and taking
                // it away needs the pod's own opt-out.
                _ => {
                    out.forward.extend(restart(ns, w, true));
                    undo_workloads.extend(opt_out(ns, w));
                }
            }
        }
    }
    out.rollback.extend(undo_workloads);
    out
}
