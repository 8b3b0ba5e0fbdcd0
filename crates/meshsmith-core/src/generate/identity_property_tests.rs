//! Property: on any graph where services share ServiceAccounts (`default`, or one account
//! several services run as) and callers opt out of injection (pod annotation or label, or
//! their namespace labelled `istio-injection: disabled`), the generated AuthorizationPolicies,
//! evaluated with Istio's semantics workload by workload (see `least_privilege`), admit
//! exactly the callers, each on the ports it calls, under the accounts the generated
//! configuration gives them; and requests without identity exactly on the ports callers
//! without a sidecar use (plus a directly exposed service's own ports). Every ALLOW rule
//! names ports, and no namespace that opted out is patched to inject.

use super::fixtures::{edge, node, origin, topology};
use super::least_privilege::{evaluate, lines};
use super::*;
use proptest::prelude::*;

const NAMESPACES: [&str; 2] = ["a", "b"];

/// One node as drawn: namespace, account (own, `default`, `shared`), opt-out (none, pod
/// annotation, pod label), a second port, exposed directly, a canary workload, its kind.
type Drawn = (usize, usize, usize, bool, bool, bool, usize);

fn build(nodes: &[Drawn], matrix: &[(bool, bool)]) -> Topology {
    let n = nodes.len();
    let kinds = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::CronJob,
    ];
    let services: Vec<MeshService> = nodes
        .iter()
        .enumerate()
        .map(
            |(i, &(ns, account, opt_out, metrics, exposed, canary, kind))| {
                let mut s = node(
                    NAMESPACES[ns],
                    &format!("w{i}"),
                    Role::SyncApi,
                    Protocol::Http,
                );
                let w = &mut s.workloads[0];
                w.kind = kinds[kind];
                w.service_account = match account {
                    0 => w.name.clone(),
                    1 => "default".to_string(),
                    _ => "shared".to_string(),
                };
                match opt_out {
                    1 => w.sidecar_annotation = Some(false),
                    2 => {
                        w.pod_labels.insert("sidecar.istio.io/inject", "false");
                    }
                    _ => {}
                }
                if metrics {
                    let mut p = s.ports[0].clone();
                    (p.port, p.target_port, p.name) =
                        (9102, Some(9102), Some("http-metrics".into()));
                    s.ports.push(p);
                }
                if exposed {
                    s.exposure.direct = Some((ServiceType::LoadBalancer, origin(5)));
                }
                if canary {
                    let mut c = s.workloads[0].clone();
                    c.name = format!("w{i}-canary");
                    c.kind = WorkloadKind::Deployment;
                    c.sidecar_annotation = None;
                    c.pod_labels.insert("track", "canary");
                    c.selector.insert("track", "canary");
                    s.workloads.push(c);
                }
                s
            },
        )
        .collect();
    let mut edges = Vec::new();
    for (i, from) in services.iter().enumerate() {
        for (j, to) in services.iter().enumerate() {
            let (calls, second) = matrix[i * n + j];
            if i != j && calls {
                let mut e = edge(&from.id, &to.id, to.protocol);
                // The second port, where the callee has one, else its first by name.
                e.port = to.ports.get(usize::from(second)).map(|p| p.port);
                edges.push(e);
            }
        }
    }
    topology(services, edges, Vec::new())
}

fn graph() -> impl Strategy<Value = (Topology, bool)> {
    (2usize..8).prop_flat_map(|n| {
        let node = (
            0..2usize,
            0..3usize,
            prop_oneof![6 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)],
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            0..3usize,
        );
        (
            proptest::collection::vec(node, n),
            proptest::collection::vec((prop::bool::weighted(0.4), any::<bool>()), n * n),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(nodes, matrix, disabled)| (build(&nodes, &matrix), disabled))
    })
}

fn options(disabled: bool) -> GenerateOptions {
    let mut options = GenerateOptions::default();
    let label = |v: &str| StringMap::from([("istio-injection".to_string(), v.to_string())]);
    options
        .namespace_labels
        .insert("a".into(), label("enabled"));
    options.namespace_labels.insert(
        "b".into(),
        label(if disabled { "disabled" } else { "enabled" }),
    );
    options
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn policies_admit_exactly_the_callers_on_their_ports((topology, disabled) in graph()) {
        let options = options(disabled);
        let config = generate(&topology, &Policy::default(), &options);
        let verdicts = evaluate(&topology, &[], &config, &options);
        prop_assert!(verdicts.extra.is_empty(), "admitted without an edge:\n{}", lines(&verdicts.extra));
        prop_assert!(verdicts.denied.is_empty(), "calls denied:\n{}", lines(&verdicts.denied));
        prop_assert!(verdicts.portless.is_empty(), "rules without ports: {:?}", verdicts.portless);
        // An opt-out is never overridden.
        prop_assert!(config.find(Kind::NamespacePatch, "", "b").is_none());
        // Every moved workload has its account and its patch, and nothing else moves.
        let patches = config.of_kind(Kind::WorkloadPatch).count();
        prop_assert_eq!(config.of_kind(Kind::ServiceAccount).count(), patches);
    }
}
