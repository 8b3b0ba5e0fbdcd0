//! Egress hygiene: cloud metadata endpoints and link-local hosts found in the manifests get
//! a finding and no ServiceEntry or Sidecar egress host, unless the policy file allows them
//! with a reason, which the ServiceEntry then carries.

use super::self_check_tests::self_check_loaded;
use super::service_entry::EGRESS_REASON_ANNOTATION;
use super::*;
use crate::infer::infer;
use crate::inventory::inventory;
use crate::load::{load_text, Limits};
use crate::policy::parse;

/// A collector configured with Google's metadata server, AWS's IPv6 metadata endpoint, the
/// ECS credentials address and an ordinary API.
const MANIFESTS: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: collector, namespace: obs}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: collector, namespace: obs}
spec:
  selector: {matchLabels: {app: collector}}
  template:
    metadata: {labels: {app: collector}, annotations: {sidecar.istio.io/inject: "true"}}
    spec:
      serviceAccountName: collector
      containers:
        - name: collector
          image: example/collector:1
          env:
            - {name: GCE_METADATA_URL, value: "http://metadata.google.internal/computeMetadata/v1/"}
            - {name: AWS_EC2_METADATA_SERVICE_ENDPOINT, value: "http://[fd00:ec2::254]"}
            - {name: ECS_CREDENTIALS, value: "http://169.254.170.2/v2/credentials"}
            - {name: EXPORT_URL, value: "https://api.honeycomb.io"}
"#;

const ALLOW: &str = "egress:\n  allow:\n    - host: metadata.google.internal\n      reason: \"the collector reads the instance's zone\"\n";

fn generated(policy: &Policy) -> (Topology, MeshConfig) {
    let loaded = load_text("obs.yaml", MANIFESTS, &Limits::default()).expect("manifests load");
    let topology = infer(&inventory(&loaded.objects, "default"));
    let mesh = generate(&topology, policy, &GenerateOptions::default());
    (topology, mesh)
}

fn entry_hosts(c: &MeshConfig) -> Vec<String> {
    c.of_kind(Kind::ServiceEntry)
        .filter_map(|r| match &r.spec {
            Spec::ServiceEntry(se) => Some(se.hosts.join(",")),
            _ => None,
        })
        .collect()
}

fn egress(c: &MeshConfig) -> Vec<String> {
    match c.find(Kind::Sidecar, "obs", "collector").map(|r| &r.spec) {
        Some(Spec::Sidecar(s)) => s.egress[0].hosts.clone(),
        other => panic!("no Sidecar: {other:?}"),
    }
}

/// MS216 findings of `check` over the manifests and their generated configuration.
fn flagged(policy: &Policy) -> Vec<String> {
    let loaded = load_text("obs.yaml", MANIFESTS, &Limits::default()).expect("manifests load");
    let found = self_check_loaded(loaded, "obs.yaml", policy);
    let mut hosts: Vec<String> = found
        .get("MS216")
        .map(|fs| {
            fs.iter()
                .map(|f| f.message.split('`').nth(1).unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    hosts.sort();
    hosts
}

#[test]
fn metadata_and_link_local_hosts_get_a_finding_and_no_service_entry() {
    let (topology, c) = generated(&Policy::default());
    let restricted: Vec<&str> = topology
        .external
        .iter()
        .filter(|x| x.restricted.is_some())
        .map(|x| x.host.as_str())
        .collect();
    assert_eq!(
        restricted,
        ["169.254.170.2", "fd00:ec2::254", "metadata.google.internal"]
    );
    assert_eq!(entry_hosts(&c), ["api.honeycomb.io"]);
    let hosts = egress(&c);
    assert!(
        hosts.contains(&"obs/api.honeycomb.io".to_string()),
        "{hosts:?}"
    );
    assert!(!hosts.iter().any(|h| h.contains("metadata")), "{hosts:?}");
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("metadata.google.internal") && n.contains("egress.allow")));
    assert_eq!(
        flagged(&Policy::default()),
        ["169.254.170.2", "fd00:ec2::254", "metadata.google.internal"]
    );
}

#[test]
fn an_allowed_metadata_host_gets_its_service_entry_with_the_reason() {
    let policy = parse("meshsmith.yaml", ALLOW).expect("policy parses");
    let (_, c) = generated(&policy);
    assert_eq!(
        entry_hosts(&c),
        ["api.honeycomb.io", "metadata.google.internal"]
    );
    let entry = c
        .find(
            Kind::ServiceEntry,
            "obs",
            "external-metadata-google-internal",
        )
        .expect("ServiceEntry");
    assert_eq!(
        entry.annotations.get(EGRESS_REASON_ANNOTATION),
        Some("the collector reads the instance's zone")
    );
    assert!(entry
        .reasons
        .iter()
        .any(|r| r.why.contains("meshsmith.yaml:3")));
    assert!(egress(&c).contains(&"obs/metadata.google.internal".to_string()));
    // The others stay flagged; the allowed one does not.
    assert_eq!(flagged(&policy), ["169.254.170.2", "fd00:ec2::254"]);
}

#[test]
fn an_allowance_nothing_needs_is_noted() {
    let policy = parse(
        "meshsmith.yaml",
        "egress:\n  allow:\n    - {host: 100.100.100.200, reason: \"not used here\"}\n",
    )
    .expect("policy parses");
    let (_, c) = generated(&policy);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("`100.100.100.200` (meshsmith.yaml:3) matches no")),
        "{:?}",
        c.notes
    );
}
