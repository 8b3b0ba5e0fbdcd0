//! kubectl commands for one workload: the restart that brings its pods back (with or without
//! a sidecar), the merge patch of its pod template's `sidecar.istio.io/inject` label that
//! asks for a sidecar, refuses one, or removes the label again, and the merge patch of its
//! pod template's account. A change to a pod template
//! rolls a Deployment, StatefulSet or DaemonSet by itself, so a patch is followed by waiting
//! for that rollout. Kinds whose pods cannot be restarted in place (Job, Pod) get a comment
//! saying what to do instead, never a command that would fail.

use super::injection::POD_LABEL;
use crate::model::*;

/// `deployment`, `statefulset`, `daemonset`: kinds `kubectl rollout` handles.
fn rollout_kind(kind: WorkloadKind) -> Option<&'static str> {
    match kind {
        WorkloadKind::Deployment => Some("deployment"),
        WorkloadKind::StatefulSet => Some("statefulset"),
        WorkloadKind::DaemonSet => Some("daemonset"),
        _ => None,
    }
}

fn wait(kind: &str, ns: &str, w: &WorkloadRef) -> String {
    format!(
        "kubectl rollout status {kind}/{} -n {ns} --timeout=10m",
        w.name
    )
}

fn with(sidecar: bool) -> &'static str {
    if sidecar {
        "with"
    } else {
        "without"
    }
}

/// Commands that restart a workload so its pods come back with (or without) a sidecar.
pub(crate) fn restart(ns: &str, w: &WorkloadRef, sidecar: bool) -> Vec<String> {
    if let Some(kind) = rollout_kind(w.kind) {
        return vec![
            format!("kubectl rollout restart {kind}/{} -n {ns}", w.name),
            wait(kind, ns, w),
        ];
    }
    match w.kind {
        WorkloadKind::ReplicaSet => vec![format!(
            "kubectl delete pods -n {ns} -l {}",
            selector_text(w)
        )],
        other => vec![format!(
            "# {}/{} in {ns}: its next pod starts {} a sidecar; nothing to restart",
            other.as_str().to_ascii_lowercase(),
            w.name,
            with(sidecar)
        )],
    }
}

/// Sets the pod template's `sidecar.istio.io/inject` label to `value` (removes it for
/// `None`, as a merge patch does with `null`), and brings the pods back under it.
pub(crate) fn set_pod_label(ns: &str, w: &WorkloadRef, value: Option<&str>) -> Vec<String> {
    let label = match value {
        Some(v) => format!("\"{v}\""),
        None => "null".to_string(),
    };
    let template =
        format!(r#"{{"template":{{"metadata":{{"labels":{{"{POD_LABEL}":{label}}}}}}}}}"#);
    let patch = |kind: &str, spec: &str| {
        format!(
            "kubectl patch {kind}/{} -n {ns} --type merge -p '{{\"spec\":{spec}}}'",
            w.name
        )
    };
    let sidecar = value == Some("true");
    if let Some(kind) = rollout_kind(w.kind) {
        return vec![patch(kind, &template), wait(kind, ns, w)];
    }
    match w.kind {
        WorkloadKind::ReplicaSet => vec![
            patch("replicaset", &template),
            format!("kubectl delete pods -n {ns} -l {}", selector_text(w)),
        ],
        WorkloadKind::CronJob => vec![
            patch(
                "cronjob",
                &format!(r#"{{"jobTemplate":{{"spec":{template}}}}}"#),
            ),
            format!(
                "# cronjob/{} in {ns}: its next job starts {} a sidecar",
                w.name,
                with(sidecar)
            ),
        ],
        other => {
            let wanted = match value {
                Some(v) => format!("with the pod label {POD_LABEL}: \"{v}\""),
                None => format!("without the pod label {POD_LABEL}"),
            };
            vec![format!(
                "# {}/{} in {ns}: its pod template cannot change; recreate it from its manifest {wanted}",
                other.as_str().to_ascii_lowercase(),
                w.name
            )]
        }
    }
}

/// Moves a workload's pods to `account` (`None`: the field removed, so they run as
/// `default`) by a merge patch of its pod template, and brings the pods back under it.
pub(crate) fn set_account(
    ns: &str,
    w: &WorkloadRef,
    patch: &WorkloadPatchSpec,
    account: Option<&str>,
) -> Vec<String> {
    let body = patch.body(account);
    let command = |kind: &str| {
        format!(
            "kubectl patch {kind}/{} -n {ns} --type merge -p '{body}'",
            w.name
        )
    };
    let runs_as = account.unwrap_or("default");
    if let Some(kind) = rollout_kind(w.kind) {
        return vec![command(kind), wait(kind, ns, w)];
    }
    match w.kind {
        WorkloadKind::ReplicaSet => vec![
            command("replicaset"),
            format!("kubectl delete pods -n {ns} -l {}", selector_text(w)),
        ],
        WorkloadKind::CronJob => vec![
            command("cronjob"),
            format!(
                "# cronjob/{} in {ns}: its next job runs as {runs_as}",
                w.name
            ),
        ],
        other => vec![format!(
            "# {}/{} in {ns}: its pod spec cannot change; recreate it from its manifest with serviceAccountName: {runs_as}",
            other.as_str().to_ascii_lowercase(),
            w.name
        )],
    }
}

/// Commands that take a workload's sidecar away where its namespace injects every pod: the
/// pod label `sidecar.istio.io/inject: "false"`, which Istio honours over the namespace's.
pub(crate) fn opt_out(ns: &str, w: &WorkloadRef) -> Vec<String> {
    set_pod_label(ns, w, Some("false"))
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
