//! One traffic file -> its calls: decides from the first line whether the file is one JSON
//! document (a Prometheus answer, a Kiali graph) or lines (access logs, proxy logs,
//! Prometheus exposition text), and hands it to the matching reader with a [`FileContext`]
//! that collects calls, problems and the file's summary.

use super::aggregate::{Aggregate, CallRef, Seen};
use super::{document, lines, FileResult, TrafficError, TrafficLimits};
use crate::model::{CallCounts, Origin, TrafficFormat, TrafficSource};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use std::cell::Cell;
use std::io::{BufRead, Cursor, Read};
use std::sync::Arc;

/// Read buffer of each file.
pub(crate) const BUFFER: usize = 64 * 1024;

/// What the readers of one file share.
pub(crate) struct FileContext {
    pub file: Arc<str>,
    pub limits: TrafficLimits,
    pub calls: Aggregate,
    pub errors: Vec<TrafficError>,
    /// The format the file turned out to be in, once a line or element said.
    pub format: Option<TrafficFormat>,
    /// Lines (or JSON elements) read, and how many of them were calls.
    pub lines: u64,
    pub call_lines: u64,
    pub bytes: u64,
    /// Set once the aggregate is full; readers stop.
    pub full: bool,
    /// In metrics mode ([`super::read_metrics`]), every Prometheus series as read, in place
    /// of calls.
    pub samples: Option<Vec<crate::model::MetricSample>>,
}

impl FileContext {
    pub fn name(&self) -> String {
        self.file.to_string()
    }

    pub fn error(&mut self, error: TrafficError) {
        self.errors.push(error);
    }

    /// Records one sighting of a call on `line`; the detail is written only for a new call.
    pub fn record(
        &mut self,
        call: &CallRef<'_>,
        counts: &CallCounts,
        line: u64,
        detail: &dyn Fn() -> String,
    ) {
        if self.full {
            return;
        }
        self.call_lines += 1;
        let file = &self.file;
        let origin = || Origin::new(file, u32::try_from(line).unwrap_or(u32::MAX));
        let seen = Seen {
            origin: &origin,
            detail,
        };
        if self.calls.add(call, counts, seen).is_err() {
            self.full = true;
            let limit = self.limits.max_observations;
            self.errors.push(TrafficError::TooManyCalls {
                file: self.name(),
                limit,
            });
        }
    }

    /// Notes the file's format: the first one seen wins.
    pub fn saw(&mut self, format: TrafficFormat) {
        self.format.get_or_insert(format);
    }
}

/// Reads one file (or standard input) to the end: its calls, or with `metrics` every
/// Prometheus series instead.
pub(crate) fn read_file_as(
    file: &Arc<str>,
    mut reader: impl BufRead,
    limits: &TrafficLimits,
    metrics: bool,
) -> FileResult {
    let mut ctx = FileContext {
        file: file.clone(),
        limits: limits.clone(),
        calls: Aggregate::new(limits.max_observations),
        errors: Vec::new(),
        format: None,
        lines: 0,
        call_lines: 0,
        bytes: 0,
        full: false,
        samples: metrics.then(Vec::new),
    };
    match first_lines(&mut reader, limits.max_line_bytes) {
        Err(e) => ctx.error(TrafficError::ReadFile {
            file: ctx.name(),
            message: e.to_string(),
        }),
        Ok((head, shape)) => {
            let whole = Cursor::new(head).chain(reader);
            match shape {
                Shape::Document => document::read(&mut ctx, whole),
                Shape::Lines => lines::read(&mut ctx, whole),
            }
        }
    }
    let source = TrafficSource {
        name: ctx.name(),
        format: ctx.format.unwrap_or(TrafficFormat::AccessLogText),
        lines: ctx.lines,
        calls: ctx.call_lines,
        bytes: ctx.bytes,
    };
    FileResult {
        calls: ctx.calls,
        source: Some(source),
        errors: ctx.errors,
        samples: ctx.samples.unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Document,
    Lines,
}

/// Reads the leading blank lines and the first other line (each bounded), and decides.
fn first_lines(reader: &mut impl BufRead, limit: usize) -> std::io::Result<(Vec<u8>, Shape)> {
    let mut head = Vec::new();
    for _ in 0..64 {
        let start = head.len();
        let n = reader
            .by_ref()
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut head)?;
        let line = &head[start..];
        if n == 0 {
            break;
        }
        let text = trim_bom(line).trim_ascii();
        if text.is_empty() {
            continue;
        }
        let long = !line.ends_with(b"\n") && n > limit;
        let shape = shape_of(text, long);
        return Ok((head, shape));
    }
    Ok((head, Shape::Lines))
}

