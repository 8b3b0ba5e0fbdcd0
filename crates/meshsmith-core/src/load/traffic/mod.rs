//! Traffic files -> [`Traffic`]: the calls the running system shows, read streaming.
//!
//! ```text
//!  file ─ sniff ─┬─ one JSON document ──▶ document: Prometheus answer │ Kiali graph
//!                └─ lines ──────────────▶ lines: access log (text, JSON), proxy log (dry-run),
//!                                               Prometheus exposition, noise
//!                        each call ──▶ Aggregate (one entry per distinct call) ──▶ Traffic
//! ```
//!
//! In: `--traffic` paths (files, folders read recursively, `-` for standard input). The format
//! of each file is detected from its content, never from its name. Out: one [`Observation`]
//! per distinct call with its counts and the file and line that first showed it, sorted.
//! Memory grows with the number of distinct calls, never with the length of a log: lines are
//! read one at a time, JSON documents are folded element by element as they are parsed.
//!
//! Limits: a line (or one element of a JSON document) of at most [`MAX_LINE_BYTES`], at most
//! [`MAX_OBSERVATIONS`] distinct calls. Every problem names the file and the line; all the
//! problems of all the files are reported together, and any problem means the caller must
//! not act.

mod access_log;
mod aggregate;
mod document;
mod kiali;
mod lines;
mod names;
mod prometheus;
mod proxy_log;
mod reader;

#[cfg(test)]
mod tests;

use crate::load::{walk, Input, Limits};
use crate::model::{MetricSet, Traffic, TrafficFormat, TrafficSource};
use aggregate::Aggregate;
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The longest line (or JSON element: one series, node or edge) read; longer is refused.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The most distinct calls kept; more is refused rather than truncated.
pub const MAX_OBSERVATIONS: usize = 1_000_000;
/// The most series one file of Prometheus answers may hold for `gate` (labels are kept whole,
/// so this bounds memory to a few hundred megabytes at worst).
pub const MAX_SERIES: usize = 200_000;
/// Problems listed per file before the rest are only counted.
const MAX_ERRORS_PER_FILE: usize = 20;

/// The limits of one read. [`read`] uses the defaults; tests and callers with other needs
/// use [`read_with`].
#[derive(Debug, Clone)]
pub struct TrafficLimits {
    pub max_line_bytes: usize,
    pub max_observations: usize,
}

impl TrafficLimits {
    /// The defaults. Traffic files are never held in memory whole, so the manifest limits on
    /// file sizes do not apply to them.
    pub fn from_limits(_limits: &Limits) -> Self {
        TrafficLimits::default()
    }
}

impl Default for TrafficLimits {
    fn default() -> Self {
        TrafficLimits {
            max_line_bytes: MAX_LINE_BYTES,
            max_observations: MAX_OBSERVATIONS,
        }
    }
}

