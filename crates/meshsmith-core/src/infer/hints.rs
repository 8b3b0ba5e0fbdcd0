//! A workload -> the addresses its configuration names, each with its evidence: environment
//! (literal, `envFrom`, `configMapKeyRef`, split `*_HOST` + `*_PORT` pairs), container args and
//! commands, init-container wait loops, mounted ConfigMap files and the `meshsmith.dev/calls`
//! annotation.

use super::address::{bare_host, find_addresses, Address};
use super::env::{environment, EnvEntry};
use crate::model::*;
use std::collections::HashMap;

/// The annotation that declares calls explicitly: `host[:port]` items, comma-separated.
pub const CALLS_ANNOTATION: &str = "meshsmith.dev/calls";

/// A ConfigMap handed to this many workloads or more is shared: its addresses are not
/// specific to any one caller, so edges read from it are low-confidence.
pub const SHARED_CONFIG_MAP_USERS: usize = 3;

/// One address named by a workload.
#[derive(Debug, Clone)]
pub struct Hint {
    pub address: Address,
    pub evidence: Evidence,
    pub confidence: Confidence,
}

/// How many workloads load each ConfigMap (by env or volume), per namespace.
pub fn config_map_users(inventory: &Inventory) -> HashMap<(String, String), usize> {
    let mut users: HashMap<(String, String), usize> = HashMap::new();
    for w in &inventory.workloads {
        let mut names: Vec<&str> = w
            .config_map_volumes
            .iter()
            .map(|v| v.config_map.as_str())
            .collect();
        for c in &w.containers {
            names.extend(c.env_from.iter().filter_map(|e| e.config_map.as_deref()));
            names.extend(c.env.iter().filter_map(|e| match &e.source {
                EnvSource::ConfigMapKey { config_map, .. } => Some(config_map.as_str()),
                _ => None,
            }));
        }
        names.sort_unstable();
        names.dedup();
        for n in names {
            *users
                .entry((w.namespace.clone(), n.to_string()))
                .or_default() += 1;
        }
    }
    users
}

/// The environment of every main container of a workload (init containers excluded).
pub fn main_environment(inventory: &Inventory, w: &Workload) -> Vec<EnvEntry> {
    w.containers
        .iter()
        .filter(|c| !c.init)
        .flat_map(|c| environment(inventory, &w.namespace, c))
        .collect()
}

pub fn workload_hints(
    inventory: &Inventory,
    w: &Workload,
    users: &HashMap<(String, String), usize>,
) -> Vec<Hint> {
    let shared = |cm: &Option<String>| {
        cm.as_ref().is_some_and(|n| {
            users
                .get(&(w.namespace.clone(), n.clone()))
                .copied()
                .unwrap_or(0)
                >= SHARED_CONFIG_MAP_USERS
        })
    };
    let mut hints = Vec::new();
    for c in &w.containers {
        let env = environment(inventory, &w.namespace, c);
        for entry in &env {
            let Some(value) = &entry.value else { continue };
            let confidence = if shared(&entry.config_map) {
                Confidence::Low
            } else {
                Confidence::High
            };
            let detail = format!("env {}={}", entry.name, one_line(value));
            let mut found = find_addresses(value);
            let mut kind = entry.kind;
            if found.is_empty() && !names_a_host(&entry.name) && is_cluster_form(value) {
                // `ZIPKIN=zipkin.tracing.svc.cluster.local`: the value itself says it is a host.
                found.extend(bare_host(value).map(|host| Address {
                    host,
                    port: None,
                    scheme: None,
                    line_offset: 0,
                }));
            }
            if found.is_empty() && names_a_host(&entry.name) {
                let port = paired_port(&env, &entry.name);
                if port.is_some() {
                    kind = HintKind::EnvHostPort;
                }
                found = value
                    .split([',', ' '])
                    .filter_map(bare_host)
                    .map(|host| Address {
                        host,
                        port,
                        scheme: None,
                        line_offset: 0,
                    })
                    .collect();
            }
            for address in found {
                hints.push(Hint {
                    evidence: Evidence {
                        origin: entry.origin.clone(),
                        kind,
                        detail: detail.clone(),
                    },
                    address,
                    confidence,
                });
            }
        }
        let words: Vec<&Located> = c.command.iter().chain(&c.args).collect();
        let kind = if c.init {
            HintKind::InitWait
        } else {
            HintKind::Args
        };
        for (i, word) in words.iter().enumerate() {
            let mut found = find_addresses(&word.text);
            found.extend(wait_targets(&word.text));
            if let Some(next) = words.get(i + 1) {
                if flag_names_a_host(&word.text) && !next.text.starts_with('-') {
                    found.extend(bare_host(&next.text).map(|host| Address {
                        host,
                        port: None,
                        scheme: None,
                        line_offset: 0,
                    }));
                }
            }
            if let Some((flag, value)) = word.text.split_once('=') {
                if flag.starts_with('-')
                    && flag_names_a_host(flag)
                    && find_addresses(value).is_empty()
                {
                    found.extend(bare_host(value).map(|host| Address {
                        host,
                        port: None,
                        scheme: None,
                        line_offset: 0,
                    }));
                }
            }
            dedup_addresses(&mut found);
            for address in found {
                let what = if c.init { "init container" } else { "args" };
                hints.push(Hint {
                    evidence: Evidence {
                        origin: word.origin.clone(),
                        kind,
                        detail: format!("{what} {} `{}`", c.name, one_line(&word.text)),
                    },
                    address,
                    confidence: Confidence::High,
                });
            }
        }
    }
    hints.extend(mounted_file_hints(inventory, w, &shared));
    hints.extend(looked_up_config_hints(inventory, w, users));
    hints.extend(annotation_hints(w));
    hints
}

