//! Files, folders and standard input -> Kubernetes objects that remember their file and line.
//!
//! In: paths (a file, a folder read recursively for `*.yaml`, `*.yml`, `*.json`, or `-`).
//! Out: [`Loaded`]: the objects in a stable order, the source texts (for snippets), and notes
//! about documents that are not Kubernetes objects. Every input problem is collected, so a
//! person sees all of them at once; any problem means the caller must not act on the rest.
//!
//! Limits (see [`Limits`]) are refused with an error naming the file and line.

mod mapping;
pub mod traffic;
mod tree;
mod validate;
mod walk;

use crate::model::Note;
use crate::model::{Node, NoteLevel, Object, Origin, SourceId, Sources, SKIPPED};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use mapping::Repeat;
pub use tree::{each_document, parse_documents, Document, TreeError};

/// What the note on a key written twice in one mapping says, so `check` can report it.
pub const DUPLICATE_KEY: &str = "is already defined on line";

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
    /// A folder that is not read where another input's folder holds it: the folder a
    /// command writes into, so that what it wrote is never read back as manifests.
    Skip(PathBuf),
}

impl Input {
    /// `-` means standard input.
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// The largest inputs meshsmith accepts. Each is refused with an error, never truncated.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes in one file (or standard input).
    pub max_file_bytes: u64,
    /// Bytes over all inputs together.
    pub max_total_bytes: u64,
    /// Documents in one file.
    pub max_documents: usize,
    /// Nesting of mappings and sequences.
    pub max_depth: usize,
    /// Nodes that aliases may copy in one file (stops "billion laughs" documents).
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 * 1024 * 1024,
            max_total_bytes: 2 * 1024 * 1024 * 1024,
            max_documents: 1_000_000,
            max_depth: 128,
            max_alias_nodes: 1_000_000,
        }
    }
}

/// One input problem. Every variant names the file; those found inside a file, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist.
    #[error("{path}: no such file or folder")]
    NotFound { path: String },
    /// The operating system refused to read it.
    #[error("{file}: cannot read: {message}")]
    ReadFile { file: String, message: String },
    /// Bigger than [`Limits::max_file_bytes`] (or all inputs over `max_total_bytes`).
    #[error("{file}: {bytes} bytes is more than the limit of {limit} bytes; split the input or raise the limit")]
    TooLarge {
        file: String,
        bytes: u64,
        limit: u64,
    },
    /// Not valid UTF-8.
    #[error("{file}:{line}: not valid UTF-8 text (YAML and JSON must be UTF-8)")]
    NotUtf8 { file: String, line: u32 },
    /// The YAML or JSON does not parse.
    #[error("{file}:{line}:{col}: syntax error: {message}")]
    Syntax {
        file: String,
        line: u32,
        col: u32,
        message: String,
    },
    /// Nested deeper than [`Limits::max_depth`].
    #[error("{file}:{line}: nested more than {limit} levels deep")]
    TooDeep {
        file: String,
        line: u32,
        limit: usize,
    },
    /// Aliases would copy more than [`Limits::max_alias_nodes`] nodes.
    #[error("{file}:{line}: aliases expand to more than {limit} nodes (an alias bomb?)")]
    AliasBudget {
        file: String,
        line: u32,
        limit: usize,
    },
    /// An alias names an anchor that was never defined.
    #[error("{file}:{line}: alias refers to an unknown anchor")]
    UnknownAlias { file: String, line: u32 },
    /// More documents than [`Limits::max_documents`].
    #[error("{file}:{line}: more than {limit} documents in one file")]
    TooManyDocuments {
        file: String,
        line: u32,
        limit: usize,
    },
    /// A mapping key that is itself a mapping or a sequence.
    #[error("{file}:{line}: mapping keys must be plain text")]
    ComplexKey { file: String, line: u32 },
    /// An object the Kubernetes API server would refuse (a name that is not a DNS name, a
    /// workload without containers, a port out of range or written as a string).
    #[error("{file}:{line}: {message}; `kubectl apply` would refuse it")]
    Invalid {
        file: String,
        line: u32,
        message: String,
    },
    /// A Helm chart's or Go template's source, not manifests.
    #[error("{file}:{line}: this is a template (`{{{{ ... }}}}`), not manifests; render it first, e.g. `helm template RELEASE CHART | meshsmith map -` or `kustomize build DIR | meshsmith map -`")]
    Template { file: String, line: u32 },
}

