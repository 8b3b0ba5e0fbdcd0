//! The folder istiod reads, the sidecars' bootstraps and the SDS server's secret names, on the
//! fixture path.

use super::*;
use crate::spec::LabSpec;
use serde_json::json;

fn spec() -> LabSpec {
    serde_json::from_str(include_str!("../../tests/fixtures/shopfront-path.json"))
        .expect("fixture parses")
}

fn pod(service: &str, inbound: Option<u16>, outbound: &[u16], n: u8) -> PodPlan {
    let logs = LogFiles::in_dir(Path::new("/run/lab/logs"), service);
    let mut p = PodPlan {
        service: service.into(),
        instance: 0,
        pod: format!("{service}-0"),
        admin: 15000,
        app_port: inbound.map(|_| 20000 + u16::from(n)),
        inbound_port: inbound,
        outbound_ports: outbound.to_vec(),
        inbound_ip: Ipv4Addr::new(127, 80, 1, 2 * n),
        outbound_ip: Ipv4Addr::new(127, 80, 1, 2 * n + 1),
        logs,
        inbound: None,
    };
    p.inbound = inbound.map(|port| SocketAddrV4::new(p.inbound_ip, port));
    p
}

fn generated() -> Generated {
    let resource = |service: &str, object: Value| GeneratedResource {
        service: service.into(),
        object,
    };
    Generated {
        resources: vec![
            resource(
                "payment-service",
                json!({ "kind": "VirtualService",
                "metadata": { "name": "payment-service", "namespace": "shop" }, "spec": { "hosts": ["x"] } }),
            ),
            resource(
                "order-service",
                json!({ "kind": "Sidecar",
                "metadata": { "name": "order-service", "namespace": "shop" },
                "spec": { "egress": [{ "hosts": ["shop/payment-service.shop.svc.cluster.local"] }] } }),
            ),
            resource(
                "payment-service",
                json!({ "kind": "ServiceEntry",
                "metadata": { "name": "external-api-stripe-com", "namespace": "shop" }, "spec": {} }),
            ),
        ],
        pod_labels: [(
            "payment-service".to_string(),
            [("app".to_string(), "payment".to_string())].into(),
        )]
        .into(),
    }
}

fn of_kind<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_folder_places_each_pod_on_its_addresses_and_keeps_the_generated_policy() {
    let spec = spec();
    let pods = vec![
        pod("order-service", Some(8080), &[8080], 1),
        pod("payment-service", Some(8080), &[], 2),
    ];
    let (objects, written) = folder::objects(&spec, &generated(), &pods);
    // The generated VirtualService goes in unchanged; the external ServiceEntry stays out.
    assert_eq!(
        of_kind(&objects, "VirtualService", "payment-service")["spec"]["hosts"],
        json!(["x"])
    );
    assert_eq!(written.left_out.len(), 1);
    assert!(written.left_out[0].contains("external-api-stripe-com"));
    // The payment service, on its Service port and target port, selecting its pods' labels.
    let se = of_kind(&objects, "ServiceEntry", "lab-payment-service");
    assert_eq!(
        se["spec"]["hosts"],
        json!(["payment-service.shop.svc.cluster.local"])
    );
    assert_eq!(
        se["spec"]["workloadSelector"]["labels"],
        json!({ "app": "payment" })
    );
    // Its pod: its own address, its account, the injected pod's TLS label.
    let we = of_kind(&objects, "WorkloadEntry", "payment-service-0");
    assert_eq!(we["spec"]["address"], "127.80.1.4");
    assert_eq!(we["spec"]["labels"]["security.istio.io/tlsMode"], "istio");
    assert_eq!(we["spec"]["labels"][LAB_POD_LABEL], "payment-service-0");
    // The caller's Sidecar keeps the generated egress hosts, bound to its outbound address;
    // the inbound listener is on its pod address and target port, forwarding to its app.
    let sc = of_kind(&objects, "Sidecar", "lab-order-service-0");
    assert_eq!(sc["spec"]["egress"][0]["bind"], "127.80.1.3");
    assert_eq!(
        sc["spec"]["egress"][0]["hosts"],
        json!(["shop/payment-service.shop.svc.cluster.local"])
    );
    assert_eq!(sc["spec"]["ingress"][0]["bind"], "127.80.1.2");
    assert_eq!(sc["spec"]["ingress"][0]["port"]["number"], 8080);
    assert_eq!(
        sc["spec"]["ingress"][0]["defaultEndpoint"],
        "127.0.0.1:20001"
    );
    // A service without a generated Sidecar sees every host, as without one in a cluster.
    let sc = of_kind(&objects, "Sidecar", "lab-payment-service-0");
    assert_eq!(sc["spec"]["egress"][0]["hosts"], json!(["*/*"]));
    // Telemetry per pod, to that pod's providers in the mesh configuration.
    let mesh = folder::mesh_config(&spec, &pods);
    let names: Vec<&str> = mesh["extensionProviders"]
        .as_array()
        .expect("providers")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "lab-order-service-0-json",
            "lab-order-service-0-text",
            "lab-payment-service-0-json",
            "lab-payment-service-0-text"
        ]
    );
    assert_eq!(mesh["trustDomain"], spec.trust_domain);
}

#[test]
fn a_sidecar_describes_itself_as_an_injected_pod_without_iptables() {
    let p = pod("payment-service", Some(8080), &[], 2);
    let node = bootstrap::Node {
        pod: &p,
        namespace: "shop",
        workload: "payment-service",
        service_account: "payment-service",
        labels: json!({ "app": "payment" }),
        trust_domain: "cluster.local",
        istio_version: PROXY_ISTIO_VERSION,
        cert: "/c.crt".into(),
        key: "/c.key".into(),
        ca: "/ca.crt".into(),
    };
    let b = bootstrap::bootstrap(&node, 15010, 15011);
    assert_eq!(
        b["node"]["id"],
        "sidecar~127.80.1.4~payment-service-0.shop~shop.svc.cluster.local"
    );
    let m = &b["node"]["metadata"];
    assert_eq!(m["INTERCEPTION_MODE"], "NONE");
    assert_eq!(m["INSTANCE_IPS"], "127.80.1.4");
    assert_eq!(m["SERVICE_ACCOUNT"], "payment-service");
    assert_eq!(m["TLS_SERVER_CERT_CHAIN"], "/c.crt");
    assert_eq!(m["TLS_CLIENT_ROOT_CERT"], "/ca.crt");
    let clusters = b["static_resources"]["clusters"]
        .as_array()
        .expect("clusters");
    let names: Vec<&str> = clusters.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["xds-grpc", "sds-grpc"]);
    assert_eq!(b["dynamic_resources"]["lds_config"]["ads"], json!({}));
}

#[test]
fn addresses_are_loopback_and_every_listener_of_the_block_is_free() {
    let mut pods = vec![
        pod("order-service", Some(8080), &[8080, 9090], 1),
        pod("payment-service", Some(8080), &[], 2),
    ];
    assign_addresses(&mut pods).expect("a free block");
    for p in &pods {
        assert!(p.inbound_ip.is_loopback() && p.outbound_ip.is_loopback());
        assert_ne!(p.inbound_ip, p.outbound_ip);
        assert_eq!(p.inbound.map(|a| *a.ip()), Some(p.inbound_ip));
    }
    assert_ne!(pods[0].inbound_ip, pods[1].inbound_ip);
}