fn mounted_file_hints(
    inventory: &Inventory,
    w: &Workload,
    shared: &dyn Fn(&Option<String>) -> bool,
) -> Vec<Hint> {
    let mounted: Vec<&ConfigMapVolume> = w
        .config_map_volumes
        .iter()
        .filter(|v| {
            w.containers
                .iter()
                .any(|c| c.mounts.iter().any(|m| m.volume == v.volume))
        })
        .collect();
    let mut hints = Vec::new();
    for vol in mounted {
        let Some(cm) = inventory.config_map(&w.namespace, &vol.config_map) else {
            continue;
        };
        let confidence = if shared(&Some(cm.name.clone())) {
            Confidence::Low
        } else {
            Confidence::High
        };
        for entry in &cm.data {
            let mut found = find_addresses(&entry.value);
            for (offset, line) in entry.value.lines().enumerate() {
                if let Some((key, value)) = line.split_once([':', '=']) {
                    let key = key.trim().trim_matches('"');
                    let value = value.trim().trim_matches(['"', '\'', ',']);
                    if names_a_host(key) && find_addresses(value).is_empty() {
                        found.extend(bare_host(value).map(|host| Address {
                            host,
                            port: None,
                            scheme: None,
                            line_offset: offset as u32,
                        }));
                    }
                }
            }
            for address in found {
                hints.push(entry_hint(entry, address, confidence, |text| {
                    (
                        HintKind::MountedConfigFile,
                        format!("file {} of ConfigMap {}: {text}", entry.key, cm.name),
                    )
                }));
            }
        }
    }
    hints
}

/// Spring Cloud Kubernetes reads application config from a ConfigMap it looks up by name,
/// without any reference in the pod spec. Such a ConfigMap (an `application.yaml` or
/// `.properties` that no workload mounts or loads) that carries gateway routes is read by the
/// namespace's gateway application; its addresses are that gateway's calls, with low
/// confidence since nothing in the pod spec ties the two together.
fn looked_up_config_hints(
    inventory: &Inventory,
    w: &Workload,
    users: &HashMap<(String, String), usize>,
) -> Vec<Hint> {
    let is_gateway_app =
        w.name.contains("gateway") || w.containers.iter().any(|c| c.image.contains("gateway"));
    let uses_spring = w
        .containers
        .iter()
        .any(|c| c.env.iter().any(|e| e.name.starts_with("SPRING_")) || c.image.contains("spring"));
    if !is_gateway_app || !uses_spring {
        return Vec::new();
    }
    let mut hints = Vec::new();
    for cm in inventory
        .config_maps
        .iter()
        .filter(|c| c.namespace == w.namespace)
    {
        if users.contains_key(&(cm.namespace.clone(), cm.name.clone())) {
            continue;
        }
        for entry in &cm.data {
            let app_config = entry.key.starts_with("application")
                && (entry.key.ends_with(".yaml")
                    || entry.key.ends_with(".yml")
                    || entry.key.ends_with(".properties"));
            if !app_config || !entry.value.contains("routes") {
                continue;
            }
            for address in find_addresses(&entry.value) {
                hints.push(entry_hint(entry, address, Confidence::Low, |text| {
                    (
                        HintKind::EnvFromConfigMap,
                        format!(
                            "{} of ConfigMap {} (looked up by name by Spring Cloud Kubernetes): {text}",
                            entry.key, cm.name
                        ),
                    )
                }));
            }
        }
    }
    hints
}