/// One traffic input problem. Every variant names the file; those found inside a file, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrafficError {
    /// The path does not exist.
    #[error("{path}: no such file or folder")]
    NotFound { path: String },
    /// The operating system refused to read it.
    #[error("{file}: cannot read: {message}")]
    ReadFile { file: String, message: String },
    /// Binary data, or text that is not UTF-8 (a compressed log, say).
    #[error("{file}:{line}: binary data or text that is not UTF-8; traffic files are text (decompress logs first)")]
    NotText { file: String, line: u64 },
    /// A line (or one element of a JSON document) longer than the limit.
    #[error("{file}:{line}: a line longer than {limit} bytes; is this a traffic file?")]
    LineTooLong {
        file: String,
        line: u64,
        limit: usize,
    },
    /// A JSON document (Prometheus answer, Kiali graph) that ends early.
    #[error("{file}:{line}: the JSON ends before the document does (truncated?)")]
    TruncatedJson { file: String, line: u64 },
    /// A JSON document or JSON log line that does not parse.
    #[error("{file}:{line}:{col}: JSON syntax error: {message}")]
    JsonSyntax {
        file: String,
        line: u64,
        col: u64,
        message: String,
    },
    /// No line of the file is in a format meshsmith reads.
    #[error("{file}:{line}: not a traffic format meshsmith reads (Prometheus JSON answer or exposition text, Istio access log, Kiali graph); it starts with: {start}")]
    NotTraffic {
        file: String,
        line: u64,
        start: String,
    },
    /// A JSON document of another kind (neither a Prometheus answer nor a Kiali graph).
    #[error("{file}:{line}: a JSON document that is neither a Prometheus answer nor a Kiali graph ({what})")]
    ForeignJson {
        file: String,
        line: u64,
        what: String,
    },
    /// A Prometheus answer with `"status": "error"`.
    #[error("{file}:{line}: the Prometheus answer is an error: {message}")]
    PrometheusError {
        file: String,
        line: u64,
        message: String,
    },
    /// A Prometheus answer that is not a vector or a matrix.
    #[error("{file}:{line}: a Prometheus answer of type `{result_type}`; query for a vector or a matrix (sum by (...) of the series)")]
    NotSeries {
        file: String,
        line: u64,
        result_type: String,
    },
    /// A series that does not name both ends of the call.
    #[error("{file}:{line}: a metric without the needed labels: {metric} names no {missing}; keep these labels in the query's `by (...)`")]
    MissingLabels {
        file: String,
        line: u64,
        metric: String,
        missing: String,
    },
    /// An access log (or RBAC debug) line that needs its pod when nothing says which pod wrote
    /// the log: outbound entries (the pod is the caller), inbound ones without an Istio SNI.
    #[error("{file}:{line}: a proxy log line that needs the pod that wrote it, but nothing names that pod; save one file per pod (named after the pod) or use `kubectl logs --prefix`")]
    NoPod { file: String, line: u64 },
    /// A Kiali edge that names a node the graph does not have.
    #[error("{file}:{line}: a Kiali edge whose {end} node `{id}` is not in the graph")]
    KialiEdge {
        file: String,
        line: u64,
        end: String,
        id: String,
    },
    /// More distinct calls than [`TrafficLimits::max_observations`].
    #[error("{file}: more than {limit} distinct calls; narrow the query (fewer labels) or split the input")]
    TooManyCalls { file: String, limit: usize },
    /// A file `gate` reads that holds no Prometheus series (an access log, a Kiali graph).
    #[error("{file}: not a Prometheus answer or exposition text; the gate reads the answers of the queries ROLLOUT.md prints")]
    NotPrometheus { file: String },
    /// The problems past [`MAX_ERRORS_PER_FILE`] in one file.
    #[error("{file}: {count} more problems in this file not listed")]
    MoreProblems { file: String, count: usize },
}

/// All problems found in the traffic inputs, in input order.
pub type TrafficFailure = crate::load::Failure<TrafficError>;

/// Reads every traffic input. Any problem in any file fails the whole read, listing all.
pub fn read(inputs: &[Input], limits: &Limits) -> Result<Traffic, TrafficFailure> {
    read_with(inputs, &TrafficLimits::from_limits(limits))
}

/// [`read`] with explicit limits.
pub fn read_with(inputs: &[Input], limits: &TrafficLimits) -> Result<Traffic, TrafficFailure> {
    let (results, errors) = read_files(inputs, limits, false);
    finish(results, errors, limits)
}

/// Reads Prometheus answers (JSON, or exposition text) as they are: every series with its
/// labels, its amount and where it was read, for `gate`. The files, folders and standard input
/// are taken as [`read`] takes them; a file in another traffic format is an error.
pub fn read_metrics(inputs: &[Input], limits: &Limits) -> Result<MetricSet, TrafficFailure> {
    let limits = TrafficLimits::from_limits(limits);
    let (results, mut errors) = read_files(inputs, &limits, true);
    metric_set(results, &mut errors).ok_or(TrafficFailure { errors })
}

/// [`read_metrics`] of one text in memory (tests).
pub fn read_metrics_bytes(name: &str, bytes: &[u8]) -> Result<MetricSet, TrafficFailure> {
    let file: Arc<str> = Arc::from(name);
    let result = reader::read_file_as(&file, bytes, &TrafficLimits::default(), true);
    let mut errors = Vec::new();
    metric_set(vec![result], &mut errors).ok_or(TrafficFailure { errors })
}

fn metric_set(results: Vec<FileResult>, errors: &mut Vec<TrafficError>) -> Option<MetricSet> {
    let mut set = MetricSet::default();
    for result in results {
        errors.extend(result.errors);
        if let Some(source) = result.source {
            let prometheus = matches!(
                source.format,
                TrafficFormat::PrometheusJson | TrafficFormat::PrometheusText
            );
            if !prometheus {
                errors.push(TrafficError::NotPrometheus {
                    file: source.name.clone(),
                });
            }
            set.files.push(source.name);
        }
        set.samples.extend(result.samples);
    }
    set.files.sort();
    errors.is_empty().then_some(set)
}

