//! Findings as SARIF 2.1.0 for code-scanning tools: one run, the full rule table as the
//! driver's rules (descriptions and help taken from each rule's doc comment), one result per
//! finding with its file and line; with `check --istioctl`, a second run holds istioctl's.

use meshsmith_core::check::istioctl::IstioctlSummary;
use meshsmith_core::check::RULES;
use meshsmith_core::model::{Finding, Severity};
use serde_json::{json, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative or absolute path as a URI reference: `/` separators, unsafe bytes escaped.
pub fn uri_reference(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF log: meshsmith's findings in meshsmith's run and, with what `--istioctl` added,
/// istioctl's (code `IST...`) in a second run whose driver is istioctl.
pub fn render(findings: &[Finding], version: &str, istioctl: Option<&IstioctlSummary>) -> Value {
    let (ours, theirs): (Vec<Finding>, Vec<Finding>) = findings
        .iter()
        .cloned()
        .partition(|f| f.code.starts_with("MS"));
    let mut log = meshsmith_run(&ours, version);
    if let Some(istioctl) = istioctl {
        if let Some(runs) = log["runs"].as_array_mut() {
            runs.push(istioctl_run(&theirs, istioctl));
        }
    }
    log
}

/// The run of istioctl: a rule per IST code it reported, a result per message.
fn istioctl_run(findings: &[Finding], istioctl: &IstioctlSummary) -> Value {
    let mut codes: Vec<(&str, &str)> = findings.iter().map(|f| (f.code, f.name)).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|(code, name)| json!({"id": code, "name": name}))
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut r = result(f);
            if let Some(i) = codes.iter().position(|(c, _)| *c == f.code) {
                r["ruleIndex"] = json!(i);
            }
            r
        })
        .collect();
    json!({
        "tool": {"driver": {
            "name": "istioctl",
            "version": istioctl.version,
            "informationUri": "https://istio.io/latest/docs/reference/config/analysis/",
            "rules": rules,
        }},
        "results": results,
    })
}

fn meshsmith_run(findings: &[Finding], version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let m = &r.meta;
            let mut properties = json!({"tags": [m.code[..3].to_string()]});
            if let Some(istio) = m.istio_code {
                properties["istioCode"] = json!(istio);
            }
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary()},
                "fullDescription": {"text": format!(
                    "{} {}", m.section("What it does"), m.section("Why it matters")
                )},
                "help": {"text": m.doc_markdown(), "markdown": m.doc_markdown()},
                "defaultConfiguration": {"level": level(m.severity)},
                "properties": properties,
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(result).collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meshsmith",
                "semanticVersion": version,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn result(f: &Finding) -> Value {
    let index = RULES.iter().position(|r| r.meta.code == f.code);
    let mut result = json!({
        "ruleId": f.code,
        "level": level(f.severity),
        "message": {"text": format!("{} ({}). Help: {}", f.message, f.resource, f.help)},
        "properties": {"resource": f.resource},
    });
    if let Some(i) = index {
        result["ruleIndex"] = json!(i);
    }
    if let Some(origin) = &f.origin {
        result["locations"] = json!([{
            "physicalLocation": {
                "artifactLocation": {"uri": uri_reference(&origin.file)},
                "region": {"startLine": origin.line.max(1)},
            }
        }]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_reference("fires/a b.yaml"), "fires/a%20b.yaml");
        assert_eq!(uri_reference("dir\\x.yaml"), "dir/x.yaml");
        assert_eq!(uri_reference("<stdin>"), "%3Cstdin%3E");
    }
}
