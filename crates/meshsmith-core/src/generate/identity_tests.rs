//! Identities and opt-outs in generated configuration: callers that share a ServiceAccount
//! with workloads that do not call what they call get their own (an account and a patch of
//! the pod template, never a rewrite), rules name the ports each caller uses, and callers
//! that opted out of injection are admitted without identity on their ports, with their
//! callee PERMISSIVE for them and their namespace never patched to inject.

use super::fixtures::{edge, node, topology};
use super::*;

fn ap<'a>(c: &'a MeshConfig, ns: &str, name: &str) -> &'a AuthorizationPolicySpec {
    match c.find(Kind::AuthorizationPolicy, ns, name).map(|r| &r.spec) {
        Some(Spec::AuthorizationPolicy(s)) => s,
        other => panic!("no AuthorizationPolicy {name}.{ns}: {other:?}"),
    }
}

fn mode<'a>(c: &'a MeshConfig, ns: &str, name: &str) -> (&'a str, Option<&'a str>) {
    let r = c
        .find(Kind::PeerAuthentication, ns, name)
        .unwrap_or_else(|| panic!("no PeerAuthentication {name}.{ns}"));
    match &r.spec {
        Spec::PeerAuthentication(pa) => (
            pa.mtls.mode.as_str(),
            r.annotations.get(MTLS_REASON_ANNOTATION),
        ),
        _ => panic!("not a PeerAuthentication"),
    }
}

/// The store: an order service and a worker call the queue on its AMQP port; the queue also
/// serves a management port nobody calls; a front end calls nothing. All run as `default`.
pub(crate) fn store() -> Topology {
    let mut services = vec![
        node("shop", "orders", Role::SyncApi, Protocol::Http),
        node("shop", "worker", Role::Worker, Protocol::Http),
        node("shop", "queue", Role::Datastore, Protocol::Tcp),
        node("shop", "front", Role::Gateway, Protocol::Http),
    ];
    for s in &mut services {
        s.workloads[0].service_account = "default".into();
    }
    let queue = &mut services[2];
    queue.ports[0].port = 5672;
    queue.ports[0].target_port = Some(5672);
    let mut management = queue.ports[0].clone();
    (management.port, management.target_port) = (15672, Some(15672));
    queue.ports.push(management);
    let id = |n: &str| QualifiedName::new("shop", n);
    let mut to_queue = edge(&id("orders"), &id("queue"), Protocol::Tcp);
    to_queue.port = Some(5672);
    let mut from_worker = to_queue.clone();
    from_worker.from = id("worker");
    let to_orders = edge(&id("worker"), &id("orders"), Protocol::Http);
    topology(services, vec![to_queue, from_worker, to_orders], Vec::new())
}

#[test]
fn callers_sharing_default_get_accounts_of_their_own_and_the_policies_name_them() {
    // Before, the queue's policy admitted `shop/sa/default`, and with it the front end.
    let c = generate(&store(), &Policy::default(), &GenerateOptions::default());
    let accounts: Vec<&str> = c
        .of_kind(Kind::ServiceAccount)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(accounts, ["orders", "worker"]);
    let queue = ap(&c, "shop", "queue");
    assert_eq!(queue.rules.len(), 1);
    assert_eq!(
        queue.rules[0].from[0].source.principals,
        [
            "cluster.local/ns/shop/sa/orders",
            "cluster.local/ns/shop/sa/worker"
        ]
    );
    // Only the port the callers use, not the management port.
    assert_eq!(queue.rules[0].to[0].operation.ports, ["5672"]);
    let sa = c
        .find(Kind::ServiceAccount, "shop", "orders")
        .expect("orders' account");
    assert_eq!(
        sa.annotations.get(ACCOUNT_FOR_ANNOTATION),
        Some("Deployment/orders")
    );
    let Some(Spec::WorkloadPatch(patch)) = c
        .find(Kind::WorkloadPatch, "shop", "orders")
        .map(|r| &r.spec)
    else {
        panic!("no patch for orders")
    };
    assert_eq!(
        patch.previous, None,
        "default is the account of no manifest field"
    );
    assert!(c.notes.iter().any(
        |n| n.contains("ServiceAccount default is shared by 4 services")
            && n.contains("Deployment orders -> orders")
    ));
}

