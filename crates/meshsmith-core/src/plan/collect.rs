//! The collect-traffic step, last in the plan: for services whose callers are not known, what
//! to collect once every workload has its sidecar, and how to learn from it. It changes nothing
//! in the cluster; the services' policies are still in dry-run, so the traffic shows every
//! caller, and the dry-run denials name the callers the graph missed.

use crate::model::*;
use std::collections::BTreeSet;

/// Standard Istio metrics, summed over the window, by the labels `--traffic` reads.
const LABELS: &str = "reporter, source_workload, source_workload_namespace, source_principal, \
destination_service_name, destination_service_namespace, destination_workload, \
destination_workload_namespace, request_protocol, response_code, connection_security_policy";

pub(crate) fn step(id: String, services: Vec<QualifiedName>, window: &str) -> Step {
    let namespaces: BTreeSet<&str> = services.iter().map(|s| s.namespace.as_str()).collect();
    let mut commands = vec![
        format!(
            "# Every workload now has its sidecar. After {window} more of traffic, collect what shows the callers of {} (PROMETHEUS is your Prometheus URL)",
            names(&services)
        ),
        "mkdir -p traffic".to_string(),
    ];
    for ns in &namespaces {
        for (metric, file) in [
            ("istio_requests_total", "requests"),
            ("istio_tcp_connections_opened_total", "tcp"),
        ] {
            commands.push(format!(
                "curl -sG \"$PROMETHEUS/api/v1/query\" --data-urlencode \
                 'query=sum by ({LABELS}) (increase({metric}{{destination_service_namespace=\"{ns}\"}}[{window}]))' \
                 > traffic/{ns}-{file}.json"
            ));
        }
    }
    commands.push(
        "# or, where Prometheus is not at hand, the sidecars' access logs (meshConfig.accessLogFile: /dev/stdout):"
            .to_string(),
    );
    for ns in &namespaces {
        commands.push(format!(
            "for pod in $(kubectl get pods -n {ns} -o name); do kubectl logs -n {ns} \"$pod\" -c istio-proxy --since={window} > \"traffic/${{pod#pod/}}.log\"; done"
        ));
    }
    commands.push("meshsmith map MANIFESTS... --traffic traffic/".to_string());
    commands.push(
        "meshsmith onboard MANIFESTS... --traffic traffic/ -o NEW-DIR   # then follow NEW-DIR/ROLLOUT.md's lock-down steps"
            .to_string(),
    );
    Step {
        released: None,
        id,
        action: StepAction::CollectTraffic,
        services,
        resources: Vec::new(),
        commands,
        effects: Vec::new(),
        rollback: Rollback {
            folder: None,
            resources: Vec::new(),
            commands: vec![
                "# nothing to roll back: this step changes nothing in the cluster".to_string(),
            ],
            effects: Vec::new(),
        },
    }
}

fn names(services: &[QualifiedName]) -> String {
    services
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