impl LoadError {
    fn from_tree(file: &str, e: TreeError) -> Self {
        let file = file.to_string();
        match e {
            TreeError::Syntax { line, col, message } => Self::Syntax {
                file,
                line,
                col,
                message,
            },
            TreeError::TooDeep { line, limit } => Self::TooDeep { file, line, limit },
            TreeError::AliasBudget { line, limit } => Self::AliasBudget { file, line, limit },
            TreeError::UnknownAlias { line } => Self::UnknownAlias { file, line },
            TreeError::TooManyDocuments { line, limit } => {
                Self::TooManyDocuments { file, line, limit }
            }
            TreeError::ComplexKey { line } => Self::ComplexKey { file, line },
        }
    }
}

/// All problems found in some inputs, in input order: one `error: ...` line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<E> {
    pub errors: Vec<E>,
}

impl<E: std::fmt::Display> std::fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl<E: std::fmt::Display + std::fmt::Debug> std::error::Error for Failure<E> {}

/// All problems found in the manifests.
pub type LoadFailure = Failure<LoadError>;

/// What was read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub objects: Vec<Object>,
    /// Documents skipped because they are not Kubernetes objects.
    pub notes: Vec<Note>,
    /// Total bytes and documents read, for summaries and benchmarks.
    pub bytes: u64,
    pub documents: usize,
}

/// What [`load_each`] read: the sources, and what the visitor made of each file's objects.
#[derive(Debug)]
pub struct LoadedParts<T> {
    pub sources: Sources,
    pub parts: Vec<T>,
    pub notes: Vec<Note>,
    pub bytes: u64,
    pub documents: usize,
    pub objects: usize,
}

/// One file's size, its text when kept, and what parsing it gave.
type FileResult<T> = (u64, Option<Arc<str>>, Result<ParsedPart<T>, LoadError>);

struct ParsedPart<T> {
    /// What the visitor made of each batch of the file's objects, in order.
    parts: Vec<T>,
    notes: Vec<Note>,
    invalid: Vec<LoadError>,
    documents: usize,
    objects: usize,
}

/// Reads every input. Any problem in any file fails the whole load, listing all problems.
pub fn load(inputs: &[Input], limits: &Limits) -> Result<Loaded, LoadFailure> {
    let read = load_each(inputs, limits, |objects| objects)?;
    Ok(Loaded {
        sources: read.sources,
        objects: read.parts.into_iter().flatten().collect(),
        notes: read.notes,
        bytes: read.bytes,
        documents: read.documents,
    })
}

/// Like [`load`], but hands each file's objects to `visit` as soon as the file is parsed, on
/// the thread that parsed it, so a caller that keeps only what it extracts never holds every
/// document tree at once. Parts come back in input order.
pub fn load_each<T: Send>(
    inputs: &[Input],
    limits: &Limits,
    visit: impl Fn(Vec<Object>) -> T + Sync,
) -> Result<LoadedParts<T>, LoadFailure> {
    load_parts(inputs, limits, true, visit)
}

/// Like [`load_each`] for callers that show few or no source lines: each file's text is let
/// go as soon as it is parsed, so the sources keep names only and at most one text per
/// thread is held at a time. Standard input's text is kept, as it cannot be read again.
pub fn load_each_without_text<T: Send>(
    inputs: &[Input],
    limits: &Limits,
    visit: impl Fn(Vec<Object>) -> T + Sync,
) -> Result<LoadedParts<T>, LoadFailure> {
    load_parts(inputs, limits, false, visit)
}

