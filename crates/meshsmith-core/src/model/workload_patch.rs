//! The merge patch that moves one workload's pods to another ServiceAccount: written next
//! to the generated configuration (never a rewrite of the team's manifests) and applied by
//! the rollout with `kubectl patch`, with the body that takes it back.

use super::WorkloadKind;
use serde::Serialize;

/// A merge patch of one workload's pod template: `serviceAccountName` (and its deprecated
/// alias `serviceAccount`, which the API server would otherwise keep) set to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadPatchSpec {
    /// The workload patched, by kind and name (in the resource's namespace).
    #[serde(skip)]
    pub workload_kind: WorkloadKind,
    #[serde(skip)]
    pub workload: String,
    /// The account its pods run as once the patch is applied.
    #[serde(skip)]
    pub service_account: String,
    /// The account its manifest names, or `None` for none (the pods run as `default`): a
    /// rollback sets it back, or removes the field again.
    #[serde(skip)]
    pub previous: Option<String>,
}

impl WorkloadPatchSpec {
    /// `deployment-orders.patch.yaml`: the file of the service's folder it is written to.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}.patch.yaml",
            self.workload_kind.as_str().to_ascii_lowercase(),
            self.workload
        )
    }

    /// The merge patch body that sets the pod template's account to `account` (`None`:
    /// removes it, so the pods run as `default`).
    pub fn body(&self, account: Option<&str>) -> serde_json::Value {
        let account = account.map_or(serde_json::Value::Null, |a| a.into());
        let pod_spec = serde_json::json!({
            "serviceAccount": account,
            "serviceAccountName": account,
        });
        let template = serde_json::json!({ "template": { "spec": pod_spec } });
        match self.workload_kind {
            WorkloadKind::CronJob => {
                serde_json::json!({ "spec": { "jobTemplate": { "spec": template } } })
            }
            _ => serde_json::json!({ "spec": template }),
        }
    }

    /// Whether `kubectl patch` can change the workload's pods' account: a Pod's spec and a
    /// Job's template cannot change once created.
    pub fn patchable(kind: WorkloadKind) -> bool {
        !matches!(kind, WorkloadKind::Pod | WorkloadKind::Job)
    }
}
