//! Generated AuthorizationPolicies evaluated workload by workload with Istio's semantics
//! (the check's evaluator: DENY, then no ALLOW policy allows, then any ALLOW rule; dry-run
//! policies read as enforced, since the rollout enforces them), against what the graph says:
//! each workload with a sidecar is admitted exactly on the ports its node's edges into the
//! callee use, under the account it runs as once the generated accounts are applied; a
//! request without identity (a caller without a sidecar) exactly on the ports such callers
//! use, plus the service's own ports where plain traffic from outside reaches it directly.
//!
//! In: the graph, the manifests' objects (none for hand-built graphs), the generated
//! configuration and the options it was generated with. Out: every pair admitted that should
//! not be, every call denied, and every ALLOW rule that names no port.

use super::layout::{layout_with_objects, Header};
use super::outside::edge_ports;
use super::GenerateOptions;
use crate::check::reachability::{Evaluator, Identity};
use crate::check::{CheckConfig, Index};
use crate::inventory::inventory;
use crate::model::*;
use std::collections::BTreeSet;
use std::path::Path;

/// A port no Service of the graphs uses: a management or metrics port no edge calls.
const UNCALLED_PORT: u16 = 59_999;

/// One (source, callee workload, port) the evaluation disagrees with the graph on.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    /// `<caller node>/<workload>`, or none for a request without identity.
    pub source: Option<String>,
    /// The identity the source presents.
    pub identity: Option<Identity>,
    pub callee: QualifiedName,
    pub workload: String,
    pub port: u16,
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.source, &self.identity) {
            (Some(s), Some(id)) => write!(f, "{s} as {id}")?,
            _ => write!(f, "a request without identity")?,
        }
        write!(f, " -> {}/{}:{}", self.callee, self.workload, self.port)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    /// Admitted without an edge (or on a port no edge uses).
    pub extra: Vec<Pair>,
    /// Calls of the graph that are denied.
    pub denied: Vec<Pair>,
    /// ALLOW rules that admit sources on every port.
    pub portless: Vec<String>,
    /// Pairs evaluated.
    pub evaluated: usize,
}

pub(crate) fn evaluate(
    topology: &Topology,
    manifests: &[Object],
    mesh: &MeshConfig,
    options: &GenerateOptions,
) -> Verdicts {
    let header = Header {
        version: "test".into(),
        inputs: Vec::new(),
    };
    let generated = layout_with_objects(mesh, &header, Path::new("<generated>"));
    let mut objects = manifests.to_vec();
    objects.extend(generated.objects);
    let mut inv = inventory(&objects, "default");
    for (ns, labels) in &options.namespace_labels {
        if inv.namespace(ns).is_none() {
            inv.namespaces.push(Namespace {
                name: ns.clone(),
                labels: labels.clone(),
                origin: Origin::new(&std::sync::Arc::from("options"), 1),
            });
        }
    }
    let index = Index::new(&inv, topology);
    let config = CheckConfig::default();
    let evaluator = Evaluator::new(&index, &config).including_dry_run();
    let mut out = Verdicts {
        portless: portless(mesh),
        ..Verdicts::default()
    };
    for callee in &topology.services {
        for w in callee.workloads.iter().filter(|w| !w.selector.is_empty()) {
            if options.sidecarless(&callee.id.namespace, w).is_some() {
                continue;
            }
            let applicable = evaluator.applicable(&callee.id.namespace, &w.pod_labels);
            let at = Target {
                callee,
                workload: w,
                applicable: &applicable,
            };
            at.with_identity(topology, &index, &evaluator, options, &mut out);
            at.without_identity(topology, &evaluator, options, &mut out);
        }
    }
    out
}

/// One callee workload and the policies that apply to it.
struct Target<'a, 'i> {
    callee: &'a MeshService,
    workload: &'a WorkloadRef,
    applicable: &'a [&'i IstioResource],
}

