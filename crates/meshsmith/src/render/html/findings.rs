//! Findings by severity, then by code: each code with its one-line summary, the istioctl
//! code it matches, and its findings (resource, message, place, what to do).

use super::{esc, Report};
use meshsmith_core::check::rule;
use meshsmith_core::model::{Finding, Severity};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Findings listed per code; the rest are counted.
const LISTED_PER_CODE: usize = 200;

pub fn section(out: &mut String, report: &Report, findings: &[Finding]) {
    out.push_str("<section id=\"findings\"><h2>Findings</h2>");
    if findings.is_empty() {
        out.push_str("<p>None.</p></section>\n");
        return;
    }
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let mut by_code: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.severity == severity) {
            by_code.entry((f.code, f.name)).or_default().push(f);
        }
        if by_code.is_empty() {
            continue;
        }
        let total: usize = by_code.values().map(Vec::len).sum();
        let _ = write!(
            out,
            "<h3 class=\"sev {0}\">{1}</h3>",
            severity.as_str(),
            esc(&crate::render::counted(total, severity.as_str()))
        );
        for ((code, name), list) in by_code {
            code_group(out, report, severity, code, name, &list);
        }
    }
    out.push_str("</section>\n");
}

fn code_group(
    out: &mut String,
    report: &Report,
    severity: Severity,
    code: &str,
    name: &str,
    list: &[&Finding],
) {
    let summary = rule(code).map(|r| r.meta.summary()).unwrap_or_default();
    let istio = list
        .first()
        .and_then(|f| f.istio_code)
        .map(|c| format!(" <span class=\"istio\">istioctl {}</span>", esc(c)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<details class=\"code {}\"{}><summary><b>{}</b> {} <span class=\"count\">{}</span>{istio}<span class=\"what\">{}</span></summary><ul>",
        severity.as_str(),
        if severity == Severity::Error { " open" } else { "" },
        esc(code),
        esc(name),
        list.len(),
        esc(&summary)
    );
    for f in list.iter().take(LISTED_PER_CODE) {
        let place = f
            .origin
            .as_ref()
            .map(|o| {
                let shown = report.places.show(&o.file);
                let text = esc(&format!("{}:{}", shown.text, o.line));
                match shown.link {
                    Some(href) => format!(" <a class=\"at\" href=\"{}\">{text}</a>", esc(&href)),
                    None => format!(" <span class=\"at\">{text}</span>"),
                }
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li><span class=\"res\">{}</span>{place}<br>{}{}</li>",
            esc(&f.resource),
            esc(&f.message),
            if f.help.is_empty() {
                String::new()
            } else {
                format!("<br><span class=\"help\">{}</span>", esc(&f.help))
            }
        );
    }
    if list.len() > LISTED_PER_CODE {
        let _ = write!(
            out,
            "<li class=\"note\">and {} more (<code>meshsmith check</code> lists every one)</li>",
            list.len() - LISTED_PER_CODE
        );
    }
    out.push_str("</ul></details>");
}