#[test]
fn the_accounts_and_patches_are_files_next_to_the_configuration() {
    let c = generate(&store(), &Policy::default(), &GenerateOptions::default());
    let header = Header {
        version: "test".into(),
        inputs: Vec::new(),
    };
    let files: BTreeMap<String, String> = layout(&c, &header)
        .into_iter()
        .map(|(p, t)| (p.display().to_string(), t))
        .collect();
    let patch = &files["shop/orders/deployment-orders.patch.yaml"];
    assert!(patch.contains(
        "# Merge patch, not a full Deployment: kubectl patch deployment/orders -n shop --type merge --patch-file shop/orders/deployment-orders.patch.yaml"
    ));
    assert!(patch.ends_with(
        "spec:\n  template:\n    spec:\n      serviceAccount: orders\n      serviceAccountName: orders\n"
    ));
    let account = &files["shop/orders/service-account.yaml"];
    assert!(account.contains("kind: ServiceAccount\n"));
    assert!(!account.contains("spec:"));
    let listed = &files["shop/orders/kustomization.yaml"];
    assert!(listed.contains("- service-account.yaml"));
    assert!(
        !listed.contains("patch"),
        "a patch is not applied by kustomize"
    );
    assert!(!files["kustomization.yaml"].contains("patch"));
    // Nothing in the stream to apply is a patch.
    assert!(!stream(&c, &header).contains("serviceAccountName"));
}

#[test]
fn a_name_the_manifests_use_is_never_taken() {
    // An account called orders already exists (used by nothing the graph shows).
    let options = GenerateOptions {
        service_accounts: [("shop".to_string(), "orders".to_string())].into(),
        ..GenerateOptions::default()
    };
    let c = generate(&store(), &Policy::default(), &options);
    assert!(c.find(Kind::ServiceAccount, "shop", "orders").is_none());
    assert!(c
        .find(Kind::ServiceAccount, "shop", "orders-identity")
        .is_some());
    assert!(ap(&c, "shop", "queue").rules[0].from[0]
        .source
        .principals
        .contains(&"cluster.local/ns/shop/sa/orders-identity".to_string()));
}

#[test]
fn a_job_that_shares_its_account_keeps_it_and_the_output_says_which() {
    let mut t = store();
    for s in &mut t.services {
        if s.id.name == "worker" {
            s.workloads[0].kind = WorkloadKind::Job;
        }
    }
    let c = generate(&t, &Policy::default(), &GenerateOptions::default());
    assert!(c.find(Kind::ServiceAccount, "shop", "worker").is_none());
    // The call keeps working: the shared account stays admitted, and the note says so.
    assert!(ap(&c, "shop", "queue").rules[0].from[0]
        .source
        .principals
        .contains(&"cluster.local/ns/shop/sa/default".to_string()));
    assert!(
        c.notes.iter().any(|n| n
            .starts_with("worker.shop: Job worker runs as ServiceAccount default")
            && n.contains("queue.shop")
            && n.contains("recreate it")),
        "{:?}",
        c.notes
    );
}

#[test]
fn callers_of_one_service_that_share_an_account_keep_it() {
    // Everyone running as `default` calls the queue, which runs as an account of its own:
    // sharing admits nobody that does not call it, so nothing moves.
    let mut t = store();
    t.services.retain(|s| s.id.name != "front");
    t.edges.retain(|e| e.to.name == "queue");
    for s in &mut t.services {
        if s.id.name == "queue" {
            s.workloads[0].service_account = "queue".into();
        }
    }
    let c = generate(&t, &Policy::default(), &GenerateOptions::default());
    assert_eq!(c.of_kind(Kind::ServiceAccount).count(), 0);
    assert_eq!(
        ap(&c, "shop", "queue").rules[0].from[0].source.principals,
        ["cluster.local/ns/shop/sa/default"]
    );
}

/// The store with the worker kept out of the mesh, in one of the ways Istio honours.
fn with_worker_outside(how: &str) -> (Topology, GenerateOptions) {
    let mut t = store();
    let mut options = GenerateOptions::default();
    let label = |v: &str| StringMap::from([("istio-injection".to_string(), v.to_string())]);
    for s in &mut t.services {
        if s.id.name != "worker" {
            continue;
        }
        match how {
            "annotation" => s.workloads[0].sidecar_annotation = Some(false),
            // Istio's injector skips pods on their node's network, even when they ask.
            "host network" => {
                s.workloads[0].host_network = true;
                s.workloads[0]
                    .pod_labels
                    .insert("sidecar.istio.io/inject", "true");
            }
            "label" => {
                s.workloads[0]
                    .pod_labels
                    .insert("sidecar.istio.io/inject", "false");
            }
            _ => {
                s.id.namespace = "batch".into();
                options
                    .namespace_labels
                    .insert("batch".into(), label("disabled"));
            }
        }
    }
    let worker = t
        .services
        .iter()
        .find(|s| s.id.name == "worker")
        .map(|s| s.id.clone())
        .expect("worker");
    for e in t.edges.iter_mut().filter(|e| e.from.name == "worker") {
        e.from = worker.clone();
    }
    options
        .namespace_labels
        .insert("shop".into(), label("enabled"));
    t.services.sort_by(|a, b| a.id.cmp(&b.id));
    (t, options)
}

