//! `istioctl analyze` messages as findings, merged with meshsmith's. In: the JSON istioctl
//! prints (`istioctl analyze -o json`) and the findings of `check`. Out: one report, sorted,
//! where each istioctl message is a finding under its IST code, with the file and line
//! istioctl names, unless a meshsmith finding already reports the same IST code on the same
//! resource.
//!
//! Running istioctl is the command line's business; this module only reads what it printed.

use crate::model::{sort_findings, Finding, Origin, Severity};
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};

/// Every message code of the pinned istioctl (`pkg/config/analysis/msg/messages.yaml`), with
/// its name in kebab case.
pub static ISTIO_CODES: &[(&str, &str)] = &[
    ("IST0001", "internal-error"),
    ("IST0002", "deprecated"),
    ("IST0101", "referenced-resource-not-found"),
    ("IST0102", "namespace-not-injected"),
    ("IST0103", "pod-missing-proxy"),
    ("IST0106", "schema-validation-error"),
    ("IST0107", "misplaced-annotation"),
    ("IST0108", "unknown-annotation"),
    ("IST0109", "conflicting-mesh-gateway-virtual-service-hosts"),
    ("IST0110", "conflicting-sidecar-workload-selectors"),
    ("IST0111", "multiple-sidecars-without-workload-selectors"),
    (
        "IST0112",
        "virtual-service-destination-port-selector-required",
    ),
    ("IST0116", "deployment-associated-to-multiple-services"),
    ("IST0118", "port-name-is-not-under-naming-convention"),
    ("IST0123", "namespace-multiple-injection-labels"),
    ("IST0125", "invalid-annotation"),
    ("IST0126", "unknown-mesh-networks-service-registry"),
    ("IST0127", "no-matching-workloads-found"),
    (
        "IST0128",
        "no-server-certificate-verification-destination-level",
    ),
    ("IST0129", "no-server-certificate-verification-port-level"),
    ("IST0130", "virtual-service-unreachable-rule"),
    ("IST0131", "virtual-service-ineffective-match"),
    ("IST0132", "virtual-service-host-not-found-in-gateway"),
    ("IST0133", "schema-warning"),
    ("IST0134", "service-entry-addresses-required"),
    ("IST0135", "deprecated-annotation"),
    ("IST0136", "alpha-annotation"),
    ("IST0137", "deployment-conflicting-ports"),
    ("IST0138", "gateway-duplicate-certificate"),
    ("IST0139", "invalid-webhook"),
    ("IST0140", "ingress-route-rules-not-affected"),
    ("IST0141", "insufficient-permissions"),
    ("IST0142", "unsupported-kubernetes-version"),
    ("IST0143", "localhost-listener"),
    ("IST0144", "invalid-application-uid"),
    ("IST0145", "conflicting-gateways"),
    ("IST0146", "image-auto-without-injection-warning"),
    ("IST0147", "image-auto-without-injection-error"),
    ("IST0148", "namespace-injection-enabled-by-default"),
    ("IST0149", "jwt-claim-based-routing-without-request-authn"),
    ("IST0150", "external-name-service-type-invalid-port-name"),
    ("IST0151", "envoy-filter-uses-relative-operation"),
    ("IST0152", "envoy-filter-uses-replace-operation-incorrectly"),
    ("IST0153", "envoy-filter-uses-add-operation-incorrectly"),
    ("IST0154", "envoy-filter-uses-remove-operation-incorrectly"),
    (
        "IST0155",
        "envoy-filter-uses-relative-operation-with-proxy-version",
    ),
    ("IST0156", "unsupported-gateway-api-version"),
    ("IST0157", "invalid-telemetry-provider"),
    ("IST0158", "pods-istio-proxy-image-mismatch-in-namespace"),
    ("IST0159", "conflicting-telemetry-workload-selectors"),
    ("IST0160", "multiple-telemetries-without-workload-selectors"),
    ("IST0161", "invalid-gateway-credential"),
    ("IST0162", "gateway-port-not-defined-on-service"),
    ("IST0163", "invalid-external-control-plane-config"),
    (
        "IST0164",
        "external-control-plane-address-is-not-a-hostname",
    ),
    ("IST0165", "referenced-internal-gateway"),
    ("IST0166", "ineffective-selector"),
    ("IST0167", "ineffective-policy"),
    ("IST0168", "unknown-upgrade-compatibility"),
    ("IST0169", "update-incompatibility"),
    ("IST0170", "multi-cluster-inconsistent-service"),
    ("IST0171", "negative-condition-status"),
    ("IST0172", "future-unsupported-gateway-api-version"),
    ("IST0173", "destination-rule-subset-not-select-pods"),
    ("IST0174", "unknown-destination-rule-host"),
    ("IST0175", "jwks-uri-fetch-unrestricted"),
    ("IST0176", "gateway-api-crd-version-below-minimum"),
    ("IST0177", "conflicting-service-entry-protocol"),
];

