//! Environment values -> candidates: literal values, `envFrom` and `configMapKeyRef`
//! ConfigMaps followed to their keys, URLs and `host:port` tokens in any value, split
//! `*_HOST` + `*_PORT` pairs, and values that are themselves cluster host names.

use super::super::address::{bare_host, find_addresses, Address};
use super::super::env::{environment, EnvEntry};
use super::{bare, is_cluster_form, names_a_host, one_line, Candidate, Cx};
use crate::model::*;

pub(super) fn candidates(cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let mut out = Vec::new();
    for c in &w.containers {
        let env = environment(cx.inventory, &w.namespace, c);
        for entry in &env {
            let Some(value) = &entry.value else { continue };
            let confidence = cx.confidence_of(&w.namespace, entry.config_map.as_deref());
            let (kind, found) = addresses(&env, entry, value);
            let shown = crate::redact::value(&entry.name, value);
            let detail = format!("env {}={}", entry.name, one_line(&shown));
            for address in found {
                let evidence = Evidence {
                    origin: entry.origin.clone(),
                    kind,
                    detail: detail.clone(),
                };
                out.push(Candidate::address(wi, address, evidence, confidence));
            }
        }
    }
    out
}

/// The addresses one variable names, and the kind of hint it is.
fn addresses(env: &[EnvEntry], entry: &EnvEntry, value: &str) -> (HintKind, Vec<Address>) {
    let mut found = find_addresses(value);
    if found.is_empty() && !names_a_host(&entry.name) && is_cluster_form(value) {
        // `ZIPKIN=zipkin.tracing.svc.cluster.local`: the value itself says it is a host.
        found.extend(bare_host(value).map(bare));
    }
    if !found.is_empty() || !names_a_host(&entry.name) {
        return (entry.kind, found);
    }
    let port = paired_port(env, &entry.name);
    let kind = if port.is_some() {
        HintKind::EnvHostPort
    } else {
        entry.kind
    };
    let found = value
        .split([',', ' '])
        .filter_map(bare_host)
        .map(|host| Address {
            host,
            port,
            scheme: None,
            line_offset: 0,
        })
        .collect();
    (kind, found)
}

/// `PAYMENT_HOST` pairs with `PAYMENT_PORT` (or `PAYMENT_SERVICE_PORT`).
fn paired_port(env: &[EnvEntry], host_var: &str) -> Option<u16> {
    let upper = host_var.to_ascii_uppercase();
    let prefix = [
        "_SERVICE_HOST",
        "_HOSTNAME",
        "_HOST",
        "_ADDR",
        "_ADDRESS",
        "_SERVER",
    ]
    .iter()
    .find_map(|s| upper.strip_suffix(s))?;
    let wanted = [format!("{prefix}_PORT"), format!("{prefix}_SERVICE_PORT")];
    env.iter()
        .find(|e| wanted.iter().any(|w| e.name.eq_ignore_ascii_case(w)))
        .and_then(|e| e.value.as_deref())
        .and_then(|v| v.trim().parse().ok())
}
