//! Findings as JSON, a contract for scripts: `{"findings": [...], "summary": {...}}` with one
//! object per finding (code, name, severity, istio_code, resource, file, line, message, help).
//! `file` and `line` are null when a finding has no single place.

use meshsmith_core::model::{Finding, Severity};
use serde_json::{json, Value};

pub fn render(findings: &[Finding]) -> Value {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    json!({
        "findings": findings.iter().map(finding).collect::<Vec<_>>(),
        "summary": {
            "error": count(Severity::Error),
            "warning": count(Severity::Warning),
            "info": count(Severity::Info),
        },
    })
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
