//! Where every sidecar of a fleet listens and what its bootstrap says: ports picked on
//! 127.0.0.1, one inbound listener per callee instance, one outbound listener per Service port
//! a caller sends to, and the routes on each (configured destinations, and `PassthroughCluster`
//! for those the caller's sidecar does not import).

use super::FleetError;
use crate::access_log::{pod_name, LogFiles};
use crate::bootstrap::{
    InboundPlan, OutboundListener, OutboundRoute, PassthroughRoute, SidecarPlan, TlsFiles,
};
use crate::spec::{LabSpec, ServiceSpec};
use std::net::TcpListener;
use std::path::Path;

/// The ports of one sidecar.
pub(super) struct Slot<'a> {
    pub service: &'a ServiceSpec,
    pub instance: u32,
    pub admin: u16,
    pub inbound: Option<u16>,
    /// (Service port, lab port) per outbound listener.
    pub outbound: Vec<(u16, u16)>,
}

/// Pick every port at once, holding each until all are picked so no two sidecars share one.
pub(super) fn slots(spec: &LabSpec) -> Result<Vec<Slot<'_>>, FleetError> {
    let callees = spec.callees();
    let mut held = Vec::new();
    let mut pick = || -> Result<u16, FleetError> {
        let l = TcpListener::bind(("127.0.0.1", 0)).map_err(FleetError::PickPort)?;
        let port = l.local_addr().map_err(FleetError::PickPort)?.port();
        held.push(l);
        Ok(port)
    };
    let mut out = Vec::new();
    for s in &spec.services {
        let is_callee = callees.iter().any(|c| c.name == s.name);
        let mut service_ports: Vec<u16> = Vec::new();
        for (target, _) in spec.targets_of(&s.name) {
            if !service_ports.contains(&target.port) {
                service_ports.push(target.port);
            }
        }
        let instances = if is_callee { s.instances } else { 1 };
        for i in 0..instances {
            let inbound = if is_callee { Some(pick()?) } else { None };
            let mut outbound = Vec::new();
            if i == 0 {
                for p in &service_ports {
                    outbound.push((*p, pick()?));
                }
            }
            if inbound.is_some() || !outbound.is_empty() {
                out.push(Slot {
                    service: s,
                    instance: i,
                    admin: pick()?,
                    inbound,
                    outbound,
                });
            }
        }
    }
    Ok(out)
}

/// The bootstrap plan of one slot; `app_port` is its app's port when it is a callee.
pub(super) fn sidecar_plan(
    spec: &LabSpec,
    slot: &Slot<'_>,
    slots: &[Slot<'_>],
    tls: TlsFiles,
    app_port: Option<u16>,
    logs_dir: &Path,
) -> SidecarPlan {
    let s = slot.service;
    let pod = pod_name(s.workload(), &s.namespace, slot.instance);
    let inbound = slot
        .inbound
        .zip(app_port)
        .map(|(port, app_port)| inbound_plan(s, port, app_port));
    let outbound = slot
        .outbound
        .iter()
        .map(|(service_port, port)| listener(spec, s, *service_port, *port, slots))
        .collect();
    SidecarPlan {
        logs: LogFiles::in_dir(logs_dir, &pod),
        pod,
        namespace: s.namespace.clone(),
        workload: s.workload().to_string(),
        admin_port: slot.admin,
        tls,
        inbound,
        outbound,
    }
}

fn inbound_plan(s: &ServiceSpec, port: u16, app_port: u16) -> InboundPlan {
    InboundPlan {
        port,
        app_port,
        target_port: s.target_port(),
        protocol: s.protocol,
        mtls: s.mtls,
        namespace: s.namespace.clone(),
        policy: s.workload().to_string(),
        allowed_ids: s
            .allowed_principals
            .iter()
            .map(|p| format!("spiffe://{p}"))
            .collect(),
        allow_unauthenticated: s.allow_unauthenticated,
        dry_run: s.dry_run,
    }
}

fn listener(
    spec: &LabSpec,
    caller: &ServiceSpec,
    service_port: u16,
    port: u16,
    slots: &[Slot<'_>],
) -> OutboundListener {
    let mut routes = Vec::new();
    let mut passthrough = Vec::new();
    for (callee, imported) in spec.targets_of(&caller.name) {
        if callee.port != service_port {
            continue;
        }
        let endpoints: Vec<u16> = slots
            .iter()
            .filter(|slot| slot.service.name == callee.name)
            .filter_map(|slot| slot.inbound)
            .collect();
        if imported {
            routes.push(OutboundRoute {
                fqdn: fqdn(callee),
                aliases: aliases(caller, callee),
                port: callee.port,
                protocol: callee.protocol,
                callee_id: spec.spiffe_id(callee),
                endpoints,
                traffic: callee.traffic.clone(),
            });
        } else if let Some(endpoint) = endpoints.first() {
            passthrough.push(PassthroughRoute {
                fqdn: fqdn(callee),
                aliases: aliases(caller, callee),
                port: callee.port,
                endpoint: *endpoint,
            });
        }
    }
    OutboundListener {
        service_port,
        port,
        routes,
        passthrough,
    }
}

pub fn fqdn(s: &ServiceSpec) -> String {
    format!("{}.{}.svc.cluster.local", s.name, s.namespace)
}

/// The other names Istio lists for a host: `name.ns`, `name.ns.svc`, and the short name from
/// the callee's own namespace.
pub(super) fn aliases(caller: &ServiceSpec, callee: &ServiceSpec) -> Vec<String> {
    let mut out = vec![
        format!("{}.{}", callee.name, callee.namespace),
        format!("{}.{}.svc", callee.name, callee.namespace),
    ];
    if caller.namespace == callee.namespace {
        out.insert(0, callee.name.clone());
    }
    out
}
