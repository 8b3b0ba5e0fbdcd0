//! [`Plan`] + the configuration -> the plan's files: one folder per step (and per rollback
//! that applies something) holding copies of the objects it applies and a
//! `kustomization.yaml` listing them, each phase's smoke tests as one script
//! (`phase-N/smoke.sh`, see `smoke_script`), plus `plan.json` and `ROLLOUT.md`.
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
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// The manifests' own object a reference of variant `Original` names, as they hold it.
fn original(config: &RolloutConfig, r: &ResourceRef) -> Option<Value> {
    let found = config
        .replaced()
        .iter()
        .find(|o| o.kind.as_str() == r.kind && o.namespace == r.namespace && o.name == r.name)?;
    serde_json::from_str(&found.original).ok()
}

/// Every file of the plan, relative to the output folder, sorted by path, from the
/// configuration as generated.
pub fn layout(plan: &Plan, config: &MeshConfig, header: &Header) -> Vec<(PathBuf, String)> {
    layout_from(plan, &RolloutConfig::generated(config), header)
}

/// Every file of the plan, relative to the output folder, sorted by path.
pub fn layout_from(plan: &Plan, config: &RolloutConfig, header: &Header) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let _ = layout_each(plan, config, header, |path, text| {
        files.push((path, text));
        Ok::<(), std::convert::Infallible>(())
    });
    files.sort();
    files
}

/// Every file of the plan, relative to the output folder, handed to `sink` one at a time as
/// it is built (the step copies, then each folder's kustomization, each phase's `smoke.sh`,
/// `plan.json` and `ROLLOUT.md`), so no more than one is held; the first error of `sink`
/// stops it.
pub fn layout_each<E>(
    plan: &Plan,
    config: &RolloutConfig,
    header: &Header,
    mut sink: impl FnMut(PathBuf, String) -> Result<(), E>,
) -> Result<(), E> {
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let refs = plan.phases.iter().flat_map(|p| &p.steps).flat_map(|s| {
        s.resources.iter().map(|r| (s.id.as_str(), r)).chain(
            s.rollback
                .folder
                .iter()
                .flat_map(|f| s.rollback.resources.iter().map(move |r| (f.as_str(), r))),
        )
    });
    let index = by_name(config);
    let mut seen: HashSet<&str> = HashSet::new();
    for (folder, r) in refs {
        let Some(name) = r
            .file
            .strip_prefix(folder)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            continue;
        };
        if !seen.insert(r.file.as_str()) {
            continue;
        }
        let object = if r.variant == Variant::Original {
            original(config, r)
        } else {
            materialize(&index, r)
        };
        let Some(object) = object else {
            continue;
        };
        sink(PathBuf::from(&r.file), header.file(&to_yaml(&object)))?;
        folders
            .entry(folder.to_string())
            .or_default()
            .push(name.to_string());
    }
    for (folder, mut names) in folders {
        names.sort();
        names.dedup();
        let body = to_yaml(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": names,
        }));
        sink(
            PathBuf::from(folder).join("kustomization.yaml"),
            header.file(&body),
        )?;
    }
    for phase in &plan.phases {
        if let Some(body) = super::smoke_script::script(phase) {
            sink(
                PathBuf::from(super::smoke_script::path(phase.number)),
                header.file(&body),
            )?;
        }
    }
    sink(PathBuf::from("plan.json"), plan_json(plan, header))?;
    let mut rollout = header.start();
    super::write_rollout_markdown(&mut rollout, plan);
    sink(PathBuf::from("ROLLOUT.md"), header.finish(rollout))
}

