//! A file that is one JSON document -> calls, folded element by element while the document
//! is parsed from the reader: a Prometheus answer (`status`, `data`; or its `data` or
//! `result` alone) or a Kiali graph (`elements` with `nodes` and `edges`; or those alone).
//! Each element's line is the line the parser was on when the element began.

use super::kiali;
use super::names::pod_of_file;
use super::prometheus::{self, json as answer, Series};
use super::reader::{CountingReader, ElementTooLong, FileContext, Position};
use super::TrafficError;
use crate::model::TrafficFormat;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, Read};

/// The message of the error that stops parsing once the file's calls are full.
pub(crate) const STOP: &str = "meshsmith: stop";

/// What parsing a document has found so far.
pub(crate) struct Document<'x> {
    ctx: &'x mut FileContext,
    position: &'x Position,
    file_pod: Option<String>,
    /// A series' labels, reused from one series to the next.
    pub labels: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub result_type: Option<String>,
    /// A `result` whose items are not series (a scalar or a string answer).
    pub not_series: bool,
    pub graph: kiali::Graph,
    kind: Option<TrafficFormat>,
    status: Option<String>,
    error: Option<String>,
}

impl Document<'_> {
    pub fn saw(&mut self, format: TrafficFormat) {
        self.kind.get_or_insert(format);
        self.ctx.saw(format);
    }

    /// An element begins: bounds its size from here and returns its line.
    pub fn element_start(&self) -> u64 {
        self.position.mark();
        self.position.line()
    }

    pub fn lines_read(&mut self, n: u64) {
        self.ctx.lines += n;
    }

    /// The file's calls are full: parsing stops.
    pub fn stopped(&self) -> bool {
        self.ctx.full
    }

    pub fn series(&mut self, series: &Series<'_>, line: u64) {
        let pod = self.file_pod.as_deref();
        prometheus::record(self.ctx, series, pod, TrafficFormat::PrometheusJson, line);
    }

    pub fn ctx(&mut self) -> &mut FileContext {
        self.ctx
    }

    pub fn position(&self) -> &Position {
        self.position
    }
}

/// Parses the whole document from `reader`.
pub(crate) fn read(ctx: &mut FileContext, reader: impl BufRead) {
    let position = Position::new(ctx.limits.max_line_bytes);
    let file_pod = pod_of_file(&ctx.file);
    let mut doc = Document {
        ctx,
        position: &position,
        file_pod,
        labels: Vec::new(),
        result_type: None,
        not_series: false,
        graph: kiali::Graph::default(),
        kind: None,
        status: None,
        error: None,
    };
    let mut counting = CountingReader::new(reader, &position);
    let mut de = serde_json::Deserializer::from_reader(&mut counting);
    let outcome = Top(&mut doc).deserialize(&mut de).and_then(|()| de.end());
    drop(de);
    let failed = outcome.is_err();
    if let Err(e) = outcome {
        // A syntax error with nothing but blanks after it is where the text was cut off.
        let cut = e.is_syntax() && rest_is_blank(&mut counting);
        let limit = doc.ctx.limits.max_line_bytes;
        match error_of(&doc.ctx.name(), e, &position, limit) {
            Some(TrafficError::JsonSyntax {
                file, line, col, ..
            }) if cut => {
                // At column 0 the parser has just read the line's end: the cut is above.
                let line = if col == 0 {
                    line.saturating_sub(1).max(1)
                } else {
                    line
                };
                doc.ctx.error(TrafficError::TruncatedJson { file, line })
            }
            Some(error) => doc.ctx.error(error),
            None => {}
        }
    }
    if !failed {
        finish(&mut doc);
    }
    doc.ctx.bytes = position.bytes.get();
}

/// Whether only whitespace is left to read.
fn rest_is_blank(reader: &mut impl Read) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) if buf[..n].iter().all(u8::is_ascii_whitespace) => continue,
            _ => return false,
        }
    }
}

/// What the whole document showed, checked once it has been read.
fn finish(doc: &mut Document<'_>) {
    let file = doc.ctx.name();
    if doc.status.as_deref() == Some("error") {
        let message = doc.error.take().unwrap_or_else(|| "(no message)".into());
        doc.ctx.error(TrafficError::PrometheusError {
            file,
            line: 1,
            message,
        });
        return;
    }
    match doc.kind {
        None => {
            let what =
                "no `data` or `result` (Prometheus), no `elements`, `nodes` or `edges` (Kiali)";
            doc.ctx.error(TrafficError::ForeignJson {
                file,
                line: 1,
                what: what.into(),
            });
        }
        Some(TrafficFormat::PrometheusJson) => {
            let kind = doc.result_type.as_deref().unwrap_or("vector");
            if doc.not_series || !matches!(kind, "vector" | "matrix") {
                let result_type = kind.to_string();
                doc.ctx.error(TrafficError::NotSeries {
                    file,
                    line: 1,
                    result_type,
                });
            }
        }
        Some(_) => {
            let graph = std::mem::take(&mut doc.graph);
            graph.finish(doc.ctx);
        }
    }
}

fn error_of(
    file: &str,
    e: serde_json::Error,
    position: &Position,
    limit: usize,
) -> Option<TrafficError> {
    let file = file.to_string();
    if e.is_io() {
        let io = std::io::Error::from(e);
        let too_long = io
            .get_ref()
            .is_some_and(|inner| inner.is::<ElementTooLong>());
        return Some(if too_long {
            TrafficError::LineTooLong {
                file,
                line: position.line(),
                limit,
            }
        } else {
            TrafficError::ReadFile {
                file,
                message: io.to_string(),
            }
        });
    }
    if e.is_eof() {
        return Some(TrafficError::TruncatedJson {
            file,
            line: e.line() as u64,
        });
    }
    let message = message_of(&e);
    if message == STOP {
        return None;
    }
    if message.contains("invalid unicode") {
        return Some(TrafficError::NotText {
            file,
            line: e.line() as u64,
        });
    }
    Some(TrafficError::JsonSyntax {
        file,
        line: e.line() as u64,
        col: e.column() as u64,
        message,
    })
}

/// A serde_json error's message without the position it appends.
pub(crate) fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The document's top level.
struct Top<'d, 'x>(&'d mut Document<'x>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus answer or a Kiali graph")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.0;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "status" => doc.status = Some(map.next_value::<Text>()?.0),
                "error" => doc.error = Some(map.next_value::<Text>()?.0),
                "data" => map.next_value_seed(answer::Data(&mut *doc))?,
                "resultType" | "result" => answer::data_entry(&mut *doc, &key, &mut map)?,
                "elements" => map.next_value_seed(kiali::Elements(&mut *doc))?,
                "nodes" | "edges" => kiali::elements_entry(&mut *doc, &key, &mut map)?,
                "duration" => doc.graph.duration = map.next_value::<Option<f64>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    /// A bare list of series (`jq .data.result`).
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        answer::Result_(self.0).visit_seq(seq)
    }
}

/// Any JSON value as text (for `status` and `error`).
struct Text(String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Text(match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}
