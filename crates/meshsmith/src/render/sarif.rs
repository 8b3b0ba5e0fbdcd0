//! Findings as SARIF 2.1.0 for code-scanning tools: one run, the full rule table as the
//! driver's rules (descriptions and help taken from each rule's doc comment), one result per
//! finding with its file and line; with `check --istioctl`, a second run holds istioctl's.

use super::Each;
use meshsmith_core::check::istioctl::IstioctlSummary;
use meshsmith_core::check::RULES;
use meshsmith_core::model::{Finding, Severity};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
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
/// istioctl's (code `IST...`) in a second run whose driver is istioctl. Written result by
/// result (keys in sorted order, as a JSON object's are), so a large check never exists as
/// one tree.
pub struct Log<'a> {
    pub findings: &'a [Finding],
    pub version: &'a str,
    pub istioctl: Option<&'a IstioctlSummary>,
}

impl Serialize for Log<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("$schema", SCHEMA)?;
        map.serialize_entry("runs", &Runs(self))?;
        map.serialize_entry("version", "2.1.0")?;
        map.end()
    }
}

/// The log, pretty-printed, ending in a newline.
pub fn render(log: &Log) -> String {
    let mut out = serde_json::to_string_pretty(log).unwrap_or_default();
    out.push('\n');
    out
}

struct Runs<'a>(&'a Log<'a>);

impl Serialize for Runs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let log = self.0;
        let mut seq = serializer.serialize_seq(Some(1 + usize::from(log.istioctl.is_some())))?;
        seq.serialize_element(&Run {
            results: &Each(|| log.findings.iter().filter(|f| ours(f)).map(result)),
            tool: meshsmith_tool(log.version),
        })?;
        if let Some(istioctl) = log.istioctl {
            let mut codes: Vec<(&str, &str)> = log
                .findings
                .iter()
                .filter(|f| !ours(f))
                .map(|f| (f.code, f.name))
                .collect();
            codes.sort_unstable();
            codes.dedup();
            let results = Each(|| {
                log.findings.iter().filter(|f| !ours(f)).map(|f| {
                    let mut r = result(f);
                    if let Some(i) = codes.iter().position(|(c, _)| *c == f.code) {
                        r["ruleIndex"] = json!(i);
                    }
                    r
                })
            });
            seq.serialize_element(&Run {
                results: &results,
                tool: istioctl_tool(&codes, istioctl),
            })?;
        }
        seq.end()
    }
}

/// One run: its results, then the tool that found them (the keys' sorted order).
#[derive(Serialize)]
struct Run<'a, R: Serialize> {
    results: &'a R,
    tool: Value,
}

/// meshsmith's own findings; the rest came from istioctl.
fn ours(f: &Finding) -> bool {
    f.code.starts_with("MS")
}

/// The driver of istioctl's run: a rule per IST code it reported.
fn istioctl_tool(codes: &[(&str, &str)], istioctl: &IstioctlSummary) -> Value {
    let rules: Vec<Value> = codes
        .iter()
        .map(|(code, name)| json!({"id": code, "name": name}))
        .collect();
    json!({"driver": {
        "name": "istioctl",
        "version": istioctl.version,
        "informationUri": "https://istio.io/latest/docs/reference/config/analysis/",
        "rules": rules,
    }})
}

/// The driver of meshsmith's run: the full rule table.
fn meshsmith_tool(version: &str) -> Value {
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
    json!({"driver": {
        "name": "meshsmith",
        "semanticVersion": version,
        "rules": rules,
    }})
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
