//! What istiod is given besides the lab spec: every generated resource of the lab's services
//! as `generate` writes it, and the labels that select each service's pods.

use crate::istiod::{Generated, GeneratedResource};
use crate::spec::LabSpec;
use meshsmith_core::generate::layout::to_value;
use meshsmith_core::model::{MeshConfig, Topology};

/// The generated configuration of `spec`'s services, for `lab --control-plane istiod`.
pub fn for_istiod(topology: &Topology, mesh: &MeshConfig, spec: &LabSpec) -> Generated {
    let mut generated = Generated::default();
    for s in &spec.services {
        let owned = mesh
            .resources
            .iter()
            .filter(|r| r.owner.name == s.name && r.owner.namespace == s.namespace);
        for r in owned {
            generated.resources.push(GeneratedResource {
                service: s.name.clone(),
                object: to_value(r),
            });
        }
        let workload = topology
            .services
            .iter()
            .find(|m| m.id.name == s.name && m.id.namespace == s.namespace)
            .and_then(|m| m.workloads.iter().find(|w| w.name == s.workload()));
        if let Some(w) = workload {
            let labels = w
                .selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            generated.pod_labels.insert(s.name.clone(), labels);
        }
    }
    generated
}