impl<'a, 'i> Target<'a, 'i> {
    fn ports(&self) -> BTreeSet<u16> {
        let mut ports: BTreeSet<u16> = self
            .callee
            .ports
            .iter()
            .map(|p| p.target_port.unwrap_or(p.port))
            .collect();
        ports.insert(UNCALLED_PORT);
        ports
    }

    /// The ports `caller`'s edges into the callee use.
    fn called(&self, topology: &Topology, caller: &QualifiedName) -> BTreeSet<u16> {
        topology
            .callers(&self.callee.id)
            .filter(|e| &e.from == caller)
            .flat_map(|e| edge_ports(self.callee, e))
            .collect()
    }

    fn with_identity(
        &self,
        topology: &Topology,
        index: &Index,
        evaluator: &Evaluator<'_, 'i>,
        options: &GenerateOptions,
        out: &mut Verdicts,
    ) {
        for caller in topology.services.iter().filter(|s| s.id != self.callee.id) {
            let ns = caller.id.namespace.as_str();
            let called = self.called(topology, &caller.id);
            for w in &caller.workloads {
                if options.sidecarless(ns, w).is_some() {
                    continue;
                }
                let id = Identity::new(ns, index.account_of(ns, w));
                for port in self.ports() {
                    let admitted = evaluator
                        .decide(self.applicable, &id, Some(port))
                        .is_allowed();
                    let source = Some(format!("{}/{}", caller.id, w.name));
                    let pair = self.pair(source, Some(id.clone()), port);
                    record(admitted, called.contains(&port), pair, out);
                }
            }
        }
    }

    fn without_identity(
        &self,
        topology: &Topology,
        evaluator: &Evaluator<'_, 'i>,
        options: &GenerateOptions,
        out: &mut Verdicts,
    ) {
        let mut expected: BTreeSet<u16> = BTreeSet::new();
        for caller in topology.services.iter().filter(|s| s.id != self.callee.id) {
            let ns = caller.id.namespace.as_str();
            if caller
                .workloads
                .iter()
                .any(|w| options.sidecarless(ns, w).is_some())
            {
                expected.extend(self.called(topology, &caller.id));
            }
        }
        let outside =
            self.callee.exposure.direct.is_some() || self.callee.role == Role::WebhookReceiver;
        if outside {
            expected.extend(self.ports().into_iter().filter(|p| *p != UNCALLED_PORT));
        }
        for port in self.ports() {
            let admitted = evaluator
                .decide_without_identity(self.applicable, Some(port))
                .is_allowed();
            record(
                admitted,
                expected.contains(&port),
                self.pair(None, None, port),
                out,
            );
        }
    }

    fn pair(&self, source: Option<String>, identity: Option<Identity>, port: u16) -> Pair {
        Pair {
            source,
            identity,
            callee: self.callee.id.clone(),
            workload: self.workload.name.clone(),
            port,
        }
    }
}

fn record(admitted: bool, expected: bool, pair: Pair, out: &mut Verdicts) {
    out.evaluated += 1;
    match (admitted, expected) {
        (true, false) => out.extra.push(pair),
        (false, true) => out.denied.push(pair),
        _ => {}
    }
}

/// Pairs as lines, for assertion messages.
pub(crate) fn lines(pairs: &[Pair]) -> String {
    pairs
        .iter()
        .map(Pair::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// ALLOW rules with sources but no `to.operation.ports`.
fn portless(mesh: &MeshConfig) -> Vec<String> {
    let mut out = Vec::new();
    for r in mesh.of_kind(Kind::AuthorizationPolicy) {
        let Spec::AuthorizationPolicy(spec) = &r.spec else {
            continue;
        };
        for (i, rule) in spec.rules.iter().enumerate() {
            let ports = rule.to.iter().any(|t| !t.operation.ports.is_empty());
            if !ports {
                out.push(format!("{}/{} rule {i}", r.namespace, r.name));
            }
        }
    }
    out
}