/// One message of `istioctl analyze -o json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioctlMessage {
    pub code: String,
    pub severity: Severity,
    /// The resource as meshsmith names it (`VirtualService shop/orders`), when istioctl
    /// names one.
    pub resource: Option<String>,
    /// The file and line istioctl points at, when it does.
    pub place: Option<(String, u32)>,
    pub message: String,
    pub documentation: String,
}

/// What istioctl added to a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IstioctlSummary {
    /// `istioctl version --remote=false`, e.g. `1.31-dev+eed52ebb66ad`.
    pub version: String,
    /// Messages istioctl gave.
    pub messages: usize,
    /// Of those, how many meshsmith reported already (same IST code, same resource).
    pub duplicates: usize,
}

/// Kinds with no namespace, which istioctl names `Kind name`.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ClusterRole",
    "ClusterRoleBinding",
    "GatewayClass",
];

/// istioctl's `Kind ns/name`, or `Kind name` for a namespaced resource read without a
/// namespace, which meshsmith places in `default_namespace`.
pub fn resource_name(origin: &str, default_namespace: &str) -> String {
    let origin = origin.trim();
    match origin.split_once(' ') {
        Some((kind, name)) if !name.contains('/') && !CLUSTER_SCOPED.contains(&kind) => {
            format!("{kind} {default_namespace}/{name}")
        }
        _ => origin.to_string(),
    }
}

