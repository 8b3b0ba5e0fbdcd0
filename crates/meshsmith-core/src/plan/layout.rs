//! [`Plan`] + the configuration -> the plan's files: one folder per step (and per rollback
//! that applies something) holding copies of the objects it applies and a
//! `kustomization.yaml` listing them, plus `plan.json` and `ROLLOUT.md`.
//!
//! Copies rather than references: the kustomize inside older kubectl (2.0.3 in kubectl 1.20)
//! refuses files outside the kustomization's folder ("security; file ... is not in or below")
//! and reads only files under `resources:`. Each copy is written from the same object as the
//! configuration (as generated, or as a person edited its file), with the same header and
//! hash scheme, changed only where its variant says (PERMISSIVE mode, dry-run annotation).
//! Pure: paths and contents, sorted.

use super::source::{ConfigObject, RolloutConfig};
use crate::generate::yaml::to_yaml;
use crate::generate::Header;
use crate::model::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use crate::model::DRY_RUN_ANNOTATION;
/// Annotation saying a copy is a transitional state of the rollout.
pub const STAGE_ANNOTATION: &str = "meshsmith.dev/rollout-stage";

/// A configuration's objects by (kind, namespace, name); the first of a name wins.
pub type ByName<'a> = HashMap<(&'static str, &'a str, &'a str), ConfigObject<'a>>;

pub fn by_name<'a>(config: &'a RolloutConfig) -> ByName<'a> {
    let mut index = ByName::new();
    for r in config.objects() {
        index
            .entry((r.kind().as_str(), r.namespace(), r.name()))
            .or_insert(r);
    }
    index
}

fn set_annotation(object: &mut Value, key: &str, value: &str) {
    let annotations = &mut object["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[key] = Value::String(value.to_string());
}

/// The object a reference names, changed as its variant says; `None` if the configuration
/// has no such object.
pub fn materialize(index: &ByName, r: &ResourceRef) -> Option<Value> {
    let found = index.get(&(r.kind.as_str(), r.namespace.as_str(), r.name.as_str()))?;
    let mut object = found.value();
    match (r.variant, found.kind()) {
        (Variant::Permissive, Kind::PeerAuthentication)
            if object["spec"]["mtls"]["mode"].as_str() != Some("PERMISSIVE") =>
        {
            object["spec"]["mtls"]["mode"] = json!("PERMISSIVE");
            set_annotation(
                &mut object,
                STAGE_ANNOTATION,
                "PERMISSIVE until every caller has a sidecar",
            );
        }
        (Variant::DryRun, Kind::AuthorizationPolicy) => {
            set_annotation(&mut object, DRY_RUN_ANNOTATION, "true");
        }
        _ => {}
    }
    Some(object)
}

/// Every file of the plan, relative to the output folder, sorted by path, from the
/// configuration as generated.
pub fn layout(plan: &Plan, config: &MeshConfig, header: &Header) -> Vec<(PathBuf, String)> {
    layout_from(plan, &RolloutConfig::generated(config), header)
}

/// Every file of the plan, relative to the output folder, sorted by path.
pub fn layout_from(plan: &Plan, config: &RolloutConfig, header: &Header) -> Vec<(PathBuf, String)> {
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let refs = plan.phases.iter().flat_map(|p| &p.steps).flat_map(|s| {
        s.resources.iter().map(|r| (s.id.clone(), r)).chain(
            s.rollback
                .folder
                .iter()
                .flat_map(|f| s.rollback.resources.iter().map(move |r| (f.clone(), r))),
        )
    });
    let index = by_name(config);
    for (folder, r) in refs {
        let Some(object) = materialize(&index, r) else {
            continue;
        };
        let Some(name) = r.file.strip_prefix(&format!("{folder}/")) else {
            continue;
        };
        files.insert(PathBuf::from(&r.file), header.file(&to_yaml(&object)));
        folders.entry(folder).or_default().push(name.to_string());
    }
    for (folder, mut names) in folders {
        names.sort();
        names.dedup();
        let body = to_yaml(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": names,
        }));
        files.insert(
            PathBuf::from(folder).join("kustomization.yaml"),
            header.file(&body),
        );
    }
    files.insert(PathBuf::from("plan.json"), plan_json(plan, header));
    files.insert(
        PathBuf::from("ROLLOUT.md"),
        header.file(&super::rollout_markdown(plan)),
    );
    files.into_iter().collect()
}

/// `plan.json`: the plan, pretty-printed, headed by a `generated` key.
pub fn plan_json(plan: &Plan, header: &Header) -> String {
    // Plain data of strings, numbers and lists: serializing it cannot fail.
    let text = serde_json::to_string_pretty(plan).unwrap_or_else(|_| "{\n}".to_string());
    header.json_file(&format!("{text}\n"))
}

/// Why `plan.json` text is not a plan this meshsmith reads, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlanError {
    /// 1-based line of the problem in the text.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ReadPlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ReadPlanError {}

/// A plan read back from `plan.json` text (the `generated` key is ignored).
pub fn read_plan(text: &str) -> Result<Plan, ReadPlanError> {
    let plan: Plan = serde_json::from_str(text).map_err(|e| ReadPlanError {
        line: e.line().max(1),
        message: format!("column {}: {e}", e.column()),
    })?;
    if plan.format != PLAN_FORMAT {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("\"format\""))
            .map_or(1, |i| i + 1);
        return Err(ReadPlanError {
            line,
            message: format!(
                "plan format {} is not the one this meshsmith reads ({PLAN_FORMAT})",
                plan.format
            ),
        });
    }
    Ok(plan)
}