/// A hint for an address found inside a (multi-line) ConfigMap value: evidence at the line
/// it is on, described by `describe` from that line's text.
fn entry_hint(
    entry: &ConfigEntry,
    address: Address,
    confidence: Confidence,
    describe: impl FnOnce(&str) -> (HintKind, String),
) -> Hint {
    let text = entry
        .value
        .lines()
        .nth(address.line_offset as usize)
        .unwrap_or("")
        .trim();
    let (kind, detail) = describe(text);
    Hint {
        evidence: Evidence {
            origin: Origin {
                file: entry.origin.file.clone(),
                line: entry.origin.line + address.line_offset,
            },
            kind,
            detail,
        },
        address,
        confidence,
    }
}

fn annotation_hints(w: &Workload) -> Vec<Hint> {
    let Some(value) = w
        .pod_annotations
        .get(CALLS_ANNOTATION)
        .or(w.annotations.get(CALLS_ANNOTATION))
    else {
        return Vec::new();
    };
    value
        .split([',', ' ', '\n'])
        .filter(|s| !s.is_empty())
        .filter_map(|item| {
            let mut found = find_addresses(item);
            if found.is_empty() {
                found.extend(bare_host(item).map(|host| Address {
                    host,
                    port: None,
                    scheme: None,
                    line_offset: 0,
                }));
            }
            found.into_iter().next()
        })
        .map(|address| Hint {
            evidence: Evidence {
                origin: w.origin.clone(),
                kind: HintKind::Annotation,
                detail: format!("annotation {CALLS_ANNOTATION}: {value}"),
            },
            address,
            confidence: Confidence::High,
        })
        .collect()
}

/// `name.ns.svc` or `name.ns.svc.<cluster-domain>`.
fn is_cluster_form(value: &str) -> bool {
    let labels: Vec<&str> = value.trim().split('.').collect();
    labels.len() >= 3 && labels.iter().skip(2).any(|l| *l == "svc") && bare_host(value).is_some()
}

/// Variable or file keys whose value is a host: `*_HOST`, `*_ADDR`, `*_URL`, `server`...
pub fn names_a_host(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let last = upper.rsplit(['_', '.', '-']).next().unwrap_or("");
    matches!(
        last,
        "HOST"
            | "HOSTNAME"
            | "HOSTS"
            | "ADDR"
            | "ADDRESS"
            | "SERVER"
            | "SERVERS"
            | "ENDPOINT"
            | "ENDPOINTS"
            | "URL"
            | "URI"
            | "BROKER"
            | "BROKERS"
            | "DSN"
            | "UPSTREAM"
    ) || upper.ends_with("_SERVICE_HOST")
}

fn flag_names_a_host(flag: &str) -> bool {
    flag.starts_with('-') && names_a_host(flag.trim_start_matches('-'))
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

/// Hosts waited for by `nc -z host port`, `nslookup host`, `pg_isready -h host -p port`...
fn wait_targets(text: &str) -> Vec<Address> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let args: Vec<&str> = words[i + 1..]
            .iter()
            .copied()
            .filter(|a| !a.starts_with('-'))
            .collect();
        let (host, port) = match *w {
            "nc" | "ncat" | "netcat" | "telnet" => (args.first(), args.get(1)),
            "nslookup" | "host" | "dig" => (args.first(), None),
            "getent" if args.first() == Some(&"hosts") => (args.get(1), None),
            "pg_isready" | "mysqladmin" | "redis-cli" => {
                let h = words[i + 1..]
                    .windows(2)
                    .find(|p| p[0] == "-h" || p[0] == "--host")
                    .map(|p| &p[1]);
                let p = words[i + 1..]
                    .windows(2)
                    .find(|p| p[0] == "-p" || p[0] == "-P" || p[0] == "--port")
                    .map(|p| &p[1]);
                (h, p)
            }
            _ => continue,
        };
        if let Some(host) = host.and_then(|h| bare_host(h)) {
            out.push(Address {
                host,
                port: port.and_then(|p| p.parse().ok()),
                scheme: None,
                line_offset: 0,
            });
        }
    }
    out
}

fn dedup_addresses(found: &mut Vec<Address>) {
    // A `host:port` found both as a token and by a wait pattern: keep the one with a port.
    found.sort_by(|a, b| (&a.host, b.port.is_some()).cmp(&(&b.host, a.port.is_some())));
    found.dedup_by(|later, first| {
        later.host == first.host && (later.port == first.port || later.port.is_none())
    });
}

fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(120).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
