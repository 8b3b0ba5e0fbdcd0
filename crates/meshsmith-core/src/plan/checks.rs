//! What a person checks after each phase: a request along every call the phase changes
//! (smoke tests), the metrics to watch during the window, and when to go on or roll back.
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
    for e in &topology.edges {
        if e.from == e.to || !(touched.contains(&e.from) || touched.contains(&e.to)) {
            continue;
        }
        let (Some(caller), Some(callee)) = (topology.service(&e.from), topology.service(&e.to))
        else {
            continue;
        };
        if let Some(test) = smoke(caller, callee, e.port) {
            phase.smoke_tests.push(test);
        }
    }
    for s in &touched {
        if let Some(m) = topology.service(s) {
            phase
                .smoke_tests
                .extend(from_outside(m, &cx.gateway_principal));
        }
    }
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

/// Requests that reach a service from outside the mesh's graph: through the ingress gateway
/// (its namespace from its principal, the deployment named as Istio installs it), or through
/// the service's own LoadBalancer.
fn from_outside(s: &MeshService, gateway_principal: &str) -> Vec<SmokeTest> {
    let mut out = Vec::new();
    let (Some(name), Some(port)) = (s.service.as_deref(), s.primary_port()) else {
        return out;
    };
    let ns = &s.id.namespace;
    if !s.exposure.ingress_gateway.is_empty() {
        let gw_ns = gateway_principal
            .split("/ns/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("istio-system");
        out.push(SmokeTest {
            from: QualifiedName::new(gw_ns, "istio-ingressgateway"),
            to: s.id.clone(),
            command: format!(
                "kubectl exec -n {gw_ns} deployment/istio-ingressgateway -- curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 http://{name}.{ns}.svc.cluster.local:{}/",
                port.port
            ),
            expect: "an HTTP status other than 000, 403 and 503 (name the gateway's deployment if yours differs)".into(),
        });
    }
    if let Some((ServiceType::LoadBalancer, _)) = &s.exposure.direct {
        out.push(SmokeTest {
            from: QualifiedName::new("", "outside the mesh"),
            to: s.id.clone(),
            command: format!(
                "curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 http://$(kubectl get service {name} -n {ns} -o jsonpath='{{.status.loadBalancer.ingress[0].ip}}'):{}/",
                port.port
            ),
            expect: "an HTTP status other than 000, 403 and 503: plain traffic from outside still gets in".into(),
        });
    }
    out
}

fn smoke(caller: &MeshService, callee: &MeshService, port: Option<u16>) -> Option<SmokeTest> {
    let w = caller.workloads.first()?;
    let target = match w.kind {
        WorkloadKind::Deployment => format!("deployment/{}", w.name),
        WorkloadKind::StatefulSet => format!("statefulset/{}", w.name),
        WorkloadKind::DaemonSet => format!("daemonset/{}", w.name),
        WorkloadKind::ReplicaSet => format!("replicaset/{}", w.name),
        WorkloadKind::Pod => format!("pod/{}", w.name),
        WorkloadKind::Job => format!("job/{}", w.name),
        WorkloadKind::CronJob => {
            return Some(SmokeTest {
                from: caller.id.clone(),
                to: callee.id.clone(),
                command: format!(
                    "kubectl create job -n {} --from=cronjob/{} {}-smoke",
                    caller.id.namespace, w.name, w.name
                ),
                expect: "the job completes; its logs show no connection errors".into(),
            })
        }
    };
    let host = format!(
        "{}.{}.svc.cluster.local",
        callee.service.as_deref()?,
        callee.id.namespace
    );
    let info = port
        .and_then(|p| callee.port(p))
        .or_else(|| callee.primary_port())?;
    let speaks = if info.believed == Protocol::Unknown {
        info.declared
    } else {
        info.believed
    };
    let ns = &caller.id.namespace;
    let (command, expect) = match speaks {
        Protocol::Http => (
            format!("kubectl exec -n {ns} {target} -- curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 http://{host}:{}/", info.port),
            "an HTTP status other than 000, 403 and 503",
        ),
        Protocol::Http2 | Protocol::Grpc => (
            format!("kubectl exec -n {ns} {target} -- curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 --http2-prior-knowledge http://{host}:{}/", info.port),
            "an HTTP status other than 000, 403 and 503 (gRPC answers 200 or 415 to a bare request)",
        ),
        _ => (
            format!("kubectl exec -n {ns} {target} -- nc -z -w 5 {host} {}", info.port),
            "exit status 0 (the connection opens)",
        ),
    };
    Some(SmokeTest {
        from: caller.id.clone(),
        to: callee.id.clone(),
        command,
        expect: expect.into(),
    })
}