/// `plan.json`: the plan, headed by a `generated` key, one entry of a list per line: a
/// resource, an effect, a service of a step, a smoke test each on one line, the plan's
/// outline above them indented as usual. Written once, header included, with no copy of the text.
pub fn plan_json(plan: &Plan, header: &Header) -> String {
    // Measured first, then written into text of exactly that size: grown by doubling, the
    // text of a large plan would be copied from one buffer to the next twice its size, both
    // held at once (64 and 128 MB at 10,000 services), at the highest point of `onboard`.
    let start = header.json_start();
    let mut count = Count(0);
    serialize_body(plan, &mut count);
    let mut text = Vec::with_capacity(start.len() + count.0 + 1);
    text.extend_from_slice(start.as_bytes());
    serialize_body(plan, &mut text);
    text.push(b'\n');
    // serde_json writes UTF-8 and the header is text.
    let text = String::from_utf8(text).unwrap_or_default();
    header.json_finish(text)
}

/// The plan as [`plan_json`] lays it out, less the `{\n` that opens the object (the
/// header's opening takes its place).
fn serialize_body<W: std::io::Write>(plan: &Plan, out: W) {
    let mut body = SkipFirst { out, skip: 2 };
    let mut ser = serde_json::Serializer::with_formatter(&mut body, Outline::default());
    // Plain data of strings, numbers and lists into memory: serializing it cannot fail.
    let _ = serde::Serialize::serialize(plan, &mut ser);
}

/// Counts the bytes written to it.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Drops the first `skip` bytes written (the `{\n` that opens the object: the header's
/// opening takes its place).
struct SkipFirst<W> {
    out: W,
    skip: usize,
}

impl<W: std::io::Write> std::io::Write for SkipFirst<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let dropped = self.skip.min(buf.len());
        self.skip -= dropped;
        self.out.write_all(&buf[dropped..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Objects nested deeper than this are written on one line.
const OUTLINE_DEPTH: usize = 6;

/// Lists whose every entry is written on one line wherever they are: a phase's smoke tests,
/// of which a large plan has tens of thousands.
const ONE_LINE_ENTRIES: &[&str] = &["smoke_tests"];

/// JSON indented by two spaces down to [`OUTLINE_DEPTH`], every object below it on one
/// line (`{"kind": "DestinationRule", "namespace": "shop", ...}`), and so is each entry of
/// the lists [`ONE_LINE_ENTRIES`] names; lists outside such an object keep one entry per
/// line.
#[derive(Default)]
struct Outline {
    depth: usize,
    /// Depth of the outermost one-line object being written, if any.
    flat_from: Option<usize>,
    has_value: bool,
    /// The object key being written, and whether one is.
    key: String,
    in_key: bool,
    /// Whether the value about to be written is that of one of [`ONE_LINE_ENTRIES`].
    entries_next: bool,
    /// Depth of the open list of [`ONE_LINE_ENTRIES`], if any.
    entries_at: Option<usize>,
}

impl Outline {
    fn flat(&self) -> bool {
        self.flat_from.is_some()
    }

    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
        object: bool,
    ) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        let entry = self.entries_at == Some(self.depth - 1);
        if object && self.flat_from.is_none() && (self.depth > OUTLINE_DEPTH || entry) {
            self.flat_from = Some(self.depth);
        }
        if !object && std::mem::take(&mut self.entries_next) {
            self.entries_at = Some(self.depth);
        }
        w.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        let was_flat = self.flat();
        if self.flat_from == Some(self.depth) {
            self.flat_from = None;
        }
        if self.entries_at == Some(self.depth) {
            self.entries_at = None;
        }
        self.depth -= 1;
        if self.has_value && !was_flat {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn entry<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if !first {
            w.write_all(if self.flat() { b", " } else { b"," })?;
        }
        if self.flat() {
            Ok(())
        } else {
            self.newline(w)
        }
    }
}

impl serde_json::ser::Formatter for Outline {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[", false)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.entry(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{", true)
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key.clear();
        self.entry(w, first)
    }

    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.in_key = false;
        self.entries_next = ONE_LINE_ENTRIES.contains(&self.key.as_str());
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        w.write_all(fragment.as_bytes())
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        self.entries_next = false;
        Ok(())
    }
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