fn load_parts<T: Send>(
    inputs: &[Input],
    limits: &Limits,
    keep_text: bool,
    visit: impl Fn(Vec<Object>) -> T + Sync,
) -> Result<LoadedParts<T>, LoadFailure> {
    let mut errors = Vec::new();
    let mut files: Vec<(String, FileSource)> = Vec::new();
    let skip = walk::skipped(inputs);
    for input in inputs {
        match input {
            Input::Stdin => files.push(("<stdin>".to_string(), FileSource::Stdin)),
            Input::Path(path) => collect_files(path, &skip, &mut files, &mut errors),
            Input::Skip(_) => {}
        }
    }
    // The total is checked before anything is read, from the files' sizes; standard input's
    // size is only known once read, so it is added afterwards.
    let mut total = 0u64;
    for (i, (name, source)) in files.iter().enumerate() {
        if let FileSource::File(path) = source {
            total += std::fs::metadata(path).map_or(0, |m| m.len());
            if total > limits.max_total_bytes {
                errors.push(LoadError::TooLarge {
                    file: name.clone(),
                    bytes: total,
                    limit: limits.max_total_bytes,
                });
                files.truncate(i);
                break;
            }
        }
    }
    // Source ids are positions in `files`: every file becomes a source, in order.
    let parsed: Vec<FileResult<T>> = files
        .par_iter()
        .enumerate()
        .map(|(id, (name, source))| {
            let text = match read_text(name, source, limits) {
                Ok(text) => text,
                Err(e) => return (0, None, Err(e)),
            };
            let bytes = text.len() as u64;
            // Nearly every file is one batch: room for one part, not the four a first push
            // reserves (a generated configuration is tens of thousands of one-object files,
            // and a part can be a whole inventory's lists).
            let mut parts = Vec::with_capacity(1);
            let mut on_batch = |mut objects: Vec<Object>| {
                for o in &mut objects {
                    o.source = id as SourceId;
                }
                parts.push(visit(objects));
            };
            let part = parse_file(name, &text, limits, &mut on_batch).map(|file| ParsedPart {
                parts: std::mem::take(&mut parts),
                notes: file.notes,
                invalid: file.invalid,
                documents: file.documents,
                objects: file.count,
            });
            // Standard input cannot be read again, so its text is always kept.
            let keep = keep_text || matches!(source, FileSource::Stdin);
            (bytes, keep.then_some(text), part)
        })
        .collect();
    let mut out = LoadedParts {
        sources: Sources::default(),
        parts: Vec::with_capacity(files.len()),
        notes: Vec::new(),
        bytes: 0,
        documents: 0,
        objects: 0,
    };
    // Files whose text was let go share one empty text.
    let no_text: Arc<str> = Arc::from("");
    for ((name, source), (bytes, text, result)) in files.iter().zip(parsed) {
        out.bytes += bytes;
        if matches!(source, FileSource::Stdin) {
            total += bytes;
            if total > limits.max_total_bytes {
                errors.push(LoadError::TooLarge {
                    file: name.clone(),
                    bytes: total,
                    limit: limits.max_total_bytes,
                });
            }
        }
        out.sources
            .add(name, text.unwrap_or_else(|| no_text.clone()));
        match result {
            Ok(parsed) => {
                errors.extend(parsed.invalid);
                out.objects += parsed.objects;
                out.documents += parsed.documents;
                out.parts.extend(parsed.parts);
                out.notes.extend(parsed.notes);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(LoadFailure { errors })
    }
}

/// Parses one text already in memory (standard input, tests, fuzzing).
pub fn load_text(name: &str, text: &str, limits: &Limits) -> Result<Loaded, LoadFailure> {
    let mut objects = Vec::new();
    let mut keep = |batch: Vec<Object>| objects.extend(batch);
    let mut file =
        parse_file(name, text, limits, &mut keep).map_err(|e| LoadFailure { errors: vec![e] })?;
    if !file.invalid.is_empty() {
        return Err(LoadFailure {
            errors: std::mem::take(&mut file.invalid),
        });
    }
    let mut loaded = Loaded::default();
    let id = loaded.sources.add(name, Arc::from(text));
    loaded.bytes = text.len() as u64;
    loaded.documents = file.documents;
    loaded.objects = objects
        .into_iter()
        .map(|mut o| {
            o.source = id;
            o
        })
        .collect();
    loaded.notes = file.notes;
    Ok(loaded)
}

/// Checks bytes for UTF-8 and parses them, as [`load`] does for a file.
pub fn load_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Result<Loaded, LoadFailure> {
    let text = decode(name, bytes.to_vec()).map_err(|e| LoadFailure { errors: vec![e] })?;
    load_text(name, &text, limits)
}

enum FileSource {
    Stdin,
    File(PathBuf),
}

fn collect_files(
    path: &Path,
    skip: &[PathBuf],
    files: &mut Vec<(String, FileSource)>,
    errors: &mut Vec<LoadError>,
) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let walk = walk::Walk {
        keep: &has_manifest_extension,
        skip,
    };
    walk.walk(path, &mut found, &mut problems);
    files.extend(
        found
            .into_iter()
            .map(|(name, p)| (name, FileSource::File(p))),
    );
    errors.extend(problems.into_iter().map(|p| match p {
        walk::WalkProblem::NotFound { path } => LoadError::NotFound { path },
        walk::WalkProblem::Unreadable { file, message } => LoadError::ReadFile { file, message },
    }));
}

fn has_manifest_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")
}

