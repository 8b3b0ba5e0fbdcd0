//! A node's Service ports and its aliases' -> the port each call reaches. Ports carry what
//! Istio will do (declared) and what the evidence says (believed); a call is placed on the
//! callee's own Service port, and a call made through an alias on the node's port with the
//! same target port (an alias's ports are its own and may differ).

use super::edges::{EdgeDraft, PortHint, SmallSet};
use super::protocol::{self, CallerHint};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

/// What callers show, per target port of a node.
pub(crate) type HintsByTarget = BTreeMap<u16, BTreeSet<CallerHint>>;

/// A Service's ports with what Istio will do and what the evidence says.
pub(crate) fn port_infos(
    svc: &Service,
    workloads: &[&Workload],
    hints: &HintsByTarget,
) -> Vec<PortInfo> {
    svc.ports
        .iter()
        .map(|p| {
            let target = protocol::target_port(p, workloads);
            let (declared, declared_reason) = protocol::declared(p);
            let shown: Vec<CallerHint> = hints
                .get(&target.unwrap_or(p.port))
                .map(|h| h.iter().cloned().collect())
                .unwrap_or_default();
            let belief = protocol::believed(p, target, workloads, &shown);
            PortInfo {
                port: p.port,
                name: p.name.clone(),
                target_port: target,
                declared,
                believed: belief.protocol,
                reason: belief.reason,
                declared_reason,
                server_first: belief.server_first,
                main: belief.main,
                app_protocol: p.app_protocol.clone(),
            }
        })
        .collect()
}

/// The target port a call's hint is about: the port it names (a Service port of the callee or
/// of the alias it used, or a target port), else its scheme's default port when the callee
/// has it, else the first port whose evidence already agrees with the hint, else the first.
pub(crate) fn hinted_target(callee: &MeshService, h: &PortHint) -> Option<u16> {
    let ports = h
        .alias
        .as_deref()
        .and_then(|a| callee.aliases.iter().find(|x| x.name == a))
        .map_or(&callee.ports[..], |a| &a.ports[..]);
    let target = |p: &PortInfo| p.target_port.unwrap_or(p.port);
    let find = |n: u16| {
        ports
            .iter()
            .find(|p| p.port == n)
            .or_else(|| ports.iter().find(|p| p.target_port == Some(n)))
    };
    if let Some(n) = h.port {
        return find(n).map(target);
    }
    h.default_port
        .and_then(find)
        .or_else(|| ports.iter().find(|p| p.believed == h.hint.protocol))
        .or(ports.first())
        .map(target)
}

/// The callee port a merged call uses, and the alias port it went through when the caller
/// named the callee only by an alias.
pub(crate) fn call_port<'a>(
    callee: &'a MeshService,
    e: &EdgeDraft,
) -> (Option<u16>, Option<&'a PortInfo>) {
    let by_own_name = e.via.is_empty() || e.via.iter().any(|n| callee.service.as_ref() == Some(n));
    if !e.ports.is_empty() || (e.alias_ports.is_empty() && by_own_name) {
        return (edge_port(callee, &e.ports, &e.schemes), None);
    }
    match alias_call_port(callee, &e.via, &e.alias_ports, &e.schemes) {
        Some((port, info)) => (Some(port), Some(info)),
        None => (edge_port(callee, &e.ports, &e.schemes), None),
    }
}

/// A call through an alias, in the node's terms: the alias port named (a Service port of the
/// alias, or its target port), else the scheme's default, else the alias's first port; then
/// the node's own port with the same target port, else that target port itself. With the
/// alias port, whose protocol the call speaks.
fn alias_call_port<'a>(
    callee: &'a MeshService,
    via: &SmallSet<String>,
    named: &SmallSet<(String, u16)>,
    schemes: &SmallSet<String>,
) -> Option<(u16, &'a PortInfo)> {
    let alias = |name: &str| callee.aliases.iter().find(|a| a.name == name);
    let named_port = named.iter().find_map(|(name, p)| {
        let a = alias(name)?;
        a.port(*p)
            .or_else(|| a.ports.iter().find(|i| i.target_port == Some(*p)))
    });
    let info = named_port.or_else(|| {
        let a = via.iter().find_map(|n| alias(n))?;
        scheme_default(schemes)
            .and_then(|p| a.port(p))
            .or(a.ports.first())
    })?;
    let target = info.target_port.unwrap_or(info.port);
    let port = callee
        .ports
        .iter()
        .find(|p| p.target_port.unwrap_or(p.port) == target)
        .map_or(target, |p| p.port);
    Some((port, info))
}

/// The port a URL's scheme implies when it names none.
fn scheme_default(schemes: &SmallSet<String>) -> Option<u16> {
    schemes
        .iter()
        .find_map(|s| protocol::scheme_default_port(s))
}

/// The callee port an edge uses: the one named (a Service port, or a target port mapped back),
/// else the scheme's default, else the callee's only or first port.
fn edge_port(
    callee: &MeshService,
    named: &SmallSet<u16>,
    schemes: &SmallSet<String>,
) -> Option<u16> {
    for &p in named {
        if callee.port(p).is_some() {
            return Some(p);
        }
        if let Some(info) = callee.ports.iter().find(|i| i.target_port == Some(p)) {
            return Some(info.port);
        }
    }
    if let Some(&p) = named.iter().next() {
        if callee.ports.is_empty() {
            return Some(p);
        }
    }
    scheme_default(schemes)
        .filter(|p| callee.port(*p).is_some())
        .or(callee.primary_port().map(|p| p.port))
}