/// Reads istioctl's output: a JSON array, perhaps after log lines (documents it skipped)
/// and before a closing remark. `None` when there is no array.
pub fn parse(text: &str, default_namespace: &str) -> Option<Vec<IstioctlMessage>> {
    let start = text
        .lines()
        .scan(0, |at, line| {
            let here = *at;
            *at += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| line.starts_with('[') || line.trim() == "null")
        .map(|(at, _)| at)?;
    let value: Value = serde_json::Deserializer::from_str(text.get(start..)?)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let list = match value {
        Value::Array(list) => list,
        Value::Null => Vec::new(),
        _ => return None,
    };
    Some(list.iter().map(|m| message(m, default_namespace)).collect())
}

fn message(m: &Value, default_namespace: &str) -> IstioctlMessage {
    let text = |key: &str| m[key].as_str().unwrap_or("").to_string();
    let severity = match m["level"].as_str().unwrap_or("") {
        "Error" => Severity::Error,
        "Warning" | "Warn" => Severity::Warning,
        _ => Severity::Info,
    };
    // `file.yaml:12`; istioctl leaves the line out when it knows none.
    let place = m["reference"].as_str().and_then(|r| {
        let (file, line) = r.rsplit_once(':')?;
        Some((file.to_string(), line.parse().ok().filter(|l| *l > 0)?))
    });
    IstioctlMessage {
        code: text("code"),
        severity,
        resource: m["origin"]
            .as_str()
            .map(|o| resource_name(o, default_namespace)),
        place,
        message: text("message"),
        documentation: text("documentationUrl"),
    }
}

/// `code` as a `&'static str`: from [`ISTIO_CODES`], or, for a code a newer istioctl knows
/// and this table does not, kept once for the life of the process (a handful of short
/// strings at most).
fn static_code(code: &str) -> (&'static str, &'static str) {
    if let Some((c, name)) = ISTIO_CODES.iter().find(|(c, _)| *c == code) {
        return (c, name);
    }
    static OTHERS: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut others = OTHERS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let found = match others.iter().find(|c| **c == code) {
        Some(c) => *c,
        None => {
            let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
            others.push(leaked);
            leaked
        }
    };
    (found, "istioctl-message")
}

/// The findings with istioctl's messages added, sorted; `file_name` turns the file istioctl
/// names into the one meshsmith's findings name (a temporary copy of standard input back
/// into `<stdin>`, say).
pub fn merge(
    mut findings: Vec<Finding>,
    messages: &[IstioctlMessage],
    version: &str,
    file_name: impl Fn(&str) -> String,
) -> (Vec<Finding>, IstioctlSummary) {
    let mut summary = IstioctlSummary {
        version: version.to_string(),
        messages: messages.len(),
        duplicates: 0,
    };
    let mut added = Vec::new();
    for m in messages {
        let resource = m.resource.clone().unwrap_or_default();
        let reported = findings
            .iter()
            .any(|f| f.istio_code == Some(m.code.as_str()) && f.resource == resource);
        if reported && !resource.is_empty() {
            summary.duplicates += 1;
            continue;
        }
        let (code, name) = static_code(&m.code);
        let origin = m
            .place
            .as_ref()
            .map(|(file, line)| Origin::new(&Arc::from(file_name(file).as_str()), *line));
        added.push(Finding {
            code,
            name,
            severity: m.severity,
            istio_code: Some(code),
            resource: if resource.is_empty() {
                "(no resource)".to_string()
            } else {
                resource
            },
            origin,
            message: m.message.clone(),
            help: if m.documentation.is_empty() {
                "reported by istioctl analyze".to_string()
            } else {
                format!("reported by istioctl analyze; see {}", m.documentation)
            },
        });
    }
    findings.extend(added);
    sort_findings(&mut findings);
    (findings, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "2026-01-01T00:00:00Z\twarn\tfile\tskipping a document\n[\n\
        {\"code\": \"IST0101\", \"level\": \"Error\", \"origin\": \"VirtualService shop/orders\",\n\
         \"reference\": \"routes.yaml:12\", \"message\": \"Referenced gateway not found: \\\"public\\\"\",\n\
         \"documentationUrl\": \"https://istio.io/docs/ist0101/\"},\n\
        {\"code\": \"IST0132\", \"level\": \"Warning\", \"origin\": \"VirtualService orders\",\n\
         \"reference\": \"routes.yaml:12\", \"message\": \"host not found in Gateway\"},\n\
        {\"code\": \"IST0999\", \"level\": \"Info\", \"message\": \"a newer message\"}\n]\n\
        Error: Analyzers found issues.\n";

    #[test]
    fn reads_messages_after_log_lines_and_names_resources_as_meshsmith_does() {
        let messages = parse(OUTPUT, "shop").expect("an array");
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0].resource.as_deref(),
            Some("VirtualService shop/orders")
        );
        assert_eq!(messages[0].place, Some(("routes.yaml".to_string(), 12)));
        assert_eq!(
            messages[1].resource.as_deref(),
            Some("VirtualService shop/orders")
        );
        assert_eq!(messages[1].severity, Severity::Warning);
        assert_eq!(messages[2].resource, None);
        assert_eq!(parse("Error: no such file\n", "default"), None);
        assert_eq!(resource_name("Namespace shop", "default"), "Namespace shop");
    }

    #[test]
    fn a_message_meshsmith_already_gave_is_not_repeated() {
        let messages = parse(OUTPUT, "shop").expect("an array");
        let ours = crate::check::rules::unknown_gateway::UnknownGateway::META.finding(
            "VirtualService shop/orders",
            None,
            "gateway missing",
            "fix it",
        );
        let (merged, summary) = merge(vec![ours], &messages, "1.31-dev", |f| format!("in/{f}"));
        assert_eq!(summary.messages, 3);
        assert_eq!(summary.duplicates, 1);
        let codes: Vec<&str> = merged.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["IST0999", "MS331", "IST0132"]);
        let added = merged.iter().find(|f| f.code == "IST0132").expect("added");
        assert_eq!(added.name, "virtual-service-host-not-found-in-gateway");
        assert_eq!(
            added.origin.as_ref().map(|o| o.to_string()).as_deref(),
            Some("in/routes.yaml:12")
        );
        assert_eq!(merged[0].name, "istioctl-message");
    }

    #[test]
    fn the_code_table_is_sorted_and_kebab_case() {
        let mut sorted = ISTIO_CODES.to_vec();
        sorted.sort();
        assert_eq!(sorted, ISTIO_CODES);
        assert!(ISTIO_CODES
            .iter()
            .all(|(_, n)| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
    }
}
