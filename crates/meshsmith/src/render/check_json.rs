//! Findings as JSON, a contract for scripts: `{"findings": [...], "summary": {...}}` with one
//! object per finding (code, name, severity, istio_code, resource, file, line, message, help).
//! `file` and `line` are null when a finding has no single place. With `check --istioctl`,
//! istioctl's messages are findings too (code and istio_code `IST...`), and an `istioctl`
//! object gives its version, its message count and how many meshsmith reported already.

use super::Each;
use meshsmith_core::check::istioctl::IstioctlSummary;
use meshsmith_core::model::{Finding, Severity};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

struct Report<'a>(&'a [Finding], Option<&'a IstioctlSummary>);

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let findings = self.0;
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let mut map = serializer.serialize_map(Some(2 + usize::from(self.1.is_some())))?;
        // Keys in sorted order, as a JSON object's are written.
        map.serialize_entry("findings", &Each(|| findings.iter().map(finding)))?;
        if let Some(istioctl) = self.1 {
            map.serialize_entry(
                "istioctl",
                &json!({
                    "version": istioctl.version,
                    "messages": istioctl.messages,
                    "duplicates": istioctl.duplicates,
                }),
            )?;
        }
        map.serialize_entry(
            "summary",
            &json!({
                "error": count(Severity::Error),
                "warning": count(Severity::Warning),
                "info": count(Severity::Info),
            }),
        )?;
        map.end()
    }
}

/// The report, pretty-printed, ending in a newline; written finding by finding. With what
/// `--istioctl` added (its findings are among `findings`), an `istioctl` object with its
/// version, how many messages it gave and how many of those meshsmith reported already.
pub fn render(findings: &[Finding], istioctl: Option<&IstioctlSummary>) -> String {
    let mut out = serde_json::to_string_pretty(&Report(findings, istioctl)).unwrap_or_default();
    out.push('\n');
    out
}

fn finding(f: &Finding) -> Value {
    json!({
        "code": f.code,
        "name": f.name,
        "severity": f.severity.as_str(),
        "istio_code": f.istio_code,
        "resource": f.resource,
        "file": f.origin.as_ref().map(|o| o.file.to_string()),
        "line": f.origin.as_ref().map(|o| o.line),
        "message": f.message,
        "help": f.help,
    })
}
