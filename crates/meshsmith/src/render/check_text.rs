//! Findings as text for people: grouped by resource, each with the source line it points at
//! (from the loaded files, credentials masked), the rule name and what to do, then a
//! one-line summary.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use meshsmith_core::check::istioctl::IstioctlSummary;
use meshsmith_core::model::{Finding, Severity, SourceId, Sources};
use meshsmith_core::redact;
use std::collections::HashMap;

/// Renders the findings; `color` only when writing to a terminal that wants it.
pub fn render(findings: &[Finding], sources: &Sources, color: bool) -> String {
    let by_name: HashMap<&str, u32> = (0..sources.len() as u32)
        .map(|id| (sources.name(id), id))
        .collect();
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for f in findings {
        if current != Some(f.resource.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("── {} ──\n", f.resource));
            current = Some(&f.resource);
        }
        let level = match f.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
            Severity::Info => Level::INFO,
        };
        let title = level.primary_title(f.message.as_str()).id(f.code);
        let line_text = f.origin.as_ref().and_then(|o| {
            let id = by_name.get(&*o.file)?;
            Some((o, shown_line(sources, *id, o.line)?))
        });
        let mut group: Group = match (line_text, &f.origin) {
            (Some((origin, text)), _) => {
                // The span is measured on the line as shown, so it fits the masked text.
                let start = text.len() - text.trim_start().len();
                let end = text.trim_end().len().max(start);
                title.element(
                    Snippet::source(text)
                        .line_start(origin.line as usize)
                        .path(&*origin.file)
                        .annotation(AnnotationKind::Primary.span(start..end).label(f.name)),
                )
            }
            (None, Some(origin)) => title
                .element(annotate_snippets::Origin::path(&*origin.file).line(origin.line as usize)),
            (None, None) => Group::with_title(title),
        };
        group = group.element(Level::HELP.message(f.help.as_str()));
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out.push_str(&summary(findings));
    out
}

/// Line `line` of a source as it may be shown: with its credentials masked, reading the
/// line before for the name of the value it holds.
fn shown_line(sources: &Sources, id: SourceId, line: u32) -> Option<String> {
    let text = sources.line(id, line)?;
    let previous = line.checked_sub(1).and_then(|p| sources.line(id, p));
    Some(redact::source_line(previous, text))
}

/// The line `--istioctl` adds under the summary: which istioctl, and what it added.
pub fn istioctl_line(istioctl: &IstioctlSummary) -> String {
    format!(
        "istioctl {} analyzed the same inputs (--use-kube=false): {}, {} of them also \
         reported by meshsmith\n",
        istioctl.version,
        super::counted(istioctl.messages, "message"),
        istioctl.duplicates
    )
}

/// `2 errors, 1 warning, 0 infos`, or `no findings`.
pub fn summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings\n".to_string();
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    format!(
        "{}, {}, {}\n",
        super::counted(count(Severity::Error), "error"),
        super::counted(count(Severity::Warning), "warning"),
        super::counted(count(Severity::Info), "info")
    )
}
