//! A container's environment as the kubelet would build it: `envFrom` ConfigMaps first, then
//! `env` entries (which win), with `valueFrom.configMapKeyRef` followed to the key and
//! `$(VAR)` references expanded. Secret values are never read.

use crate::model::{Container, EnvSource, HintKind, Inventory, Origin};
use std::collections::HashMap;

/// One variable of a container's environment.
#[derive(Debug, Clone)]
pub struct EnvEntry {
    pub name: String,
    /// `None` for Secrets, fields, and ConfigMap keys that are not in the input.
    pub value: Option<String>,
    /// Where the value is written (the ConfigMap line for ConfigMap-sourced values).
    pub origin: Origin,
    pub kind: HintKind,
    /// The ConfigMap it came from, if any.
    pub config_map: Option<String>,
}

/// Builds the environment of `container` in `namespace`.
pub fn environment(inventory: &Inventory, namespace: &str, container: &Container) -> Vec<EnvEntry> {
    let mut entries: Vec<EnvEntry> = Vec::new();
    // Each name's place in `entries`: a variable set again keeps its place, takes the later
    // value, and is found without a scan of all before it.
    let mut places: HashMap<String, usize> = HashMap::new();
    let mut set = |entries: &mut Vec<EnvEntry>, entry: EnvEntry| match places.get(&entry.name) {
        Some(&at) => entries[at] = entry,
        None => {
            places.insert(entry.name.clone(), entries.len());
            entries.push(entry);
        }
    };
    for from in &container.env_from {
        let Some(cm) = from
            .config_map
            .as_ref()
            .and_then(|n| inventory.config_map(namespace, n))
        else {
            continue;
        };
        for e in &cm.data {
            set(
                &mut entries,
                EnvEntry {
                    name: format!("{}{}", from.prefix, e.key),
                    value: Some(e.value.clone()),
                    origin: e.origin.clone(),
                    kind: HintKind::EnvFromConfigMap,
                    config_map: Some(cm.name.clone()),
                },
            );
        }
    }
    for var in &container.env {
        let (value, origin, kind, config_map) = match &var.source {
            EnvSource::Literal(v) => (Some(v.clone()), var.origin.clone(), HintKind::Env, None),
            EnvSource::ConfigMapKey { config_map, key } => {
                match inventory
                    .config_map(namespace, config_map)
                    .and_then(|c| c.entry(key))
                {
                    Some(e) => (
                        Some(e.value.clone()),
                        e.origin.clone(),
                        HintKind::ConfigMapKeyRef,
                        Some(config_map.clone()),
                    ),
                    None => (None, var.origin.clone(), HintKind::ConfigMapKeyRef, None),
                }
            }
            EnvSource::SecretKey { .. } | EnvSource::Field(_) => {
                (None, var.origin.clone(), HintKind::Env, None)
            }
        };
        set(
            &mut entries,
            EnvEntry {
                name: var.name.clone(),
                value,
                origin,
                kind,
                config_map,
            },
        );
    }
    expand_references(&mut entries);
    entries
}

/// The longest value `$(NAME)` expansion builds: variables that double each other (`B=$(A)$(A)`,
/// `C=$(B)$(B)`, ...) would otherwise grow without bound. Past it, references stay as written.
pub const MAX_EXPANDED_VALUE: usize = 64 * 1024;

/// Expands `$(NAME)` with the values of earlier-defined variables; `$$(` is a literal `$(`.
fn expand_references(entries: &mut [EnvEntry]) {
    let mut known: HashMap<String, String> = HashMap::new();
    for entry in entries.iter_mut() {
        if let Some(value) = &entry.value {
            if value.contains("$(") {
                entry.value = Some(expand(value, &known));
            }
        }
        if let Some(value) = &entry.value {
            known.insert(entry.name.clone(), value.clone());
        }
    }
}

fn expand(text: &str, known: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("$(") {
        if rest[..pos].ends_with('$') {
            out.push_str(&rest[..pos - 1]);
            out.push_str("$(");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        match after.find(')') {
            Some(end) => {
                let name = &after[..end];
                match known.get(name) {
                    Some(v) if out.len() + v.len() <= MAX_EXPANDED_VALUE => out.push_str(v),
                    _ => {
                        out.push_str("$(");
                        out.push_str(name);
                        out.push(')');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[pos..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The environment of every main container of a workload (init containers excluded).
pub fn main_environment(inventory: &Inventory, w: &crate::model::Workload) -> Vec<EnvEntry> {
    w.containers
        .iter()
        .filter(|c| !c.init)
        .flat_map(|c| environment(inventory, &w.namespace, c))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_expansion_bomb_stops_at_the_limit() {
        let mut known = HashMap::new();
        let mut value = "x".repeat(100);
        for level in 0..64 {
            known.insert(format!("V{level}"), value.clone());
            value = expand(&format!("$(V{level})$(V{level})"), &known);
            assert!(
                value.len() <= MAX_EXPANDED_VALUE + 16,
                "level {level}: {}",
                value.len()
            );
        }
        assert!(value.contains("$(V63)"));
    }

    use super::*;
    use crate::model::EnvVar;

    #[test]
    fn references_expand_from_earlier_variables_only() {
        let known: HashMap<String, String> =
            [("HOST".to_string(), "pricing.internal".to_string())].into();
        assert_eq!(
            expand("http://$(HOST):8080", &known),
            "http://pricing.internal:8080"
        );
        assert_eq!(expand("$(MISSING)/x", &known), "$(MISSING)/x");
        assert_eq!(expand("$$(HOST)", &known), "$(HOST)");
        assert_eq!(expand("$(HOST", &known), "$(HOST");
    }

    fn container(env: Vec<EnvVar>) -> Container {
        Container {
            name: "app".into(),
            image: "app".into(),
            init: false,
            env,
            env_from: Vec::new(),
            command: Vec::new(),
            args: Vec::new(),
            ports: Vec::new(),
            probes: Vec::new(),
            mounts: Vec::new(),
            origin: Origin::new(&std::sync::Arc::from("in.yaml"), 1),
        }
    }

    #[test]
    fn a_variable_set_again_keeps_its_place_and_takes_the_later_value() {
        // 200,000 variables, each set twice: found by a scan per variable, this would
        // compare names some 10^10 times and run for minutes.
        let n = 200_000;
        let file: std::sync::Arc<str> = std::sync::Arc::from("in.yaml");
        let var = |i: usize, value: String, line: usize| EnvVar {
            name: format!("V{i}"),
            source: EnvSource::Literal(value),
            origin: Origin::new(&file, line as u32),
        };
        let mut env: Vec<EnvVar> = (0..n).map(|i| var(i, format!("a{i}"), i)).collect();
        env.extend((0..n).map(|i| var(i, format!("b{i}"), n + i)));
        env.push(var(n, "$(V7)".into(), 2 * n));
        let built = environment(&Inventory::default(), "shop", &container(env));
        assert_eq!(built.len(), n + 1);
        for i in [0, 7, n - 1] {
            assert_eq!(built[i].name, format!("V{i}"));
            assert_eq!(built[i].value.as_deref(), Some(format!("b{i}").as_str()));
            assert_eq!(built[i].origin.line, (n + i) as u32);
        }
        assert_eq!(built[n].value.as_deref(), Some("b7"));
    }
}