/// Each input's files, read in parallel, in input order; and the problems finding them.
fn read_files(
    inputs: &[Input],
    limits: &TrafficLimits,
    metrics: bool,
) -> (Vec<FileResult>, Vec<TrafficError>) {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => files.push(("<stdin>".to_string(), None)),
            Input::Path(path) => collect_files(path, &mut files, &mut errors),
            Input::Skip(_) => {}
        }
    }
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|(name, path)| match path {
            None => {
                let stdin = std::io::stdin();
                let reader = std::io::BufReader::with_capacity(reader::BUFFER, stdin.lock());
                read_one(name, reader, limits, metrics)
            }
            Some(path) => match std::fs::File::open(path) {
                Ok(file) => read_one(
                    name,
                    std::io::BufReader::with_capacity(reader::BUFFER, file),
                    limits,
                    metrics,
                ),
                Err(e) => FileResult::failed(TrafficError::ReadFile {
                    file: name.clone(),
                    message: e.to_string(),
                }),
            },
        })
        .collect();
    (results, errors)
}

/// Reads one text already in memory (tests, fuzzing), as [`read`] reads a file of that name.
pub fn read_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Result<Traffic, TrafficFailure> {
    read_bytes_with(name, bytes, &TrafficLimits::from_limits(limits))
}

/// [`read_bytes`] with explicit limits.
pub fn read_bytes_with(
    name: &str,
    bytes: &[u8],
    limits: &TrafficLimits,
) -> Result<Traffic, TrafficFailure> {
    finish(
        vec![read_one(name, bytes, limits, false)],
        Vec::new(),
        limits,
    )
}

/// What reading one file gave: its calls, its summary, its problems.
pub(crate) struct FileResult {
    calls: Aggregate,
    source: Option<TrafficSource>,
    errors: Vec<TrafficError>,
    samples: Vec<crate::model::MetricSample>,
}

impl FileResult {
    fn failed(error: TrafficError) -> Self {
        FileResult {
            calls: Aggregate::new(0),
            source: None,
            errors: vec![error],
            samples: Vec::new(),
        }
    }
}

fn read_one(name: &str, reader: impl BufRead, limits: &TrafficLimits, metrics: bool) -> FileResult {
    let file: Arc<str> = Arc::from(name);
    let mut out = reader::read_file_as(&file, reader, limits, metrics);
    if out.errors.len() > MAX_ERRORS_PER_FILE {
        let count = out.errors.len() - MAX_ERRORS_PER_FILE;
        out.errors.truncate(MAX_ERRORS_PER_FILE);
        out.errors.push(TrafficError::MoreProblems {
            file: name.to_string(),
            count,
        });
    }
    out
}

/// Merges the files' calls in input order and sorts them.
fn finish(
    results: Vec<FileResult>,
    mut errors: Vec<TrafficError>,
    limits: &TrafficLimits,
) -> Result<Traffic, TrafficFailure> {
    let mut all = Aggregate::new(limits.max_observations);
    let mut sources = Vec::new();
    for result in results {
        errors.extend(result.errors);
        if let Some(source) = result.source {
            if all.merge(result.calls).is_err() {
                errors.push(TrafficError::TooManyCalls {
                    file: source.name.clone(),
                    limit: limits.max_observations,
                });
            }
            sources.push(source);
        }
    }
    if !errors.is_empty() {
        return Err(TrafficFailure { errors });
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Traffic {
        observations: all.into_observations(),
        sources,
    })
}

/// Every regular file under `path` whose name does not start with '.', sorted per folder.
fn collect_files(
    path: &Path,
    files: &mut Vec<(String, Option<PathBuf>)>,
    errors: &mut Vec<TrafficError>,
) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    // Every file of a folder: logs are saved under any name (`POD.log`, `POD`, `calls.json`).
    let walk = walk::Walk {
        keep: &|_| true,
        skip: &[],
    };
    walk.walk(path, &mut found, &mut problems);
    files.extend(found.into_iter().map(|(name, p)| (name, Some(p))));
    errors.extend(problems.into_iter().map(|p| match p {
        walk::WalkProblem::NotFound { path } => TrafficError::NotFound { path },
        walk::WalkProblem::Unreadable { file, message } => TrafficError::ReadFile { file, message },
    }));
}