fn trim_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// A file is one JSON document when its first line opens an object that does not close on
/// that line, or one that names a document's keys, or an array of objects; otherwise lines
/// (a JSON access log is one flat object per line).
fn shape_of(first: &[u8], long: bool) -> Shape {
    match first.first() {
        Some(b'{') => {
            if long {
                return Shape::Document;
            }
            match serde_json::from_slice::<TopKeys>(first) {
                Ok(keys) if keys.document => Shape::Document,
                Ok(_) => Shape::Lines,
                Err(e) if e.is_eof() => Shape::Document,
                Err(_) => Shape::Lines,
            }
        }
        Some(b'[') => match first[1..].iter().find(|b| !b.is_ascii_whitespace()) {
            None | Some(b'{' | b']') => Shape::Document,
            Some(_) => Shape::Lines,
        },
        _ => Shape::Lines,
    }
}

/// Whether an object names keys of a Prometheus answer or a Kiali graph.
struct TopKeys {
    document: bool,
}

impl<'de> serde::Deserialize<'de> for TopKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = TopKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
                let mut document = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    document |= matches!(
                        key.as_ref(),
                        "status"
                            | "data"
                            | "resultType"
                            | "result"
                            | "elements"
                            | "nodes"
                            | "edges"
                            | "graphType"
                    );
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(TopKeys { document })
            }
        }
        d.deserialize_map(Keys)
    }
}

/// Where a JSON document's parser is: bytes and newlines consumed, and the bytes since the
/// current element started (bounded, so one element cannot fill memory).
pub(crate) struct Position {
    pub line: Cell<u64>,
    pub bytes: Cell<u64>,
    mark: Cell<u64>,
    limit: u64,
}

impl Position {
    pub fn new(limit: usize) -> Self {
        Position {
            line: Cell::new(1),
            bytes: Cell::new(0),
            mark: Cell::new(0),
            limit: limit as u64,
        }
    }

    /// An element starts here: its bytes are counted from now.
    pub fn mark(&self) {
        self.mark.set(self.bytes.get());
    }

    pub fn line(&self) -> u64 {
        self.line.get()
    }
}

/// The marker of the error [`CountingReader`] returns for an element over the limit.
#[derive(Debug)]
pub(crate) struct ElementTooLong;

impl std::fmt::Display for ElementTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("element too long")
    }
}

impl std::error::Error for ElementTooLong {}

/// A reader that counts what JSON parsing consumes, a byte at a time as it does, from a
/// buffer of its own so that each byte costs a few instructions.
pub(crate) struct CountingReader<'p, R> {
    inner: R,
    buf: Box<[u8]>,
    at: usize,
    filled: usize,
    position: &'p Position,
}

impl<'p, R: BufRead> CountingReader<'p, R> {
    pub fn new(inner: R, position: &'p Position) -> Self {
        CountingReader {
            inner,
            buf: vec![0; BUFFER].into_boxed_slice(),
            at: 0,
            filled: 0,
            position,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.buf)?;
        self.at = 0;
        self.filled = n;
        Ok(())
    }
}

impl<R: BufRead> Read for CountingReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.filled {
            self.refill()?;
        }
        let n = out.len().min(self.filled - self.at);
        let taken = &self.buf[self.at..self.at + n];
        out[..n].copy_from_slice(taken);
        self.at += n;
        let p = self.position;
        let newlines = taken.iter().filter(|&&b| b == b'\n').count() as u64;
        p.line.set(p.line.get() + newlines);
        let bytes = p.bytes.get() + n as u64;
        p.bytes.set(bytes);
        if bytes - p.mark.get() > p.limit {
            return Err(std::io::Error::other(ElementTooLong));
        }
        Ok(n)
    }
}