fn read_text(name: &str, source: &FileSource, limits: &Limits) -> Result<Arc<str>, LoadError> {
    let too_large = |bytes| LoadError::TooLarge {
        file: name.to_string(),
        bytes,
        limit: limits.max_file_bytes,
    };
    let read_err = |e: std::io::Error| LoadError::ReadFile {
        file: name.to_string(),
        message: e.to_string(),
    };
    let mut bytes = Vec::new();
    match source {
        FileSource::Stdin => {
            std::io::stdin()
                .lock()
                .take(limits.max_file_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
        }
        FileSource::File(path) => {
            let file = std::fs::File::open(path).map_err(read_err)?;
            let len = file.metadata().map_err(read_err)?.len();
            if len > limits.max_file_bytes {
                return Err(too_large(len));
            }
            file.take(limits.max_file_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
        }
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    decode(name, bytes).map(Arc::from)
}

fn decode(name: &str, mut bytes: Vec<u8>) -> Result<String, LoadError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        LoadError::NotUtf8 {
            file: name.to_string(),
            line: line as u32,
        }
    })
}

/// The first line of a Helm template: an action that reads the chart's values, release or
/// capabilities, or includes a named template. Go templates inside a ConfigMap's data (an
/// alerting template, say) use none of these and load as the text they are.
fn helm_template_line(text: &str) -> Option<u32> {
    if !text.contains("{{") {
        return None;
    }
    const HELM: [&str; 6] = [
        ".Values",
        ".Release.",
        ".Chart.",
        ".Capabilities.",
        "include \"",
        "tpl ",
    ];
    text.lines().enumerate().find_map(|(i, line)| {
        let action = line.split_once("{{").map(|(_, rest)| rest)?;
        HELM.iter()
            .any(|h| action.contains(h))
            .then_some(i as u32 + 1)
    })
}

struct ParsedFile {
    /// Objects parsed and not yet handed on.
    objects: Vec<Object>,
    notes: Vec<Note>,
    /// Objects the API server would refuse: each makes the whole input unusable.
    invalid: Vec<LoadError>,
    documents: usize,
    /// Objects read in all.
    count: usize,
}

/// Objects handed on at a time while a file is parsed: the trees of at most this many
/// objects are alive at once, however large the file.
const BATCH: usize = 256;

/// Parses one file, handing its objects to `on_batch` a batch at a time as documents complete.
fn parse_file(
    name: &str,
    text: &str,
    limits: &Limits,
    on_batch: &mut dyn FnMut(Vec<Object>),
) -> Result<ParsedFile, LoadError> {
    let template = |line| LoadError::Template {
        file: name.to_string(),
        line,
    };
    if let Some(line) = helm_template_line(text) {
        return Err(template(line));
    }
    let file: Arc<str> = Arc::from(name);
    let mut parsed = ParsedFile {
        objects: Vec::new(),
        notes: Vec::new(),
        invalid: Vec::new(),
        documents: 0,
        count: 0,
    };
    let read = each_document(text, limits, |doc| {
        for Repeat {
            line,
            key,
            first_line,
        } in &doc.duplicate_keys
        {
            parsed.notes.push(Note {
                origin: Origin::new(&file, *line),
                message: format!(
                    "key `{key}` {DUPLICATE_KEY} {first_line}; the later value is used (as kubectl does)"
                ),
                level: NoteLevel::Warning,
            });
        }
        collect_objects(&file, doc.root, doc.line, &mut parsed);
        if parsed.objects.len() >= BATCH {
            parsed.count += parsed.objects.len();
            on_batch(std::mem::take(&mut parsed.objects));
        }
    });
    parsed.documents = read.map_err(|e| {
        // A template action where the YAML broke: say so rather than how the YAML broke.
        let line = e.line();
        let at = text
            .lines()
            .nth((line as usize).saturating_sub(1))
            .unwrap_or("");
        if at.contains("{{") {
            template(line)
        } else {
            LoadError::from_tree(name, e)
        }
    })?;
    parsed.count += parsed.objects.len();
    on_batch(std::mem::take(&mut parsed.objects));
    Ok(parsed)
}

