//! kubectl commands for one workload: the restart that brings its pods back with a sidecar,
//! and the patch that takes the sidecar away again. Kinds without a pod template to restart
//! (Job, Pod) get a comment saying what to do instead, never a command that would fail.

use crate::model::*;

/// Commands that restart a workload so its pods come back with a sidecar.
pub(crate) fn restart(ns: &str, w: &WorkloadRef) -> Vec<String> {
    let kind = match w.kind {
        WorkloadKind::Deployment => "deployment",
        WorkloadKind::StatefulSet => "statefulset",
        WorkloadKind::DaemonSet => "daemonset",
        WorkloadKind::ReplicaSet => {
            return vec![format!(
                "kubectl delete pods -n {ns} -l {}",
                selector_text(w)
            )]
        }
        other => {
            return vec![format!(
                "# {}/{} in {ns}: its next pod starts with a sidecar; nothing to restart",
                other.as_str().to_ascii_lowercase(),
                w.name
            )]
        }
    };
    vec![
        format!("kubectl rollout restart {kind}/{} -n {ns}", w.name),
        format!(
            "kubectl rollout status {kind}/{} -n {ns} --timeout=10m",
            w.name
        ),
    ]
}

/// Commands that take a workload's sidecar away again.
pub(crate) fn opt_out(ns: &str, w: &WorkloadRef) -> Vec<String> {
    const TEMPLATE: &str =
        r#"{"template":{"metadata":{"annotations":{"sidecar.istio.io/inject":"false"}}}}"#;
    let patch = |kind: &str, spec: String| {
        format!(
            "kubectl patch {kind}/{} -n {ns} --type merge -p '{{\"spec\":{spec}}}'",
            w.name
        )
    };
    match w.kind {
        WorkloadKind::Deployment => vec![patch("deployment", TEMPLATE.to_string())],
        WorkloadKind::StatefulSet => vec![patch("statefulset", TEMPLATE.to_string())],
        WorkloadKind::DaemonSet => vec![patch("daemonset", TEMPLATE.to_string())],
        WorkloadKind::CronJob => vec![patch(
            "cronjob",
            format!(r#"{{"jobTemplate":{{"spec":{TEMPLATE}}}}}"#),
        )],
        WorkloadKind::ReplicaSet => vec![
            patch("replicaset", TEMPLATE.to_string()),
            format!("kubectl delete pods -n {ns} -l {}", selector_text(w)),
        ],
        other => vec![format!(
            "# {}/{} in {ns}: recreate it from its manifest with sidecar.istio.io/inject: \"false\"",
            other.as_str().to_ascii_lowercase(),
            w.name
        )],
    }
}

pub(crate) fn selector_text(w: &WorkloadRef) -> String {
    let labels = if w.selector.is_empty() {
        &w.pod_labels
    } else {
        &w.selector
    };
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