#[test]
fn a_caller_without_a_sidecar_is_admitted_without_identity_on_its_ports_only() {
    for how in ["annotation", "label", "namespace", "host network"] {
        let (t, options) = with_worker_outside(how);
        let c = generate(&t, &Policy::default(), &options);
        // Before, the queue listed the worker's principal, which it can never present, and
        // went STRICT.
        let (mode, reason) = mode(&c, "shop", "queue");
        assert_eq!(mode, "PERMISSIVE", "{how}");
        let reason = reason.unwrap_or_default();
        assert!(reason.contains("caller worker."), "{how}: {reason}");
        assert!(reason.contains("has no sidecar"), "{how}: {reason}");
        let queue = ap(&c, "shop", "queue");
        let plain: Vec<&AuthorizationRule> = queue
            .rules
            .iter()
            .filter(|r| r.from[0].source.not_principals == ["*"])
            .collect();
        assert_eq!(plain.len(), 1, "{how}");
        assert_eq!(plain[0].to[0].operation.ports, ["5672"], "{how}");
        let principals: Vec<&String> = queue
            .rules
            .iter()
            .flat_map(|r| &r.from[0].source.principals)
            .collect();
        assert_eq!(principals, ["cluster.local/ns/shop/sa/orders"], "{how}");
        // Its other callee stays PERMISSIVE for it too; a service it does not call stays STRICT.
        assert_eq!(self::mode(&c, "shop", "orders").0, "PERMISSIVE", "{how}");
        assert_eq!(self::mode(&c, "shop", "front").0, "STRICT", "{how}");
    }
}

#[test]
fn a_namespace_that_opted_out_is_never_patched_to_inject() {
    // Before, `istio-injection: disabled` got a namespace patch setting it to `enabled`.
    let (t, options) = with_worker_outside("namespace");
    let c = generate(&t, &Policy::default(), &options);
    assert!(c.find(Kind::NamespacePatch, "", "batch").is_none());
    assert!(c
        .notes
        .iter()
        .any(|n| n.starts_with("namespace batch is labelled istio-injection: disabled")));
}

#[test]
fn generate_then_check_reports_the_opt_outs_and_nothing_of_its_own_making() {
    use crate::check::{check, CheckConfig};
    use crate::load::{load, Input, Limits};
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generate/opt-outs");
    let loaded = load(&[Input::Path(dir)], &Limits::default()).expect("fixture loads");
    let inv = crate::inventory::inventory(&loaded.objects, "default");
    let topology = crate::infer::infer(&inv);
    let options = GenerateOptions {
        namespace_labels: inv.namespace_labels(),
        ..GenerateOptions::default()
    };
    let c = generate(&topology, &Policy::default(), &options);
    assert!(c.find(Kind::NamespacePatch, "", "batch").is_none());
    let payments = ap(&c, "shop", "payments");
    assert_eq!(payments.rules.len(), 2, "{payments:?}");
    assert_eq!(
        payments.rules[0].from[0].source.principals,
        ["cluster.local/ns/shop/sa/orders"]
    );
    for rule in &payments.rules {
        assert_eq!(
            rule.to[0].operation.ports,
            ["8080"],
            "never the metrics port"
        );
    }
    // As `check C D` reads them: the manifests and the generated files.
    let header = Header {
        version: "test".into(),
        inputs: Vec::new(),
    };
    let mut objects = loaded.objects;
    objects.extend(layout_with_objects(&c, &header, std::path::Path::new("<generated>")).objects);
    let both = crate::inventory::inventory(&objects, "default");
    let findings = check(&both, &crate::infer::infer(&both), &CheckConfig::default());
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    for code in ["MS322", "MS323", "MS324", "MS325", "MS313", "MS104"] {
        assert!(!codes.contains(&code), "{code}: {findings:?}");
    }
    // The finding that reports each caller without a sidecar: its callee's exception.
    for caller in ["caller legacy.shop", "caller reporter.batch"] {
        assert!(
            findings
                .iter()
                .any(|f| f.code == "MS311" && f.message.contains(caller)),
            "{caller}: {findings:?}"
        );
    }
    // The rollout locks payments and orders down (enforced, PERMISSIVE for those callers)
    // rather than holding them, and never turns injection on in batch.
    let settings = crate::plan::PlanSettings {
        cluster: crate::plan::ClusterFacts::from_inventory(&inv),
        ..crate::plan::PlanSettings::default()
    };
    let plan = crate::plan::plan(&topology, &c, &settings);
    assert_eq!(crate::plan::verify(&plan, &topology), Vec::new());
    assert!(!plan
        .held
        .iter()
        .any(|h| h.service.name == "payments" || h.service.name == "orders"));
    let commands: Vec<&String> = plan
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .flat_map(|s| &s.commands)
        .collect();
    assert!(!commands
        .iter()
        .any(|c| c.contains("namespace batch") || c.contains("-n batch")));
}
