//! Smoke tests: one request along each call a phase changes, and from outside to what it
//! exposes, sent as the real caller sends it, with tools that are sure to be there.
//!
//! In-cluster calls run in a throwaway pod (`kubectl run --rm`) in the caller's namespace,
//! under the caller's service account (so the callee's AuthorizationPolicy sees the caller's
//! principal), with a sidecar exactly when the caller has one by the end of the phase:
//! `curlimages/curl` for HTTP, HTTP/2 and gRPC, `busybox` (`nc -z`) for other TCP. No image
//! of the application is assumed to carry curl or nc. A CronJob caller runs one job of its
//! own instead.
//!
//! From outside: through the ingress gateway's Service, with the host, port and scheme of the
//! Gateway server that routes to the service; and at a LoadBalancer Service's address, over
//! HTTPS when TLS reaches or ends on the load balancer on that port (see `cluster_facts`).
//!
//! Each test is named (unique in its phase, a valid pod name) and says what it does as a
//! [`SmokeCheck`]; `smoke_script` writes the phase's tests as one script and each test's
//! command runs it by name.

use super::steps::Cx;
use crate::model::*;
use std::collections::{BTreeSet, HashSet};

const HTTP_EXPECT: &str = "an HTTP status other than 000, 403 and 503";
/// The longest pod name: `kubectl run` labels the pod `run=<name>`, and a label value has at
/// most 63 characters.
const NAME_MAX: usize = 63;

/// The smoke tests of a phase: the calls into or out of what it onboards or locks down, then
/// the ways in from outside; each named uniquely in the phase and run by name from its script.
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
    name_uniquely(&mut out);
    let script = super::smoke_script::path(phase.number);
    for t in &mut out {
        t.command = format!("sh {script} {}", t.name);
    }
    out
}

/// `smoke-<parts>` as a pod name, cut to [`NAME_MAX`].
fn pod_name(parts: &[&str]) -> String {
    cut(&sanitized(&format!("smoke-{}", parts.join("-"))), NAME_MAX)
}

/// `name` in lower case, every character a pod name cannot hold made `-`.
fn sanitized(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect()
}

/// `name` cut to at most `max` bytes, ending as a pod name must: not in `-` or `.`.
fn cut(name: &str, max: usize) -> String {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].trim_end_matches(['-', '.']).to_string()
}

/// Gives each test a name no earlier one has: a repeated name (two callers' names that agree
/// up to the cut, one caller calling a service on two ports) takes the first free suffix
/// `-2`, `-3`, ..., cut so that it still fits. In the tests' order, so the same plan gives
/// the same names.
fn name_uniquely(tests: &mut [SmokeTest]) {
    let mut used: HashSet<String> = HashSet::with_capacity(tests.len());
    for t in tests {
        if used.insert(t.name.clone()) {
            continue;
        }
        for n in 2.. {
            let suffix = format!("-{n}");
            let name = format!("{}{suffix}", cut(&t.name, NAME_MAX - suffix.len()));
            if used.insert(name.clone()) {
                t.name = name;
                break;
            }
        }
    }
}

/// A test of `check`, named `name` until [`name_uniquely`] has seen the phase's others.
fn named(
    from: &QualifiedName,
    to: &QualifiedName,
    name: String,
    expect: &str,
    check: SmokeCheck,
) -> SmokeTest {
    SmokeTest {
        from: from.clone(),
        to: to.clone(),
        name,
        command: String::new(),
        expect: expect.to_string(),
        check: Some(check),
    }
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
    let callee_name = callee.service.as_deref().unwrap_or(&callee.id.name);
    let name = pod_name(&[&w.name, callee_name]);
    let ns = &caller.id.namespace;
    let test = |expect: &str, check: SmokeCheck| named(&caller.id, &callee.id, name, expect, check);
    if w.kind == WorkloadKind::CronJob {
        // The job's name is a label value too.
        let job = format!(
            "{}-smoke",
            cut(&sanitized(&w.name), NAME_MAX - "-smoke".len())
        );
        return Some(test(
            "the job completes; its logs show no connection errors",
            SmokeCheck::Job {
                namespace: ns.to_string(),
                cronjob: w.name.clone(),
                job,
            },
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
    let pod = SmokePod {
        namespace: ns.to_string(),
        account: account.filter(|a| !a.is_empty()).map(str::to_string),
        sidecar: meshed,
    };
    let url = format!("http://{host}:{}/", info.port);
    Some(match speaks {
        Protocol::Http => test(
            HTTP_EXPECT,
            SmokeCheck::Http {
                pod,
                url,
                http2: false,
            },
        ),
        Protocol::Http2 | Protocol::Grpc => test(
            "an HTTP status other than 000, 403 and 503 (gRPC answers 200 or 415 to a bare request)",
            SmokeCheck::Http {
                pod,
                url,
                http2: true,
            },
        ),
        _ => test(
            if meshed {
                "exit status 0 (the connection opens); the pod's own sidecar accepts it first, so \
                 also see the callee's connections rise in the TCP query below"
            } else {
                "exit status 0 (the connection opens)"
            },
            SmokeCheck::Tcp {
                pod,
                host,
                port: info.port,
            },
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
    // A route for a host gets a request for that host, sent to the gateway's address.
    let host = route.and_then(|r| r.host.as_deref());
    let check = SmokeCheck::Gateway {
        namespace: s.id.namespace.to_string(),
        url: format!("{scheme}://{}:{port}{path}", host.unwrap_or(&address)),
        connect_to: host.map(|h| format!("{h}:{port}:{address}:{port}")),
    };
    Some(named(
        &QualifiedName::new(gw_ns, "istio-ingressgateway"),
        &s.id,
        pod_name(&["gateway", name]),
        &format!(
            "{HTTP_EXPECT}: the gateway forwards with its own identity (its Service is \
             istio-ingressgateway.{gw_ns}; name yours if it differs)"
        ),
        check,
    ))
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
    let outside = QualifiedName::new("", "outside the mesh");
    ports
        .into_iter()
        .map(|(port, tls)| {
            let expect = if tls {
                format!(
                    "{HTTP_EXPECT}: traffic from outside still gets in over TLS (--insecure: the \
                     certificate names your domain, not the load balancer's address)"
                )
            } else {
                format!("{HTTP_EXPECT}: plain traffic from outside still gets in")
            };
            named(
                &outside,
                &s.id,
                pod_name(&["lb", name, &port.to_string()]),
                &expect,
                SmokeCheck::LoadBalancer {
                    namespace: ns.to_string(),
                    service: name.to_string(),
                    port,
                    tls,
                },
            )
        })
        .collect()
}
