//! A phase -> its gate: the PromQL queries `meshsmith gate` reads, the `curl` commands that
//! save their answers for the baseline (the window before the phase began) and for the
//! window after it, and the gate's command line.
//!
//! Each query sums a counter's increase over the window by the labels the gate needs, so one
//! instant query (`/api/v1/query` at `time=`) answers it. The answers keep no metric name, so
//! every query keeps a label that says what it measures (`response_code`, `le`,
//! `response_flags`, `cluster_name`, `authz_dry_run_result`, `listener_address`).

use crate::model::{GateQuery, Phase, PhaseGate, QualifiedName};
use std::collections::BTreeSet;

/// Labels that name a call's two ends.
const ENDS: &str = "reporter, source_workload, source_workload_namespace, destination_service_name, destination_service_namespace";

pub(crate) fn for_phase(phase: &Phase, window: &str, window_secs: u64) -> PhaseGate {
    let services: BTreeSet<&QualifiedName> =
        phase.services.iter().chain(phase.locked.iter()).collect();
    let names = alternatives(services.iter().map(|s| s.name.as_str()));
    let namespaces = alternatives(services.iter().map(|s| s.namespace.as_str()));
    let to = format!(
        "destination_service_name=~\"{names}\", destination_service_namespace=~\"{namespaces}\""
    );
    let queries = vec![
        query("requests", format!(
            "sum by ({ENDS}, request_protocol, response_code, grpc_response_status, response_flags) (increase(istio_requests_total{{{to}}}[{window}]))"
        )),
        query("latency", format!(
            "sum by ({ENDS}, le) (increase(istio_request_duration_milliseconds_bucket{{{to}}}[{window}]))"
        )),
        query("tcp", format!(
            "sum by ({ENDS}, response_flags) (increase(istio_tcp_connections_closed_total{{{to}}}[{window}]))"
        )),
        query("ejections", format!(
            "sum by (cluster_name) (increase(envoy_cluster_outlier_detection_ejections_enforced_total{{cluster_name=~\"outbound.*\"}}[{window}]))"
        )),
        query("dry-run-denials", format!(
            "label_replace(sum by (pod, namespace) (increase({{__name__=~\"envoy_(http|tcp)_.*rbac_istio_dry_run_allow_shadow_denied\", namespace=~\"{namespaces}\"}}[{window}])), \"authz_dry_run_result\", \"denied\", \"\", \"\")"
        )),
        query("plaintext-refusals", format!(
            "sum by (pod, namespace, listener_address) (increase(envoy_listener_no_filter_chain_match{{namespace=~\"{namespaces}\"}}[{window}]))"
        )),
    ];
    let folder = format!("gate/phase-{}", phase.number);
    let baseline_dir = format!("{folder}/baseline");
    let window_dir = format!("{folder}/window");
    let fetch = |dir: &str, time: &str| {
        let mut out = vec![format!("mkdir -p {dir}")];
        out.extend(queries.iter().map(|q| {
            format!(
                "curl -fsSG \"$PROMETHEUS/api/v1/query\" --data-urlencode 'query={}' --data-urlencode \"time={time}\" -o {dir}/{}.json",
                q.query, q.name
            )
        }));
        out
    };
    PhaseGate {
        baseline: fetch(&baseline_dir, "$PHASE_START"),
        window: fetch(&window_dir, &format!("$((PHASE_START + {window_secs}))")),
        command: format!(
            "meshsmith gate plan.json --phase {} --baseline {baseline_dir} --window {window_dir}",
            phase.number
        ),
        queries,
        baseline_dir,
        window_dir,
    }
}

fn query(name: &str, query: String) -> GateQuery {
    GateQuery {
        name: name.to_string(),
        query,
    }
}

/// `a|b|c`, sorted, each once; names are DNS labels, so nothing needs escaping.
fn alternatives<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = names.collect();
    set.into_iter().collect::<Vec<_>>().join("|")
}
