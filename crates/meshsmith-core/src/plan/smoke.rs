//! Smoke tests: one request along each call a phase changes, and from outside to what it
//! exposes, sent as the real caller sends it, with tools that are sure to be there.
//!
//! In-cluster calls run in a throwaway pod (`kubectl run --rm`) in the caller's namespace,
//! under the caller's service account (so the callee's AuthorizationPolicy sees the caller's
//! principal), with a sidecar exactly when the caller has one by the end of the phase:
//! `curlimages/curl` for HTTP, HTTP/2 and gRPC, `busybox` (`nc -z`) for other TCP. No image
//! of the application is assumed to carry curl or nc. A pod with a sidecar holds its command
//! until the proxy is up (`holdApplicationUntilProxyStarts`) and stops the proxy afterwards
//! (`POST :15020/quitquitquit`), so that the pod ends and `kubectl run` returns. A CronJob
//! caller runs one job of its own instead.
//!
//! From outside: through the ingress gateway's Service, with the host, port and scheme of the
//! Gateway server that routes to the service; and at a LoadBalancer Service's address, which
//! is `.ip` or `.hostname` (AWS publishes a hostname), over HTTPS when TLS reaches or ends on
//! the load balancer on that port (see `cluster_facts`).

use super::steps::Cx;
use crate::model::*;
use serde_json::json;
use std::collections::BTreeSet;

const CURL_IMAGE: &str = "curlimages/curl";
const NC_IMAGE: &str = "busybox:1.36";
const HTTP_EXPECT: &str = "an HTTP status other than 000, 403 and 503";
/// Both fields are printed; a load balancer sets one of them.
const LB_ADDRESS: &str =
    "{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}";

/// The smoke tests of a phase: the calls into or out of what it onboards or locks down, then
/// the ways in from outside.
pub(crate) fn for_phase(cx: &Cx, phase: &Phase) -> Vec<SmokeTest> {
    let topology = cx.topology;
    let touched: BTreeSet<&QualifiedName> =
        phase.services.iter().chain(phase.locked.iter()).collect();
    let mut out = Vec::new();
    for e in &topology.edges {
        if e.from == e.to || !(touched.contains(&e.from) || touched.contains(&e.to)) {
            continue;
        }
        let (Some(caller), Some(callee)) = (topology.service(&e.from), topology.service(&e.to))
        else {
            continue;
        };
        let meshed = cx
            .schedule
            .injected
            .get(&caller.id)
            .is_some_and(|p| *p <= phase.number);
        // Under the account the caller runs as by then: its own once its phase moved it.
        let account = caller
            .workloads
            .first()
            .map(|w| cx.account_at(&caller.id, w, phase.number));
        out.extend(call(caller, callee, e.port, meshed, account));
    }
    for s in &touched {
        if let Some(m) = topology.service(s) {
            out.extend(through_gateway(cx, m));
            out.extend(load_balancer(cx, m));
        }
    }
    out
}

/// A throwaway pod that runs one check.
struct Pod<'a> {
    name: String,
    namespace: &'a str,
    account: Option<&'a str>,
    sidecar: bool,
}

/// `smoke-<parts>`, cut to a valid pod name.
fn pod_name(parts: &[&str]) -> String {
    let mut name = format!("smoke-{}", parts.join("-")).to_ascii_lowercase();
    name.truncate(63);
    name.trim_end_matches(['-', '.']).to_string()
}

/// `kubectl run` of `check` (a shell command without single quotes) in `pod`.
fn run(pod: &Pod, image: &str, check: &str) -> String {
    let mut overrides = serde_json::Map::new();
    if pod.sidecar {
        overrides.insert(
            "metadata".into(),
            json!({"annotations": {"proxy.istio.io/config": "{\"holdApplicationUntilProxyStarts\":true}"}}),
        );
    }
    if let Some(account) = pod.account {
        overrides.insert("spec".into(), json!({ "serviceAccountName": account }));
    }
    let overrides = if overrides.is_empty() {
        String::new()
    } else {
        overrides.insert("apiVersion".into(), json!("v1"));
        format!(" --overrides='{}'", serde_json::Value::Object(overrides))
    };
    let script = if pod.sidecar {
        let quit = if image == CURL_IMAGE {
            "curl -fsS -o /dev/null -X POST http://127.0.0.1:15020/quitquitquit"
        } else {
            "wget -q -O /dev/null --post-data= http://127.0.0.1:15020/quitquitquit"
        };
        format!("{check}; code=$?; {quit}; exit $code")
    } else {
        check.to_string()
    };
    format!(
        "kubectl run {} -n {} --rm -i --restart=Never --image={image} --labels=sidecar.istio.io/inject={}{overrides} --command -- sh -c '{script}'",
        pod.name, pod.namespace, pod.sidecar
    )
}

fn curl(extra: &str, url: &str) -> String {
    format!("curl -sS -o /dev/null -w \"%{{http_code}}\\n\" --max-time 5{extra} {url}")
}

