//! The document around the sections: head with a Content-Security-Policy that admits only
//! the page's own style and script (by hash) and nothing from anywhere else, the summary
//! figures, the navigation, then the sections the report's kind has.

use super::facts::Facts;
use super::{
    details, esc, findings, picture, rollout, script_json_into, tables, Report, ReportKind,
};
use meshsmith_core::model::{Completeness, Severity};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Appends the document to `out` (which may already hold the first line of a file): the head
/// first, then each section as it is rendered, then the data; nothing is copied whole.
pub fn document(out: &mut String, report: &Report) {
    let facts = Facts::new(report);
    out.reserve(1 << 16);
    let title = title(report);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"meshsmith {}\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body class=\"{}\">\n",
        csp(),
        esc(report.version),
        esc(&title),
        kind_class(report.kind)
    );
    let body = out;
    summary(body, report);
    nav(body, report);
    body.push_str("<main>");
    if let Some(t) = report.topology {
        if report.kind != ReportKind::Check {
            picture::section(body, report, t, &facts);
            tables::timeouts(body, report, t, &facts);
        }
    }
    if report.kind == ReportKind::Onboard {
        tables::exceptions(body, report);
    }
    if let Some(t) = report.topology {
        if report.kind != ReportKind::Check {
            tables::held(body, report, t, &facts);
        }
    }
    if let Some(list) = report.findings {
        findings::section(body, report, list);
    }
    if let Some((plan, violations)) = report.plan {
        rollout::section(body, report, plan, violations);
    }
    body.push_str("</main>");
    let data = details::data(report, &facts);
    body.push_str("\n<script type=\"application/json\" id=\"meshsmith-data\">");
    script_json_into(body, &data);
    drop(data);
    let _ = write!(
        body,
        "</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
}

/// Nothing loads but the page itself: no fetches, frames, fonts, images from elsewhere or
/// forms; the inline style and script are admitted by their hashes.
fn csp() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'",
        sha256_source(STYLE),
        sha256_source(SCRIPT)
    )
}

fn sha256_source(text: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(text.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn kind_class(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Onboard => "onboard",
        ReportKind::Map => "map",
        ReportKind::Check => "check",
    }
}

fn title(report: &Report) -> String {
    match (report.kind, report.topology) {
        (ReportKind::Check, _) => "meshsmith check".to_string(),
        (kind, Some(t)) => format!(
            "meshsmith {}: {}",
            if kind == ReportKind::Map {
                "map"
            } else {
                "onboard"
            },
            crate::render::counted(t.services.len(), "service")
        ),
        (_, None) => "meshsmith".to_string(),
    }
}

/// The figures a reviewer reads first.
fn summary(out: &mut String, report: &Report) {
    let _ = write!(
        out,
        "<header><h1>{}</h1><dl class=\"figures\">",
        esc(&title(report))
    );
    let mut figure = |name: &str, value: String, class: &str, link: &str| {
        let _ = write!(
            out,
            "<div class=\"figure {class}\"><dt>{}</dt><dd>{}</dd></div>",
            esc(name),
            if link.is_empty() {
                esc(&value)
            } else {
                format!("<a href=\"#{link}\">{}</a>", esc(&value))
            }
        );
    };
    if let Some(t) = report.topology {
        let namespaces: std::collections::BTreeSet<&str> =
            t.services.iter().map(|s| s.id.namespace.as_str()).collect();
        figure("services", t.services.len().to_string(), "", "graph");
        figure("namespaces", namespaces.len().to_string(), "", "");
        figure("calls", t.edges.len().to_string(), "", "timeouts");
        let hosts: std::collections::BTreeSet<&str> =
            t.external.iter().map(|x| x.host.as_str()).collect();
        figure("external hosts", hosts.len().to_string(), "", "");
        let unknown = t
            .services
            .iter()
            .filter(|s| s.callers.level != Completeness::Known)
            .count();
        let (name, link) = if report.kind == ReportKind::Onboard && !report.enforce_unverified {
            ("held in dry-run", "dry-run")
        } else {
            ("callers not known", "dry-run")
        };
        let class = if unknown > 0 { "warn" } else { "" };
        figure(name, unknown.to_string(), class, link);
    }
    if let Some(list) = report.findings {
        for (severity, class) in [
            (Severity::Error, "bad"),
            (Severity::Warning, "warn"),
            (Severity::Info, ""),
        ] {
            let n = list.iter().filter(|f| f.severity == severity).count();
            let name = crate::render::counted(n, severity.as_str());
            let (value, label) = name.split_once(' ').unwrap_or((&name, ""));
            figure(
                label,
                value.to_string(),
                if n > 0 { class } else { "" },
                "findings",
            );
        }
    }
    if let Some((plan, _)) = report.plan {
        figure("phases", plan.phases.len().to_string(), "", "rollout");
    }
    out.push_str("</dl>");
    if report.enforce_unverified {
        out.push_str(
            "<p class=\"banner bad\">Enforced without known callers (--enforce-unverified): services whose callers \
             are not known get enforced AuthorizationPolicies; a caller the graph does not show will be denied.</p>",
        );
    }
    out.push_str("</header>\n");
}

fn nav(out: &mut String, report: &Report) {
    let mut links: Vec<(&str, &str)> = Vec::new();
    if report.topology.is_some() && report.kind != ReportKind::Check {
        links.push(("graph", "Graph"));
        links.push(("timeouts", "Timeouts"));
    }
    if report.kind == ReportKind::Onboard {
        links.push(("exceptions", "Exceptions"));
    }
    if report.topology.is_some() && report.kind != ReportKind::Check {
        links.push((
            "dry-run",
            if report.kind == ReportKind::Onboard {
                "Dry-run"
            } else {
                "Callers"
            },
        ));
    }
    if report.findings.is_some() {
        links.push(("findings", "Findings"));
    }
    if report.plan.is_some() {
        links.push(("rollout", "Rollout"));
    }
    out.push_str("<nav>");
    for (id, name) in links {
        let _ = write!(out, "<a href=\"#{id}\">{name}</a>");
    }
    for (file, name) in [("ROLLOUT.md", "ROLLOUT.md"), ("plan.json", "plan.json")] {
        if let Some(link) = report.places.link(file) {
            let _ = write!(out, "<a class=\"file\" href=\"{}\">{name}</a>", esc(&link));
        }
    }
    out.push_str("</nav>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn the_policy_admits_exactly_the_inline_style_and_script() {
        let policy = csp();
        assert!(policy.starts_with("default-src 'none';"));
        assert!(policy.contains(&sha256_source(STYLE)));
        assert!(policy.contains(&sha256_source(SCRIPT)));
        assert!(!policy.contains("unsafe"));
    }
}
