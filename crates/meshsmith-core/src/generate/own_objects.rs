//! The manifests' own Istio objects against what was generated: nothing generated may
//! replace one, or conflict with one where Istio would not merge the two.
//!
//! In: the generated resources and the topology's [`OwnObject`]s. Out: the same resources
//! without the ones that would replace or conflict with the team's (each listed as a
//! [`KeptObject`], with what it would have set), and each intended replacement (a
//! VirtualService that only passes traffic through, see `virtual_service`) as a
//! [`ReplacedObject`] holding the original, which a rollback applies again.
//!
//! Per kind, as Istio applies them: a PeerAuthentication or Sidecar that selects a workload
//! is the one of that workload (a second is not merged: the oldest, or an undefined one,
//! wins), so the team's stays the truth for its workload; a DestinationRule for a host is the
//! one of that host (two are not merged), so the team's stays the truth for its host. Any
//! other kind conflicts only by name: an object of the same kind, namespace and name.

use crate::model::*;
use std::collections::HashMap;

/// The manifests' objects by what they govern.
pub(crate) struct OwnIndex<'a> {
    by_name: HashMap<(&'a str, &'a QualifiedName), &'a OwnObject>,
    by_workload: HashMap<(&'a str, &'a QualifiedName), &'a OwnObject>,
    by_host: HashMap<&'a str, &'a OwnObject>,
    pass_through: HashMap<&'a QualifiedName, &'a MeshRoute>,
}

impl<'a> OwnIndex<'a> {
    pub fn new(topology: &'a Topology) -> Self {
        let mut index = OwnIndex {
            by_name: HashMap::new(),
            by_workload: HashMap::new(),
            by_host: HashMap::new(),
            pass_through: HashMap::new(),
        };
        // Sorted by (kind, object): the first of several for one workload or host is kept.
        for o in &topology.own_config {
            index.by_name.entry((&o.kind, &o.object)).or_insert(o);
            for w in &o.workloads {
                index.by_workload.entry((&o.kind, w)).or_insert(o);
            }
            for h in &o.hosts {
                index.by_host.entry(h).or_insert(o);
            }
        }
        for r in topology.mesh_routes.iter().filter(|r| r.pass_through) {
            index.pass_through.insert(&r.virtual_service, r);
        }
        index
    }

    /// What the team's object governs that `r` would too, and why both cannot apply.
    fn conflict(&self, r: &Resource) -> Option<(&'a OwnObject, &'static str)> {
        let kind = r.kind.as_str();
        let workload = QualifiedName::new(&r.namespace, &r.name);
        let governs = match &r.spec {
            Spec::PeerAuthentication(_) | Spec::Sidecar(_) => {
                self.by_workload.get(&(kind, &workload)).map(|o| {
                    let why = if r.kind == Kind::Sidecar {
                        "it selects the same workload, and Istio applies one Sidecar per workload \
                         (which of two is not defined)"
                    } else {
                        "it selects the same workload, and Istio applies one workload \
                         PeerAuthentication per workload (the oldest): two are not merged"
                    };
                    (*o, why)
                })
            }
            Spec::DestinationRule(dr) => self.by_host.get(dr.host.as_str()).map(|o| {
                (
                    *o,
                    "it is for the same host, and Istio applies one DestinationRule per host: \
                     two are not merged",
                )
            }),
            _ => None,
        };
        governs.or_else(|| {
            self.by_name.get(&(kind, &workload)).map(|o| {
                (
                    *o,
                    "it has the same kind, namespace and name: applying meshsmith's would \
                     replace it",
                )
            })
        })
    }
}

/// Takes out of `out` every resource that would replace or conflict with one of the
/// manifests (listing it in `out.kept`), and records each intended replacement.
pub(crate) fn keep_theirs(index: &OwnIndex, out: &mut MeshConfig) {
    let mut kept = Vec::new();
    let mut replaced = Vec::new();
    out.resources.retain(|r| {
        if !r.kind.is_istio() {
            return true;
        }
        let name = QualifiedName::new(&r.namespace, &r.name);
        if r.kind == Kind::VirtualService {
            if let Some(route) = index.pass_through.get(&name) {
                replaced.extend(route.original.as_ref().map(|original| ReplacedObject {
                    kind: r.kind,
                    namespace: r.namespace.clone(),
                    name: r.name.clone(),
                    original: original.clone(),
                    origin: route.origin.clone(),
                }));
                return true;
            }
        }
        let Some((theirs, why)) = index.conflict(r) else {
            return true;
        };
        kept.push(KeptObject {
            service: r.owner.clone(),
            kind: r.kind,
            object: theirs.object.clone(),
            origin: theirs.origin.clone(),
            instead_of: name,
            would_set: would_set(r),
            why: why.to_string(),
        });
        false
    });
    for k in &kept {
        out.notes.push(format!(
            "{}: the manifests' {} {} ({}) is kept, and meshsmith's {} {} is not written: {}; \
             it would have set {}",
            k.service,
            k.kind.as_str(),
            k.object,
            k.origin,
            k.kind.as_str(),
            k.instead_of,
            k.why,
            k.would_set
        ));
    }
    kept.sort();
    kept.dedup();
    replaced.sort();
    replaced.dedup();
    out.kept.append(&mut kept);
    out.kept.sort();
    out.replaced = replaced;
}

/// The values a generated object sets, in a line: what the person is asked to carry over.
pub(crate) fn would_set(r: &Resource) -> String {
    match &r.spec {
        Spec::PeerAuthentication(pa) => format!("mtls.mode {}", pa.mtls.mode),
        Spec::DestinationRule(dr) => {
            let tp = &dr.traffic_policy;
            let pool = &tp.connection_pool;
            let od = &tp.outlier_detection;
            let mut parts = vec![
                format!(
                    "connectionPool.tcp.maxConnections {}",
                    pool.tcp.max_connections
                ),
                format!(
                    "connectionPool.tcp.connectTimeout {}",
                    pool.tcp.connect_timeout
                ),
            ];
            if let Some(http) = &pool.http {
                parts.push(format!(
                    "connectionPool.http.http1MaxPendingRequests {}",
                    http.http1_max_pending_requests
                ));
            }
            parts.push(format!(
                "outlierDetection.consecutive5xxErrors {}, interval {}, baseEjectionTime {}",
                od.consecutive_5xx_errors, od.interval, od.base_ejection_time
            ));
            parts.join(", ")
        }
        Spec::AuthorizationPolicy(ap) => format!(
            "an ALLOW policy with {} rule(s) for the service's callers",
            ap.rules.len()
        ),
        Spec::Sidecar(_) => "egress scoped to the service's dependencies".to_string(),
        _ => format!("its own {}", r.kind.as_str()),
    }
}
