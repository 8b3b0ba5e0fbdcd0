//! Smoke tests that match the Service: HTTPS where TLS reaches or ends on the load balancer,
//! its address whether published as `.ip` or `.hostname`, gateway routes with their host and
//! scheme, and in-cluster requests from a throwaway pod with the caller's identity, never
//! from the application's own image.

use super::cluster_facts::{GatewayRoute, LoadBalancer, ServicePortFacts};
use super::smoke_script_tests::{run_script, script_of, Fake, Run};
use super::*;
use crate::generate::fixtures::{edge, node, origin, topology};
use crate::generate::{generate, GenerateOptions};
use crate::model::StringMap;
use crate::policy::Policy;

const AWS_CERT: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
const AWS_PORTS: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports";

fn lb(annotations: &[(&str, &str)], ports: &[(u16, &str, Option<&str>)]) -> LoadBalancer {
    let mut map = StringMap::new();
    for (k, v) in annotations {
        map.insert(*k, *v);
    }
    LoadBalancer {
        annotations: map,
        ports: ports
            .iter()
            .map(|(port, name, app)| ServicePortFacts {
                port: *port,
                name: Some(name.to_string()),
                app_protocol: app.map(str::to_string),
            })
            .collect(),
    }
}

#[test]
fn tls_on_a_load_balancer_port_follows_the_cloud_annotations_and_the_port() {
    let ports = [(80, "http", None), (443, "web", None)];
    let cert = (AWS_CERT, "arn:aws:acm:eu-west-1:0:certificate/x");
    // AWS: every port without ssl-ports, the listed ones (by number or name) with it.
    let all = lb(&[cert], &ports);
    assert!(all.tls_on(80) && all.tls_on(443));
    let listed = lb(&[cert, (AWS_PORTS, "443")], &ports);
    assert!(!listed.tls_on(80) && listed.tls_on(443));
    let by_name = lb(&[cert, (AWS_PORTS, "web")], &ports);
    assert!(!by_name.tls_on(80) && by_name.tls_on(443));
    assert!(lb(&[cert, (AWS_PORTS, "*")], &ports).tls_on(80));
    // ssl-ports without a certificate terminates nothing.
    assert!(!lb(&[(AWS_PORTS, "443")], &ports).tls_on(443));
    // DigitalOcean and Oracle Cloud list port numbers.
    let digital_ocean = lb(
        &[(
            "service.beta.kubernetes.io/do-loadbalancer-tls-ports",
            "443",
        )],
        &ports,
    );
    assert!(digital_ocean.tls_on(443) && !digital_ocean.tls_on(80));
    let oracle = lb(
        &[(
            "service.beta.kubernetes.io/oci-load-balancer-ssl-ports",
            "443",
        )],
        &ports,
    );
    assert!(oracle.tls_on(443) && !oracle.tls_on(80));
    // A pass-through load balancer (GKE, AKS): the port's own protocol decides.
    assert!(!lb(&[], &ports).tls_on(443));
    assert!(lb(&[], &[(8443, "https-api", None)]).tls_on(8443));
    assert!(lb(&[], &[(8443, "api", Some("https"))]).tls_on(8443));
}

/// A webhook receiver behind an AWS NLB ending TLS on 443, a front door routed by the
/// ingress gateway for shop.example.com over HTTPS, and the calls between them.
fn exposed() -> (Topology, PlanSettings) {
    let mut hook = node("edge", "hook", Role::WebhookReceiver, Protocol::Http);
    hook.ports[0].port = 443;
    hook.ports[0].name = Some("http".into());
    hook.exposure.direct = Some((ServiceType::LoadBalancer, origin(4)));
    let mut front = node("edge", "front", Role::Gateway, Protocol::Http);
    front.exposure.ingress_gateway.push(origin(5));
    let api = node("shop", "orders", Role::SyncApi, Protocol::Grpc);
    let db = node("shop", "db", Role::Datastore, Protocol::Tcp);
    let edges = vec![
        edge(&hook.id, &api.id, Protocol::Grpc),
        edge(&front.id, &api.id, Protocol::Grpc),
        edge(&api.id, &db.id, Protocol::Tcp),
    ];
    let t = topology(vec![hook, front, api, db], edges, Vec::new());
    let mut settings = PlanSettings::default();
    settings.cluster.load_balancers.insert(
        QualifiedName::new("edge", "hook"),
        lb(
            &[
                (AWS_CERT, "arn:aws:acm:eu-west-1:0:certificate/x"),
                (AWS_PORTS, "443"),
            ],
            &[(443, "http", None)],
        ),
    );
    settings.cluster.gateway_routes.insert(
        QualifiedName::new("edge", "front"),
        GatewayRoute {
            host: Some("shop.example.com".into()),
            port: 443,
            tls: true,
            path: "/".into(),
        },
    );
    (t, settings)
}

