//! The mesh as the plan changes it, modelled just far enough to tell whether a call still
//! works: which services run a sidecar, the account each moved workload runs as, each
//! service's mTLS mode, and each AuthorizationPolicy's state with the principals it admits.
//!
//! A call from C to S works when S has no sidecar (nothing enforces anything), or when S's
//! mode accepts C's traffic (PERMISSIVE takes plaintext; STRICT, and an inherited default that
//! may be STRICT, need C to have a sidecar) and S's enforced policy, if any, admits C: its
//! principal when C has a sidecar (mTLS carries the identity), or the port when C sends
//! plaintext and the policy admits requests without identity there. Dry-run never denies.

use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Authz {
    state: AuthzState,
    principals: BTreeSet<String>,
    plain_ports: BTreeSet<u16>,
}

/// The modelled state of the mesh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    sidecars: BTreeSet<QualifiedName>,
    mtls: BTreeMap<QualifiedName, MtlsState>,
    authz: BTreeMap<QualifiedName, Authz>,
    /// (service, workload) -> the account it runs as, where a step moved it.
    accounts: BTreeMap<(QualifiedName, String), String>,
}

/// Why a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The callee demands an identity (STRICT, an inherited mode, or enforcement) and the
    /// caller has no sidecar to present one.
    CallerNotMeshed,
    /// The callee's enforced policy does not list the caller's principal.
    NotAdmitted,
}

/// A call of the graph that would fail, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Broken {
    pub from: QualifiedName,
    pub to: QualifiedName,
    pub cause: Cause,
    pub why: String,
}

impl State {
    /// The mesh before the first step: no sidecars, and the mTLS mode of each service whose
    /// workload the manifests' own PeerAuthentication selects (meshsmith writes none there,
    /// and no step changes it).
    pub fn before(topology: &Topology) -> State {
        let mut state = State::default();
        for o in topology
            .own_config
            .iter()
            .filter(|o| o.kind == "PeerAuthentication")
        {
            let Some(mode) = o.mtls_mode.as_deref() else {
                continue;
            };
            let state_of = match mode.split(',').next().unwrap_or("") {
                "STRICT" => MtlsState::Strict,
                "PERMISSIVE" | "DISABLE" => MtlsState::Permissive,
                _ => continue,
            };
            for s in &topology.services {
                let selected = s.workloads.iter().any(|w| {
                    o.workloads
                        .iter()
                        .any(|x| x.namespace == s.id.namespace && x.name == w.name)
                });
                if selected {
                    state.mtls.insert(s.id.clone(), state_of);
                }
            }
        }
        state
    }

