//! ConfigMap files -> candidates: files of a ConfigMap mounted as a volume (every URL,
//! `host:port` and `*_host: name` line), and the application config that Spring Cloud
//! Kubernetes looks up by name without any reference in the pod spec.

use super::super::address::{bare_host, find_addresses, Address};
use super::{names_a_host, Candidate, Cx};
use crate::model::*;

pub(super) fn mounted(cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let mounted = w.config_map_volumes.iter().filter(|v| {
        w.containers
            .iter()
            .any(|c| c.mounts.iter().any(|m| m.volume == v.volume))
    });
    let mut out = Vec::new();
    for vol in mounted {
        let Some(cm) = cx.inventory.config_map(&w.namespace, &vol.config_map) else {
            continue;
        };
        let confidence = cx.confidence_of(&w.namespace, Some(&cm.name));
        for entry in &cm.data {
            for address in file_addresses(&entry.value) {
                out.push(entry_candidate(wi, entry, address, confidence, |text| {
                    (
                        HintKind::MountedConfigFile,
                        format!("file {} of ConfigMap {}: {text}", entry.key, cm.name),
                    )
                }));
            }
        }
    }
    out
}

/// URLs and `host:port` tokens anywhere, and `key: name` lines whose key names a host.
fn file_addresses(text: &str) -> Vec<Address> {
    let mut found = find_addresses(text);
    for (offset, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once([':', '=']) else {
            continue;
        };
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
    found
}

/// Spring Cloud Kubernetes reads application config from a ConfigMap it looks up by name,
/// without any reference in the pod spec. Such a ConfigMap (an `application.yaml` or
/// `.properties` that no workload mounts or loads) that carries gateway routes is read by the
/// namespace's gateway application; its addresses are that gateway's calls, with low
/// confidence since nothing in the pod spec ties the two together.
pub(super) fn looked_up(cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let is_gateway_app =
        w.name.contains("gateway") || w.containers.iter().any(|c| c.image.contains("gateway"));
    let uses_spring = w
        .containers
        .iter()
        .any(|c| c.env.iter().any(|e| e.name.starts_with("SPRING_")) || c.image.contains("spring"));
    if !is_gateway_app || !uses_spring {
        return Vec::new();
    }
    let mut out = Vec::new();
    for cm in cx
        .inventory
        .config_maps
        .iter()
        .filter(|c| c.namespace == w.namespace)
    {
        if cx
            .users
            .contains_key(&(cm.namespace.clone(), cm.name.clone()))
        {
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
                out.push(entry_candidate(wi, entry, address, Confidence::Low, |text| {
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
    out
}

/// A candidate for an address found inside a (multi-line) ConfigMap value: evidence at the
/// line it is on, described by `describe` from that line's text.
fn entry_candidate(
    wi: usize,
    entry: &ConfigEntry,
    address: Address,
    confidence: Confidence,
    describe: impl FnOnce(&str) -> (HintKind, String),
) -> Candidate {
    let text = entry
        .value
        .lines()
        .nth(address.line_offset as usize)
        .unwrap_or("")
        .trim();
    let (kind, detail) = describe(&crate::redact::text(text));
    let evidence = Evidence {
        origin: Origin {
            file: entry.origin.file.clone(),
            line: entry.origin.line + address.line_offset,
        },
        kind,
        detail,
    };
    Candidate::address(wi, address, evidence, confidence)
}