/// Each phase with smoke tests, and what a run of its script did against the fake `kubectl`.
fn runs(t: &Topology, settings: &PlanSettings) -> Vec<(Phase, Run)> {
    let config = generate(t, &Policy::default(), &GenerateOptions::default());
    let plan = plan(t, &config, settings);
    plan.phases
        .into_iter()
        .filter(|p| !p.smoke_tests.is_empty())
        .map(|p| {
            let run = run_script(&script_of(&p), &[], &Fake::default());
            assert_eq!(run.code, Some(0), "phase {}: {run:?}", p.number);
            (p, run)
        })
        .collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `curl` as the pods run it: the status on a line of its own, five seconds at most.
const CURL: &str = "curl -sS -o /dev/null -w \"%{http_code}\\n\" --max-time 5";

#[test]
fn a_load_balancer_ending_tls_is_tested_over_https_at_its_ip_or_hostname() {
    let (t, settings) = exposed();
    let mut seen = 0;
    for (phase, run) in runs(&t, &settings) {
        let outside = phase
            .smoke_tests
            .iter()
            .filter(|s| s.from.name == "outside the mesh");
        for s in outside {
            seen += 1;
            assert_eq!(s.name, "smoke-lb-hook-443");
            let one = run_script(&script_of(&phase), &[&s.name], &Fake::default());
            assert_eq!(one.stdout, format!("ok {}\n", s.name));
            // The address, .ip or .hostname, then HTTPS to it (the fake answers with a
            // hostname).
            assert_eq!(
                one.calls,
                [
                    words(&[
                        "kubectl",
                        "get",
                        "service",
                        "hook",
                        "-n",
                        "edge",
                        "-o",
                        "jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}",
                    ]),
                    words(&[
                        "curl",
                        "-sS",
                        "--insecure",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}\\n",
                        "--max-time",
                        "5",
                        "https://lb.example.com:443/",
                    ]),
                ]
            );
            assert!(run.stdout.contains(&format!("ok {}\n", s.name)));
        }
    }
    assert!(seen > 0);
}

#[test]
fn a_gateway_route_is_tested_through_the_gateway_with_its_host_and_scheme() {
    let (t, settings) = exposed();
    let mut seen = 0;
    for (phase, run) in runs(&t, &settings) {
        for via in phase
            .smoke_tests
            .iter()
            .filter(|s| s.from.name == "istio-ingressgateway")
        {
            seen += 1;
            assert_eq!(via.name, "smoke-gateway-front");
            let pod = run.pod(&via.name).expect("a throwaway pod");
            assert_eq!(
                pod,
                words(&[
                    "kubectl",
                    "run",
                    "smoke-gateway-front",
                    "-n",
                    "edge",
                    "--rm",
                    "-i",
                    "--restart=Never",
                    "--image=curlimages/curl",
                    "--labels=sidecar.istio.io/inject=false",
                    "--command",
                    "--",
                    "sh",
                    "-c",
                    &format!("{CURL} --insecure --connect-to shop.example.com:443:istio-ingressgateway.istio-system.svc.cluster.local:443 https://shop.example.com:443/"),
                ])
            );
        }
        assert!(!run
            .calls
            .iter()
            .any(|c| c.get(1).is_some_and(|a| a == "exec")));
    }
    // Where it onboards and where it locks down.
    assert_eq!(seen, 2);
}

#[test]
fn in_cluster_requests_come_from_a_throwaway_pod_with_the_callers_identity() {
    let (t, settings) = exposed();
    let phases = runs(&t, &settings);
    let mut seen = 0;
    for (p, run) in &phases {
        for s in p
            .smoke_tests
            .iter()
            .filter(|s| !s.from.namespace.is_empty() && s.from.name != "istio-ingressgateway")
        {
            seen += 1;
            let name = format!("smoke-{}-{}", s.from.name, s.to.name);
            assert_eq!(s.name, name);
            // A sidecar exactly when the caller has one by the end of this phase.
            let caller_phase = phases
                .iter()
                .find(|(q, _)| q.services.contains(&s.from))
                .map(|(q, _)| q.number);
            let meshed = caller_phase.is_some_and(|c| c <= p.number);
            let (image, check, quit) = match s.to.name.as_str() {
                "db" => (
                    "--image=busybox:1.36",
                    "nc -z -w 5 db.shop.svc.cluster.local 8080".to_string(),
                    "wget -q -O /dev/null --post-data= http://127.0.0.1:15020/quitquitquit",
                ),
                to => (
                    "--image=curlimages/curl",
                    format!(
                        "{CURL} --http2-prior-knowledge http://{to}.shop.svc.cluster.local:9090/"
                    ),
                    "curl -fsS -o /dev/null -X POST http://127.0.0.1:15020/quitquitquit",
                ),
            };
            let annotation = if meshed {
                r#","metadata":{"annotations":{"proxy.istio.io/config":"{\"holdApplicationUntilProxyStarts\":true}"}}"#
            } else {
                ""
            };
            let overrides = format!(
                r#"--overrides={{"apiVersion":"v1"{annotation},"spec":{{"serviceAccountName":"{}"}}}}"#,
                s.from.name
            );
            let check = if meshed {
                format!("{check}; code=$?; {quit}; exit $code")
            } else {
                check
            };
            let label = format!("--labels=sidecar.istio.io/inject={meshed}");
            let want = words(&[
                "kubectl",
                "run",
                &name,
                "-n",
                &s.from.namespace,
                "--rm",
                "-i",
                "--restart=Never",
                image,
                &label,
                &overrides,
                "--command",
                "--",
                "sh",
                "-c",
                &check,
            ]);
            assert_eq!(run.pod(&name), Some(want.as_slice()), "phase {}", p.number);
        }
    }
    assert!(seen >= 3, "{seen}");
}
