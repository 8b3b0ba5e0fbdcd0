//! Findings as JSON, a contract for scripts: `{"findings": [...], "summary": {...}}` with one
//! object per finding (code, name, severity, istio_code, resource, file, line, message, help).
//! `file` and `line` are null when a finding has no single place.

use super::Each;
use meshsmith_core::model::{Finding, Severity};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

struct Report<'a>(&'a [Finding]);

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let findings = self.0;
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let mut map = serializer.serialize_map(Some(2))?;
        // Keys in sorted order, as a JSON object's are written.
        map.serialize_entry("findings", &Each(|| findings.iter().map(finding)))?;
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

/// The report, pretty-printed, ending in a newline; written finding by finding.
pub fn render(findings: &[Finding]) -> String {
    let mut out = serde_json::to_string_pretty(&Report(findings)).unwrap_or_default();
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
