//! Environment values -> candidates: literal values, `envFrom` and `configMapKeyRef`
//! ConfigMaps followed to their keys, URLs and `host:port` tokens in any value, split
//! `*_HOST` + `*_PORT` pairs, and values that are themselves cluster host names.

use super::super::address::{bare_host, find_addresses, Address};
use super::super::env::{environment, EnvEntry};
use super::{bare, is_cluster_form, names_a_host, one_line, Candidate, Cx};
use crate::model::*;
use std::collections::HashMap;

pub(super) fn candidates(cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let mut out = Vec::new();
    for c in &w.containers {
        let env = environment(cx.inventory, &w.namespace, c);
        let names = Names::of(&env);
        for entry in &env {
            let Some(value) = &entry.value else { continue };
            let confidence = cx.confidence_of(&w.namespace, entry.config_map.as_deref());
            let (kind, found) = addresses(&names, entry, value);
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
fn addresses(names: &Names, entry: &EnvEntry, value: &str) -> (HintKind, Vec<Address>) {
    let mut found = find_addresses(value);
    if found.is_empty() && !names_a_host(&entry.name) && is_cluster_form(value) {
        // `ZIPKIN=zipkin.tracing.svc.cluster.local`: the value itself says it is a host.
        found.extend(bare_host(value).map(bare));
    }
    if !found.is_empty() || !names_a_host(&entry.name) {
        return (entry.kind, found);
    }
    let port = paired_port(names, &entry.name);
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

/// A container's variables by name, upper-cased, each with the first of that name: a host
/// variable finds its port without a scan of the whole environment.
struct Names<'e> {
    first: HashMap<String, (usize, &'e EnvEntry)>,
}

impl<'e> Names<'e> {
    fn of(env: &'e [EnvEntry]) -> Self {
        let mut first = HashMap::with_capacity(env.len());
        for (i, e) in env.iter().enumerate() {
            first.entry(e.name.to_ascii_uppercase()).or_insert((i, e));
        }
        Names { first }
    }

    /// Of the variables named (in upper case), the one defined first.
    fn first_of(&self, names: &[String]) -> Option<&'e EnvEntry> {
        names
            .iter()
            .filter_map(|n| self.first.get(n))
            .min_by_key(|(i, _)| *i)
            .map(|(_, e)| *e)
    }
}

/// `PAYMENT_HOST` pairs with `PAYMENT_PORT` (or `PAYMENT_SERVICE_PORT`).
fn paired_port(names: &Names, host_var: &str) -> Option<u16> {
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
    names
        .first_of(&wanted)
        .and_then(|e| e.value.as_deref())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str) -> EnvEntry {
        EnvEntry {
            name: name.into(),
            value: Some(value.into()),
            origin: Origin::new(&std::sync::Arc::from("in.yaml"), 1),
            kind: HintKind::Env,
            config_map: None,
        }
    }

    #[test]
    fn a_host_variable_pairs_with_the_first_port_variable_of_its_name_in_any_case() {
        let env = [
            entry("ledger_service_port", "9090"),
            entry("LEDGER_HOST", "ledger"),
            entry("LEDGER_PORT", "8080"),
            entry("STORE_ADDR", "store"),
        ];
        let names = Names::of(&env);
        assert_eq!(paired_port(&names, "LEDGER_HOST"), Some(9090));
        assert_eq!(paired_port(&names, "store_addr"), None);
    }

    #[test]
    fn every_host_variable_of_a_large_environment_finds_its_port() {
        // 100,000 host variables, each with its port: a scan of the environment per host
        // would compare names some 10^10 times.
        let n = 100_000;
        let mut env = Vec::with_capacity(2 * n);
        for i in 0..n {
            env.push(entry(&format!("S{i}_HOST"), &format!("s{i}")));
            env.push(entry(
                &format!("S{i}_PORT"),
                &(1000 + i % 60_000).to_string(),
            ));
        }
        let names = Names::of(&env);
        let paired = (0..n)
            .filter(|i| {
                paired_port(&names, &format!("S{i}_HOST")) == Some((1000 + i % 60_000) as u16)
            })
            .count();
        assert_eq!(paired, n);
    }
}