fn collect_objects(file: &Arc<str>, root: Node, doc_line: u32, out: &mut ParsedFile) {
    let skip = |out: &mut ParsedFile, line: u32, why: &str| {
        out.notes.push(Note {
            origin: Origin::new(file, line),
            message: why.to_string(),
            level: NoteLevel::Info,
        });
    };
    if root.is_null() {
        skip(out, doc_line, "empty document skipped");
        return;
    }
    // What is left out is a warning every command shows, so that no part of the input is
    // dropped without a word: kubectl would refuse a list or a plain value, and a
    // kustomization or a chart is not applied at all. A mapping with no sign of being an
    // object (a merge patch, a values file) is only noted.
    let left_out = |out: &mut ParsedFile, line: u32, what: &str, level: NoteLevel| {
        out.notes.push(Note {
            origin: Origin::new(file, line),
            message: format!("{SKIPPED}not a Kubernetes object ({what})"),
            level,
        });
    };
    if !root.is_map() {
        let what = "a list or a plain value, which `kubectl apply` refuses";
        left_out(out, root.line, what, NoteLevel::Warning);
        return;
    }
    let kind = root.at("kind").as_str().unwrap_or("").to_string();
    let api_version = root.at("apiVersion").as_str().unwrap_or("").to_string();
    if let Some((what, level)) = not_an_object(&root, &kind, &api_version) {
        left_out(out, root.line, what, level);
        return;
    }
    if kind.is_empty() && api_version.is_empty() {
        let what = "a mapping without apiVersion and kind";
        left_out(out, root.line, what, NoteLevel::Info);
        return;
    }
    if kind == "List" || (kind.ends_with("List") && root.get("items").is_some()) {
        let line = root.line;
        let Value::Map(entries) = root.value else {
            return;
        };
        let items = entries
            .into_vec()
            .into_iter()
            .find(|(k, _)| k == "items")
            .map(|(_, v)| v);
        match items.map(|n| n.value) {
            Some(Value::Seq(items)) => {
                for item in items {
                    let line = item.line;
                    collect_objects(file, item, line, out);
                }
            }
            _ => skip(out, line, "empty List skipped"),
        }
        return;
    }
    // Anything else is an object: one the API server cannot take without its apiVersion,
    // kind and name is an error, as `kubectl apply` makes it.
    if let Some(problem) = validate::identity(file, &root) {
        out.invalid.push(problem);
        return;
    }
    let name = root.path(&["metadata", "name"]).as_str();
    let name = name.unwrap_or_default().to_string();
    // `namespace: ""` is no namespace, as the API server reads it.
    let namespace = root
        .path(&["metadata", "namespace"])
        .as_str()
        .filter(|ns| !ns.is_empty())
        .map(str::to_string);
    out.invalid.extend(validate::object(file, &kind, &root));
    out.objects.push(Object {
        api_version,
        kind,
        name,
        namespace,
        source: 0,
        file: file.clone(),
        line: root.line,
        doc: root,
    });
}

/// What a mapping is when it is a file of a known tool, not meant for the API server (a
/// kustomization, with or without its own apiVersion and kind, or a Helm chart), and how
/// loud leaving it out is. A kustomization that only lists files changes nothing they say
/// (meshsmith reads a folder's files itself, as its own output's kustomizations are read
/// back); one that patches, generates or renames does.
fn not_an_object(root: &Node, kind: &str, api_version: &str) -> Option<(&'static str, NoteLevel)> {
    let untyped = kind.is_empty() || api_version.is_empty();
    if api_version.starts_with("kustomize.config.k8s.io/")
        || (untyped && (root.get("resources").is_some() || root.get("bases").is_some()))
    {
        return Some(if lists_only(root) {
            ("a kustomization", NoteLevel::Info)
        } else {
            (
                "a kustomization that changes what its files say: give meshsmith what \
                 `kubectl kustomize` renders from it",
                NoteLevel::Warning,
            )
        });
    }
    let chart = kind.is_empty() && root.get("name").is_some() && root.get("version").is_some();
    chart.then_some(("a Helm chart or values file", NoteLevel::Warning))
}

/// A kustomization that lists local files and folders and does nothing else to them: what
/// it builds is what they say.
fn lists_only(root: &Node) -> bool {
    let Value::Map(entries) = &root.value else {
        return false;
    };
    entries.iter().all(|(key, value)| match key.as_str() {
        "apiVersion" | "kind" | "metadata" => true,
        "resources" => value.as_seq().iter().all(|r| {
            r.as_str()
                .is_some_and(|p| !p.contains("://") && !p.starts_with("github.com/"))
        }),
        _ => false,
    })
}

use crate::model::Value;

#[cfg(test)]
mod tests;
