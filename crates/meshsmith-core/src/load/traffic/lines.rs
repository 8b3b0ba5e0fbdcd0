//! A file of lines -> calls, one bounded line at a time. Each line may carry a
//! `kubectl logs --prefix` (`[pod/NAME/CONTAINER] `) and a `kubectl logs --timestamps` prefix,
//! then is one of: an Istio access log entry (text or JSON), a Prometheus exposition line,
//! a line of the proxy's own log (skipped, except RBAC dry-run results), or something else
//! (skipped). A file in which no line is any of the first three is not a traffic file; a
//! file of the proxy's own lines alone is the log of a proxy that served no request.

use super::names::{pod_of_file, shown_start};
use super::prometheus::text as exposition;
use super::proxy_log::{self, DryRun};
use super::reader::FileContext;
use super::{access_log, TrafficError};
use crate::model::TrafficFormat;
use std::io::{BufRead, Read};

/// What the lines of one file have shown so far.
struct LineState {
    dry_run: DryRun,
    /// A line in a format meshsmith reads, or the proxy's own log, was seen.
    recognized: bool,
    /// The first line that is not blank, for the error when nothing is recognized.
    first: Option<(u64, String)>,
}

/// Reads every line of `reader`.
pub(crate) fn read(ctx: &mut FileContext, mut reader: impl BufRead) {
    // The pod named by the file's name, for lines without a `--prefix`.
    let file_pod = pod_of_file(&ctx.file);
    let mut state = LineState {
        dry_run: DryRun::default(),
        recognized: false,
        first: None,
    };
    let limit = ctx.limits.max_line_bytes;
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = match (&mut reader)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(n) => n,
            Err(e) => {
                let file = ctx.name();
                ctx.error(TrafficError::ReadFile {
                    file,
                    message: e.to_string(),
                });
                return;
            }
        };
        if n == 0 {
            break;
        }
        line += 1;
        ctx.bytes += n as u64;
        if n > limit && buf.last() != Some(&b'\n') {
            let file = ctx.name();
            ctx.error(TrafficError::LineTooLong { file, line, limit });
            ctx.bytes += skip_line(&mut reader);
            continue;
        }
        let mut bytes = buf.as_slice();
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let Some(text) = text_of(bytes) else {
            let file = ctx.name();
            ctx.error(TrafficError::NotText { file, line });
            return;
        };
        ctx.lines += 1;
        one_line(ctx, &mut state, file_pod.as_deref(), text, line);
        if ctx.full {
            return;
        }
    }
    if !state.recognized {
        if let Some((line, start)) = state.first {
            let file = ctx.name();
            ctx.error(TrafficError::NotTraffic { file, line, start });
        }
    }
}

/// The line without its end, when it is text (UTF-8 without NUL bytes).
fn text_of(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).ok()?;
    (!bytes.contains(&0)).then_some(text)
}

/// Consumes the rest of an over-long line; returns the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> u64 {
    let mut skipped = 0u64;
    loop {
        let Ok(buf) = reader.fill_buf() else {
            return skipped;
        };
        if buf.is_empty() {
            return skipped;
        }
        let (n, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        reader.consume(n);
        skipped += n as u64;
        if done {
            return skipped;
        }
    }
}

fn one_line(
    ctx: &mut FileContext,
    state: &mut LineState,
    file_pod: Option<&str>,
    text: &str,
    line: u64,
) {
    let (prefix_pod, rest) = proxy_log::strip_kubectl_prefix(text);
    let rest = proxy_log::strip_kubectl_timestamp(rest).trim_end();
    if rest.is_empty() {
        return;
    }
    if state.first.is_none() {
        state.first = Some((line, shown_start(text)));
    }
    let pod = prefix_pod.or(file_pod);
    match rest.as_bytes()[0] {
        b'{' => json_line(ctx, state, rest, pod, line),
        b'[' => {
            if let Some(entry) = access_log::text::parse(rest) {
                state.recognized = true;
                ctx.saw(TrafficFormat::AccessLogText);
                access_log::record(ctx, &entry, pod, TrafficFormat::AccessLogText, line);
            } else if proxy_log::is_proxy_log(rest) {
                proxy_line(ctx, state, rest, pod, line);
            }
        }
        b'#' => {
            if exposition::is_metadata(rest) {
                state.recognized = true;
                ctx.saw(TrafficFormat::PrometheusText);
            }
        }
        _ if proxy_log::is_proxy_log(rest) => proxy_line(ctx, state, rest, pod, line),
        _ => {
            if let Some(sample) = exposition::parse(rest) {
                // A bare `word 12` may be anything; a metric has labels or a `_` in its name.
                if !sample.labels.is_empty() || sample.name.contains('_') {
                    state.recognized = true;
                    ctx.saw(TrafficFormat::PrometheusText);
                }
                let series = sample.series();
                super::prometheus::record(
                    ctx,
                    &series,
                    file_pod,
                    TrafficFormat::PrometheusText,
                    line,
                );
            }
        }
    }
}

fn json_line(
    ctx: &mut FileContext,
    state: &mut LineState,
    rest: &str,
    pod: Option<&str>,
    line: u64,
) {
    match access_log::json::parse(rest) {
        Ok(Some(entry)) => {
            state.recognized = true;
            ctx.saw(TrafficFormat::AccessLogJson);
            access_log::record(ctx, &entry, pod, TrafficFormat::AccessLogJson, line);
        }
        // A JSON object that is no access log: the proxy's own structured log, say.
        Ok(None) => {}
        Err(e) => {
            let file = ctx.name();
            let error = if e.is_eof() {
                TrafficError::JsonSyntax {
                    file,
                    line,
                    col: e.column() as u64,
                    message: "the JSON line ends early (truncated?)".into(),
                }
            } else {
                TrafficError::JsonSyntax {
                    file,
                    line,
                    col: e.column() as u64,
                    message: super::document::message_of(&e),
                }
            };
            ctx.error(error);
        }
    }
}

fn proxy_line(
    ctx: &mut FileContext,
    state: &mut LineState,
    rest: &str,
    pod: Option<&str>,
    line: u64,
) {
    state.recognized = true;
    ctx.saw(TrafficFormat::AccessLogText);
    state.dry_run.line(ctx, rest, pod, line);
}