    pub fn apply(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::Sidecar { service } => {
                    self.sidecars.insert(service.clone());
                }
                Effect::NoSidecar { service } => {
                    self.sidecars.remove(service);
                }
                Effect::Mtls { service, mode } => {
                    self.mtls.insert(service.clone(), *mode);
                }
                Effect::Authorization {
                    service,
                    state,
                    principals,
                    plain_ports,
                } => {
                    self.authz.insert(
                        service.clone(),
                        Authz {
                            state: *state,
                            principals: principals.iter().cloned().collect(),
                            plain_ports: plain_ports.iter().copied().collect(),
                        },
                    );
                }
                Effect::Traffic { .. } => {}
                Effect::Account {
                    service,
                    workload,
                    account,
                } => {
                    self.accounts
                        .insert((service.clone(), workload.clone()), account.clone());
                }
            }
        }
    }

    pub fn has_sidecar(&self, s: &QualifiedName) -> bool {
        self.sidecars.contains(s)
    }

    /// The account a workload of `s` runs as: where a step moved it, else its manifest's.
    fn account<'a>(&'a self, s: &QualifiedName, w: &'a WorkloadRef) -> &'a str {
        if self.accounts.is_empty() {
            return &w.service_account;
        }
        self.accounts
            .get(&(s.clone(), w.name.clone()))
            .map_or(&w.service_account, String::as_str)
    }

    /// Every call of the graph (and from the ingress gateway, which always has a sidecar)
    /// that fails in this state; sorted.
    pub fn broken(&self, topology: &Topology, plan: &Plan) -> Vec<Broken> {
        self.broken_among(plan, &calls(topology), &topology.services)
    }

    /// The `calls`, and the calls from outside the mesh into `entered`, that fail in this
    /// state; sorted. A call's fate depends only on its caller's and its callee's state, so
    /// after a change to a few services only the calls touching them need a look.
    pub fn broken_among<'a>(
        &self,
        plan: &Plan,
        calls: impl IntoIterator<Item = &'a Call<'a>>,
        entered: impl IntoIterator<Item = &'a MeshService>,
    ) -> Vec<Broken> {
        let mut out = Vec::new();
        for &Call {
            caller,
            callee,
            port,
        } in calls
        {
            // The caller's principals, made only when an enforced policy is asked to admit
            // them: the first it does not.
            let missing = |admitted: &BTreeSet<String>| {
                caller
                    .workloads
                    .iter()
                    .map(|w| principal(plan, &caller.id.namespace, self.account(&caller.id, w)))
                    .find(|p| !admitted.contains(p))
            };
            if let Some(why) = self.refuses(&callee.id, self.has_sidecar(&caller.id), missing, port)
            {
                out.push(Broken {
                    from: caller.id.clone(),
                    to: callee.id.clone(),
                    cause: why.0,
                    why: why.1,
                });
            }
        }
        for s in entered {
            let port = s.primary_port().map(|p| p.target_port.unwrap_or(p.port));
            if !s.exposure.ingress_gateway.is_empty() {
                let gateway = |admitted: &BTreeSet<String>| {
                    let p = &plan.ingress_gateway_principal;
                    (!admitted.contains(p)).then(|| p.clone())
                };
                if let Some(why) = self.refuses(&s.id, true, gateway, port) {
                    out.push(Broken {
                        from: QualifiedName::new("istio-system", "istio-ingressgateway"),
                        to: s.id.clone(),
                        cause: why.0,
                        why: why.1,
                    });
                }
            }
            // A Kubernetes Ingress controller or a load balancer sends plain traffic with no
            // mesh identity.
            if !s.exposure.ingress.is_empty() || s.exposure.direct.is_some() {
                if let Some(why) = self.refuses(&s.id, false, |_| None, port) {
                    out.push(Broken {
                        from: QualifiedName::new("", "outside the mesh"),
                        to: s.id.clone(),
                        cause: why.0,
                        why: why.1,
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// Why `callee` would refuse a caller, if it would; `missing` gives the first of a meshed
    /// caller's principals an enforced policy's list does not hold.
    fn refuses(
        &self,
        callee: &QualifiedName,
        caller_meshed: bool,
        missing: impl FnOnce(&BTreeSet<String>) -> Option<String>,
        port: Option<u16>,
    ) -> Option<(Cause, String)> {
        if !self.has_sidecar(callee) {
            return None;
        }
        let mode = self.mtls.get(callee).copied().unwrap_or(MtlsState::Inherit);
        if !caller_meshed && mode != MtlsState::Permissive {
            let why = match mode {
                MtlsState::Strict => "STRICT, and the caller has no sidecar",
                _ => "mTLS mode inherited (may be STRICT), and the caller has no sidecar",
            };
            return Some((Cause::CallerNotMeshed, why.to_string()));
        }
        let authz = self.authz.get(callee)?;
        if authz.state != AuthzState::Enforced {
            return None;
        }
        if caller_meshed {
            missing(&authz.principals).map(|p| {
                (
                    Cause::NotAdmitted,
                    format!("enforced authorization does not admit {p}"),
                )
            })
        } else if port.is_some_and(|p| authz.plain_ports.contains(&p)) {
            None
        } else {
            Some((
                Cause::CallerNotMeshed,
                "enforced authorization, and the caller has no sidecar to carry its identity"
                    .to_string(),
            ))
        }
    }
}

/// A call of the graph between two services of it, the caller with workloads, and the
/// workload port it reaches.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub caller: &'a MeshService,
    pub callee: &'a MeshService,
    pub port: Option<u16>,
}

/// The calls of the graph a sidecar, an mTLS mode or a policy can refuse, in the edges'
/// order: none from a service to itself, to or from a name the graph does not hold, or from
/// a service without workloads.
pub fn calls(topology: &Topology) -> Vec<Call<'_>> {
    topology
        .edges
        .iter()
        .filter(|e| e.from != e.to)
        .filter_map(|e| {
            let caller = topology.service(&e.from)?;
            let callee = topology.service(&e.to)?;
            (!caller.workloads.is_empty()).then(|| Call {
                caller,
                callee,
                port: edge_port(callee, e),
            })
        })
        .collect()
}

/// The workload port a call along `e` reaches: the Service port's target port (the callee's
/// first port when the edge names none).
pub fn edge_port(callee: &MeshService, e: &Edge) -> Option<u16> {
    e.port
        .and_then(|p| callee.port(p))
        .or_else(|| callee.primary_port())
        .map(|p| p.target_port.unwrap_or(p.port))
}

/// `<trust-domain>/ns/<ns>/sa/<sa>`.
pub fn principal(plan: &Plan, namespace: &str, account: &str) -> String {
    format!("{}/ns/{namespace}/sa/{account}", plan.trust_domain)
}

/// The calls broken after each step, in plan order: (phase index, step index, broken).
pub fn walk(plan: &Plan, topology: &Topology) -> Vec<(usize, usize, Vec<Broken>)> {
    let calls = calls(topology);
    let mut state = State::before(topology);
    let mut out = Vec::new();
    for (pi, phase) in plan.phases.iter().enumerate() {
        for (si, step) in phase.steps.iter().enumerate() {
            state.apply(&step.effects);
            out.push((pi, si, state.broken_among(plan, &calls, &topology.services)));
        }
    }
    out
}
