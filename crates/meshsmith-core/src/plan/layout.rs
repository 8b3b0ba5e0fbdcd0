//! [`Plan`] + [`MeshConfig`] -> the plan's files: one folder per step (and per rollback that
//! applies something) holding copies of the resources it applies and a `kustomization.yaml`
//! listing them, plus `plan.json` and `ROLLOUT.md`.
//!
//! Copies rather than references: the kustomize inside older kubectl (2.0.3 in kubectl 1.20)
//! refuses files outside the kustomization's folder ("security; file ... is not in or below")
//! and reads only files under `resources:`. Each copy is written from the same resource as
//! the generated tree, with the same header and hash scheme, changed only where its variant
//! says (PERMISSIVE mode, dry-run annotation). Pure: paths and contents, sorted.

use crate::generate::layout::to_value;
use crate::generate::yaml::to_yaml;
use crate::generate::Header;
use crate::model::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use crate::model::DRY_RUN_ANNOTATION;
/// Annotation saying a copy is a transitional state of the rollout.
pub const STAGE_ANNOTATION: &str = "meshsmith.dev/rollout-stage";

/// A configuration's resources by (kind, namespace, name); the first of a name wins.
pub type ByName<'a> = HashMap<(&'a str, &'a str, &'a str), &'a Resource>;

pub fn by_name(config: &MeshConfig) -> ByName<'_> {
    let mut index = ByName::with_capacity(config.resources.len());
    for r in &config.resources {
        index
            .entry((r.kind.as_str(), r.namespace.as_str(), r.name.as_str()))
            .or_insert(r);
    }
    index
}

/// The resource a reference names, changed as its variant says; `None` if the
/// configuration has no such resource.
pub fn materialize(index: &ByName, r: &ResourceRef) -> Option<Resource> {
    let mut res = (*index.get(&(r.kind.as_str(), r.namespace.as_str(), r.name.as_str()))?).clone();
    match (r.variant, &mut res.spec) {
        (Variant::Permissive, Spec::PeerAuthentication(pa)) if pa.mtls.mode != "PERMISSIVE" => {
            pa.mtls.mode = "PERMISSIVE".to_string();
            res.annotations.insert(
                STAGE_ANNOTATION.to_string(),
                "PERMISSIVE until every caller has a sidecar".to_string(),
            );
        }
        (Variant::DryRun, Spec::AuthorizationPolicy(_)) => {
            res.annotations
                .insert(DRY_RUN_ANNOTATION.to_string(), "true".to_string());
        }
        _ => {}
    }
    Some(res)
}

/// Every file of the plan, relative to the output folder, sorted by path.
pub fn layout(plan: &Plan, config: &MeshConfig, header: &Header) -> Vec<(PathBuf, String)> {
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
        let Some(res) = materialize(&index, r) else {
            continue;
        };
        let Some(name) = r.file.strip_prefix(&format!("{folder}/")) else {
            continue;
        };
        files.insert(
            PathBuf::from(&r.file),
            header.file(&to_yaml(&to_value(&res))),
        );
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
