//! What a person checks after each phase: a request along every call the phase changes
//! (smoke tests, see `smoke`), the metrics to watch during the window, and when to go on or
//! roll back.
//!
//! Metric names are Istio's standard ones (`istio_requests_total`,
//! `istio_tcp_connections_opened_total`, reported by the server's sidecar) and Envoy's
//! (`envoy_cluster_outlier_detection_ejections_active`; for dry-run policies the RBAC
//! filters' shadow counters, `http.<prefix>.rbac.istio_dry_run_allow_shadow_denied` and the
//! TCP filter's `tcp.` equivalent, exported as `envoy_http_..._rbac_istio_dry_run_allow_shadow_denied`). Istio's proxies
//! export the Envoy ones only when `proxyStatsMatcher` includes them, which ROLLOUT.md says.

use super::steps::Cx;
use crate::model::*;
use std::collections::BTreeSet;

pub(crate) fn fill(topology: &Topology, cx: &Cx, phase: &mut Phase, window: &str) {
    let touched: BTreeSet<&QualifiedName> =
        phase.services.iter().chain(phase.locked.iter()).collect();
    phase.smoke_tests = super::smoke::for_phase(cx, phase);
    let selector = |list: &[QualifiedName]| {
        list.iter()
            .flat_map(|s| topology.service(s).into_iter())
            .flat_map(|m| m.workloads.iter().map(|w| w.name.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join("|")
    };
    let all: Vec<QualifiedName> = touched.iter().map(|s| (*s).clone()).collect();
    let workloads = selector(&all);
    phase.watch.push(Watch {
        what: "requests by response code, per workload of this phase".into(),
        query: format!(
            "sum by (destination_workload, response_code) (rate(istio_requests_total{{reporter=\"destination\", destination_workload=~\"{workloads}\"}}[5m]))"
        ),
        healthy: "the share of 5xx no higher than before the phase; no new 403".into(),
    });
    phase.watch.push(Watch {
        what: "TCP connections by security policy".into(),
        query: format!(
            "sum by (destination_workload, connection_security_policy) (rate(istio_tcp_connections_opened_total{{reporter=\"destination\", destination_workload=~\"{workloads}\"}}[5m]))"
        ),
        healthy: "connections keep arriving at the rate they did before".into(),
    });
    let next: Vec<QualifiedName> = cx.schedule.locked_in(phase.number + 1);
    if !next.is_empty() {
        phase.watch.push(Watch {
            what: "plaintext still reaching the services the next phase locks down".into(),
            query: format!(
                "sum by (source_workload, destination_workload) (rate(istio_requests_total{{reporter=\"destination\", connection_security_policy=\"none\", destination_workload=~\"{}\"}}[5m]))",
                selector(&next)
            ),
            healthy: "zero: every caller already speaks mTLS".into(),
        });
    }
    if phase
        .steps
        .iter()
        .any(|s| s.action == StepAction::DestinationRules)
    {
        phase.watch.push(Watch {
            what: "outlier ejections (circuit breakers)".into(),
            query: "sum by (cluster_name) (envoy_cluster_outlier_detection_ejections_active)"
                .into(),
            healthy: "zero, or brief ejections of instances that really failed".into(),
        });
    }
    if phase
        .steps
        .iter()
        .any(|s| s.action == StepAction::AuthorizationDryRun)
    {
        phase.watch.push(Watch {
            what: "requests the dry-run policies would deny".into(),
            query: "sum by (pod) (rate({__name__=~\"envoy_(http|tcp)_.*rbac_istio_dry_run_allow_shadow_denied\"}[5m]))".into(),
            healthy: "zero: a denial here is a caller the enforced policy would refuse".into(),
        });
    }
    phase.proceed_when = format!(
        "{window} have passed, every smoke test passes, the 5xx share is at its earlier level, no new 403s, no sustained ejections, and no dry-run denials"
    );
    phase.roll_back_when = "any smoke test fails, 5xx or 403 rise, an instance stays ejected, or a dry-run denial names a real caller: run this phase's rollbacks, last step first".into();
}
