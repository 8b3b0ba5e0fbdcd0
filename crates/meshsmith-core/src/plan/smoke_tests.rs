//! Smoke tests that match the Service: HTTPS where TLS reaches or ends on the load balancer,
//! its address whether published as `.ip` or `.hostname`, gateway routes with their host and
//! scheme, and in-cluster requests from a throwaway pod with the caller's identity, never
//! from the application's own image.

use super::cluster_facts::{GatewayRoute, LoadBalancer, ServicePortFacts};
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

fn smoke_tests(t: &Topology, settings: &PlanSettings) -> Vec<SmokeTest> {
    let config = generate(t, &Policy::default(), &GenerateOptions::default());
    let plan = plan(t, &config, settings);
    plan.phases
        .iter()
        .flat_map(|p| p.smoke_tests.iter().cloned())
        .collect()
}

#[test]
fn a_load_balancer_ending_tls_is_tested_over_https_at_its_ip_or_hostname() {
    let (t, settings) = exposed();
    let tests = smoke_tests(&t, &settings);
    let outside: Vec<&SmokeTest> = tests
        .iter()
        .filter(|s| s.from.name == "outside the mesh")
        .collect();
    assert!(!outside.is_empty());
    for s in outside {
        assert!(s.command.contains(" https://$(kubectl get service hook -n edge -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}'):443/"), "{}", s.command);
        assert!(s.command.contains("--insecure"), "{}", s.command);
        assert!(!s.command.contains("http://"), "{}", s.command);
    }
}

#[test]
fn a_gateway_route_is_tested_through_the_gateway_with_its_host_and_scheme() {
    let (t, settings) = exposed();
    let tests = smoke_tests(&t, &settings);
    let via = tests
        .iter()
        .find(|s| s.from.name == "istio-ingressgateway")
        .expect("a test through the gateway");
    assert!(
        via.command.contains("--connect-to shop.example.com:443:istio-ingressgateway.istio-system.svc.cluster.local:443 https://shop.example.com:443/"),
        "{}",
        via.command
    );
    assert!(!via.command.contains("kubectl exec"), "{}", via.command);
}

#[test]
fn in_cluster_requests_come_from_a_throwaway_pod_with_the_callers_identity() {
    let (t, settings) = exposed();
    let config = generate(&t, &Policy::default(), &GenerateOptions::default());
    let plan = plan(&t, &config, &settings);
    let mut seen = 0;
    for p in &plan.phases {
        for s in p
            .smoke_tests
            .iter()
            .filter(|s| !s.from.namespace.is_empty())
        {
            assert!(!s.command.contains("kubectl exec"), "{}", s.command);
            if s.from.name == "istio-ingressgateway" {
                continue;
            }
            seen += 1;
            assert!(
                s.command.starts_with(&format!(
                    "kubectl run smoke-{}-{} -n {} --rm -i --restart=Never ",
                    s.from.name, s.to.name, s.from.namespace
                )),
                "{}",
                s.command
            );
            let account = format!("\"serviceAccountName\":\"{}\"", s.from.name);
            assert!(s.command.contains(&account), "{}", s.command);
            // A sidecar exactly when the caller has one by the end of this phase.
            let caller_phase = plan
                .phases
                .iter()
                .find(|q| q.services.contains(&s.from))
                .map(|q| q.number);
            let meshed = caller_phase.is_some_and(|c| c <= p.number);
            let label = format!("--labels=sidecar.istio.io/inject={meshed}");
            assert!(
                s.command.contains(&label),
                "phase {}: {}",
                p.number,
                s.command
            );
            assert_eq!(s.command.contains("quitquitquit"), meshed, "{}", s.command);
            let image = if s.to.name == "db" {
                "--image=busybox:1.36"
            } else {
                "--image=curlimages/curl"
            };
            assert!(s.command.contains(image), "{}", s.command);
        }
    }
    assert!(seen >= 3, "{seen}");
}
