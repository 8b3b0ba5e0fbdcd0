//! Access logs as Istio's sidecars write them, and the pod names their files are named after.
//!
//! In: a sidecar's workload, namespace and instance. Out: a pod name shaped like a Deployment's
//! (`<workload>-<10 hex>-<5 alnum>`, the same for every run), the Envoy access-log configuration
//! for its two files (Istio's default text format, and Istio's JSON encoding plus the peer
//! identity and the RBAC dry-run result), the entries a scenario reads back, and the copy of
//! every sidecar's log into a folder, one `<pod>.log` per pod, as
//! `kubectl logs POD -c istio-proxy > POD.log` would leave them.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Istio's default text format (`EnvoyTextLogFormat`, Istio 1.9 onwards).
pub const TEXT_FORMAT: &str = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% \
%PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% \
%CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% \
%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \
\"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" \
%UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% \
%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

/// Istio's JSON encoding (`EnvoyJSONLogFormatIstio`), key by key.
const JSON_FIELDS: [(&str, &str); 24] = [
    ("start_time", "%START_TIME%"),
    ("route_name", "%ROUTE_NAME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("response_code_details", "%RESPONSE_CODE_DETAILS%"),
    (
        "connection_termination_details",
        "%CONNECTION_TERMINATION_DETAILS%",
    ),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration", "%DURATION%"),
    (
        "upstream_service_time",
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    ),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER_RAW%"),
    ("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"),
    ("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("requested_server_name", "%REQUESTED_SERVER_NAME%"),
    (
        "upstream_transport_failure_reason",
        "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
    ),
];

/// What a mesh operator adds to the JSON log to see identities and dry-run results; the
/// metadata keys are the RBAC filter's, prefixed with the shadow rules' stat prefix.
const JSON_EXTRA_FIELDS: [(&str, &str); 3] = [
    ("downstream_peer_uri_san", "%DOWNSTREAM_PEER_URI_SAN%"),
    (
        "dry_run_result",
        "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result)%",
    ),
    (
        "dry_run_policy",
        "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_effective_policy_id)%",
    ),
];

/// Which of a sidecar's two logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    #[default]
    Json,
}

impl LogFormat {
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The two access-log files of one sidecar.
#[derive(Debug, Clone)]
pub struct LogFiles {
    pub json: PathBuf,
    pub text: PathBuf,
}

impl LogFiles {
    /// `<dir>/<pod>.json.log` and `<dir>/<pod>.text.log`.
    pub fn in_dir(dir: &Path, pod: &str) -> Self {
        LogFiles {
            json: dir.join(format!("{pod}.json.log")),
            text: dir.join(format!("{pod}.text.log")),
        }
    }

    pub fn get(&self, format: LogFormat) -> &Path {
        match format {
            LogFormat::Json => &self.json,
            LogFormat::Text => &self.text,
        }
    }
}

/// The JSON log's keys and the Envoy command operator behind each.
pub fn json_fields() -> Map<String, Value> {
    let mut fields = Map::new();
    for (key, op) in JSON_FIELDS.iter().chain(&JSON_EXTRA_FIELDS) {
        fields.insert((*key).to_string(), json!(op));
    }
    fields
}

/// The `access_log` list of an HTTP connection manager: both files.
pub fn loggers(files: &LogFiles) -> Value {
    let fields = json_fields();
    let file = |path: &Path, format: Value| {
        json!({
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path.to_string_lossy(),
                "log_format": format
            }
        })
    };
    json!([
        file(&files.json, json!({ "json_format": fields })),
        file(
            &files.text,
            json!({ "text_format_source": { "inline_string": TEXT_FORMAT } })
        ),
    ])
}

/// A Deployment-shaped pod name: the workload, a 10-hex-digit template hash and a 5-character
/// suffix from Kubernetes' alphabet, all derived from the names so every run gives the same.
pub fn pod_name(workload: &str, namespace: &str, instance: u32) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let template = fnv1a(format!("{namespace}/{workload}").as_bytes()) & 0xff_ffff_ffff;
    let mut n = fnv1a(format!("{namespace}/{workload}/{instance}").as_bytes());
    let mut suffix = String::with_capacity(5);
    for _ in 0..5 {
        suffix.push(char::from(ALPHABET[(n % ALPHABET.len() as u64) as usize]));
        n /= ALPHABET.len() as u64;
    }
    format!("{workload}-{template:010x}-{suffix}")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The entries of a JSON access log written so far (lines that do not parse are skipped:
/// the last one may still be half written).
pub fn read_json(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A string field of an entry; Envoy writes `null` for a value it does not have.
pub fn field<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry[key].as_str()
}

/// Copy each `(pod, files)` log in `format` to `<dir>/<pod>.log`, creating `dir`.
pub fn export(
    logs: &[(String, LogFiles)],
    dir: &Path,
    format: LogFormat,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (pod, files) in logs {
        let to = dir.join(format!("{pod}.log"));
        let from = files.get(format);
        if from.exists() {
            std::fs::copy(from, &to)?;
        } else {
            // A sidecar that served nothing never opened its log: an empty log, as kubectl gives.
            std::fs::write(&to, "")?;
        }
        written.push(to);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names_look_like_a_deployments_and_are_stable() {
        let a = pod_name("ledger", "finance", 0);
        let b = pod_name("ledger", "finance", 1);
        assert_eq!(a, pod_name("ledger", "finance", 0));
        let parts: Vec<&str> = a.rsplitn(3, '-').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert_eq!(parts[2], "ledger");
        assert_eq!(parts[1].len(), 10);
        assert!(parts[1].bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_eq!(parts[0].len(), 5);
        assert!(parts[0].bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        // Replicas share the template hash and differ in the suffix.
        assert_eq!(a[..a.len() - 5], b[..b.len() - 5]);
        assert_ne!(a, b);
        assert_ne!(a, pod_name("ledger", "shop", 0));
    }

    #[test]
    fn the_text_format_is_istios_default_and_json_carries_identity_and_dry_run() {
        assert!(TEXT_FORMAT.starts_with("[%START_TIME%] \"%REQ(:METHOD)% "));
        assert!(TEXT_FORMAT.ends_with("%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"));
        assert!(TEXT_FORMAT.contains(" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "));
        // One space between operators: no line-continuation slip.
        assert!(!TEXT_FORMAT.contains("  "));
        let files = LogFiles::in_dir(Path::new("/x"), "p");
        let l = loggers(&files);
        let fields = &l[0]["typed_config"]["log_format"]["json_format"];
        assert_eq!(fields["upstream_cluster"], "%UPSTREAM_CLUSTER_RAW%");
        assert_eq!(
            fields["downstream_peer_uri_san"],
            "%DOWNSTREAM_PEER_URI_SAN%"
        );
        assert_eq!(
            fields["dry_run_result"],
            "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result)%"
        );
        assert_eq!(fields.as_object().map(Map::len), Some(27));
        assert_eq!(l[0]["typed_config"]["path"], "/x/p.json.log");
        assert_eq!(
            l[1]["typed_config"]["log_format"]["text_format_source"]["inline_string"],
            TEXT_FORMAT
        );
    }
}