/// A request from `caller` to `callee` on `port`, from a pod like the caller's.
fn call(
    caller: &MeshService,
    callee: &MeshService,
    port: Option<u16>,
    meshed: bool,
    account: Option<&str>,
) -> Option<SmokeTest> {
    let w = caller.workloads.first()?;
    let test = |command: String, expect: &str| SmokeTest {
        from: caller.id.clone(),
        to: callee.id.clone(),
        command,
        expect: expect.to_string(),
    };
    let ns = &caller.id.namespace;
    if w.kind == WorkloadKind::CronJob {
        return Some(test(
            format!(
                "kubectl create job -n {ns} --from=cronjob/{0} {0}-smoke",
                w.name
            ),
            "the job completes; its logs show no connection errors",
        ));
    }
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
    let pod = Pod {
        name: pod_name(&[
            &w.name,
            callee.service.as_deref().unwrap_or(&callee.id.name),
        ]),
        namespace: ns,
        account: account.filter(|a| !a.is_empty()),
        sidecar: meshed,
    };
    let url = format!("http://{host}:{}/", info.port);
    Some(match speaks {
        Protocol::Http => test(run(&pod, CURL_IMAGE, &curl("", &url)), HTTP_EXPECT),
        Protocol::Http2 | Protocol::Grpc => test(
            run(&pod, CURL_IMAGE, &curl(" --http2-prior-knowledge", &url)),
            "an HTTP status other than 000, 403 and 503 (gRPC answers 200 or 415 to a bare request)",
        ),
        _ if meshed => test(
            run(&pod, NC_IMAGE, &format!("nc -z -w 5 {host} {}", info.port)),
            "exit status 0 (the connection opens); the pod's own sidecar accepts it first, so also \
             see the callee's connections rise in the TCP query below",
        ),
        _ => test(
            run(&pod, NC_IMAGE, &format!("nc -z -w 5 {host} {}", info.port)),
            "exit status 0 (the connection opens)",
        ),
    })
}

/// A request through the ingress gateway's Service, as the Gateway server routes it.
fn through_gateway(cx: &Cx, s: &MeshService) -> Option<SmokeTest> {
    if s.exposure.ingress_gateway.is_empty() {
        return None;
    }
    let name = s.service.as_deref()?;
    let gw_ns = cx
        .settings
        .ingress_gateway_principal
        .split("/ns/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("istio-system");
    let address = format!("istio-ingressgateway.{gw_ns}.svc.cluster.local");
    let route = cx
        .settings
        .cluster
        .gateway_routes
        .get(&QualifiedName::new(&s.id.namespace, name));
    let (scheme, port, path) = route.map_or(("http", 80, "/"), |r| {
        (
            if r.tls { "https" } else { "http" },
            r.port,
            r.path.as_str(),
        )
    });
    let insecure = if scheme == "https" { " --insecure" } else { "" };
    let check = match route.and_then(|r| r.host.as_deref()) {
        Some(host) => curl(
            &format!("{insecure} --connect-to {host}:{port}:{address}:{port}"),
            &format!("{scheme}://{host}:{port}{path}"),
        ),
        None => curl(insecure, &format!("{scheme}://{address}:{port}{path}")),
    };
    let pod = Pod {
        name: pod_name(&["gateway", name]),
        namespace: &s.id.namespace,
        account: None,
        sidecar: false,
    };
    Some(SmokeTest {
        from: QualifiedName::new(gw_ns, "istio-ingressgateway"),
        to: s.id.clone(),
        command: run(&pod, CURL_IMAGE, &check),
        expect: format!(
            "{HTTP_EXPECT}: the gateway forwards with its own identity (its Service is \
             istio-ingressgateway.{gw_ns}; name yours if it differs)"
        ),
    })
}

/// A request from outside at the service's own load balancer, on each of its ports. The
/// LoadBalancer may be an alias of the node (online-boutique's `frontend-external`).
fn load_balancer(cx: &Cx, s: &MeshService) -> Vec<SmokeTest> {
    if !matches!(s.exposure.direct, Some((ServiceType::LoadBalancer, _))) {
        return Vec::new();
    }
    let ns = &s.id.namespace;
    let lbs = &cx.settings.cluster.load_balancers;
    let found = s
        .service
        .iter()
        .chain(s.aliases.iter().map(|a| &a.name))
        .find_map(|n| {
            lbs.get(&QualifiedName::new(ns, n))
                .map(|lb| (n.as_str(), lb))
        });
    let (name, ports): (&str, Vec<(u16, bool)>) = match found {
        Some((name, lb)) => (
            name,
            lb.ports
                .iter()
                .map(|p| (p.port, lb.tls_on(p.port)))
                .collect(),
        ),
        None => {
            let (Some(name), Some(p)) = (s.service.as_deref(), s.primary_port()) else {
                return Vec::new();
            };
            let https = p
                .name
                .as_deref()
                .is_some_and(|n| n == "https" || n.starts_with("https-"));
            (name, vec![(p.port, https)])
        }
    };
    let address = format!("$(kubectl get service {name} -n {ns} -o jsonpath='{LB_ADDRESS}')");
    ports
        .into_iter()
        .map(|(port, tls)| {
            let (scheme, insecure, expect) = if tls {
                (
                    "https",
                    " --insecure",
                    format!(
                        "{HTTP_EXPECT}: traffic from outside still gets in over TLS (--insecure: the \
                         certificate names your domain, not the load balancer's address)"
                    ),
                )
            } else {
                ("http", "", format!("{HTTP_EXPECT}: plain traffic from outside still gets in"))
            };
            SmokeTest {
                from: QualifiedName::new("", "outside the mesh"),
                to: s.id.clone(),
                command: format!(
                    "curl -sS{insecure} -o /dev/null -w '%{{http_code}}\\n' --max-time 5 {scheme}://{address}:{port}/"
                ),
                expect,
            }
        })
        .collect()
}
