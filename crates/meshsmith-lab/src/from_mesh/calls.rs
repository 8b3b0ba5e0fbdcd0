//! Calls the graph does not show (`--call FROM:TO`), and whether the caller's sidecar would
//! know the callee.
//!
//! In: the chosen services, the `FROM:TO` pairs (names as `--services` takes them) and the
//! generated resources. Out: one `CallSpec` per pair. Whether FROM's sidecar has TO in its
//! configuration is read from FROM's generated Sidecar, as Istio reads egress hosts
//! (`<namespace>/<host>`: namespace `*`, `.` for the Sidecar's own, `~` for none; host `*`,
//! `*.suffix` or the FQDN; a `~ns/host` entry takes hosts away): without a Sidecar every proxy
//! sees the whole mesh.

use super::FromMeshError;
use crate::spec::CallSpec;
use meshsmith_core::model::{Kind, MeshConfig, MeshService, Spec, Topology};

/// One `--call FROM:TO` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub from: String,
    pub to: String,
}

impl Call {
    /// `FROM:TO`, each `name` or `name.namespace`.
    pub fn parse(text: &str) -> Result<Call, FromMeshError> {
        match text.split_once(':') {
            Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => Ok(Call {
                from: from.trim().to_string(),
                to: to.trim().to_string(),
            }),
            _ => Err(FromMeshError::BadCall(format!(
                "`{text}` is not FROM:TO (e.g. api:ledger or api.shop:ledger.finance)"
            ))),
        }
    }
}

/// The calls, resolved against the chosen services.
pub(super) fn resolve(
    topology: &Topology,
    mesh: &MeshConfig,
    chosen: &[&MeshService],
    calls: &[Call],
) -> Result<Vec<CallSpec>, FromMeshError> {
    let mut out: Vec<CallSpec> = Vec::new();
    for call in calls {
        let end = |name: &str| -> Result<&MeshService, FromMeshError> {
            let s = topology
                .find(name)
                .ok_or_else(|| FromMeshError::UnknownService(name.to_string()))?;
            if chosen.iter().any(|c| c.id == s.id) {
                Ok(s)
            } else {
                Err(FromMeshError::BadCall(format!(
                    "{}:{}: `{name}` is not among the services brought up; add it to --services",
                    call.from, call.to
                )))
            }
        };
        let (from, to) = (end(&call.from)?, end(&call.to)?);
        if from.id == to.id {
            return Err(FromMeshError::BadCall(format!(
                "{}:{}: a service calling itself is not a call",
                call.from, call.to
            )));
        }
        if out
            .iter()
            .any(|c| c.from == from.id.name && c.to == to.id.name)
        {
            continue;
        }
        out.push(CallSpec {
            from: from.id.name.to_string(),
            to: to.id.name.to_string(),
            imported: imports(mesh, from, to),
        });
    }
    Ok(out)
}

/// Does `from`'s generated Sidecar (for the workload the lab runs) import `to`?
fn imports(mesh: &MeshConfig, from: &MeshService, to: &MeshService) -> bool {
    let Some(workload) = from.workloads.first() else {
        return true;
    };
    let sidecar = mesh.resources.iter().find_map(|r| match &r.spec {
        Spec::Sidecar(s)
            if r.kind == Kind::Sidecar && r.owner == from.id && r.name == workload.name =>
        {
            Some((s, r.namespace.as_str()))
        }
        _ => None,
    });
    let Some((sidecar, own_namespace)) = sidecar else {
        return true;
    };
    let host = format!("{}.{}.svc.cluster.local", to.id.name, to.id.namespace);
    let hosts: Vec<&str> = sidecar
        .egress
        .iter()
        .flat_map(|e| e.hosts.iter().map(String::as_str))
        .collect();
    let matches = |entry: &str| egress_matches(entry, own_namespace, &to.id.namespace, &host);
    let excluded = hosts
        .iter()
        .filter_map(|h| h.strip_prefix('~'))
        .filter(|h| h.contains('/'))
        .any(&matches);
    !excluded && hosts.iter().any(|h| matches(h))
}

/// One egress host entry `<namespace>/<dns>` against a service's namespace and FQDN.
pub(super) fn egress_matches(entry: &str, own: &str, namespace: &str, fqdn: &str) -> bool {
    let Some((ns, dns)) = entry.split_once('/') else {
        return false;
    };
    let ns_ok = match ns {
        "*" => true,
        "." => own == namespace,
        "~" => false,
        other => other == namespace,
    };
    let dns_ok = match dns {
        "*" => true,
        d => match d.strip_prefix("*.") {
            Some(suffix) => fqdn.ends_with(&format!(".{suffix}")),
            None => d == fqdn,
        },
    };
    ns_ok && dns_ok
}

#[cfg(test)]
mod tests;
