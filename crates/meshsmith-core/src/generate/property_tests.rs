//! Property: on any graph, the generated AuthorizationPolicies let a workload's identity in
//! exactly where the graph has an edge from it, evaluated the way Istio does (every ALLOW
//! policy whose selector matches the workload; none matching = allow; some = any rule).

use super::fixtures::{edge, node, topology};
use super::*;
use proptest::prelude::*;

const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const PROTOCOLS: [Protocol; 3] = [Protocol::Http, Protocol::Grpc, Protocol::Tcp];

fn graph() -> impl Strategy<Value = Topology> {
    (1usize..9).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                (
                    0..NAMESPACES.len(),
                    0..Role::ALL.len(),
                    0..PROTOCOLS.len(),
                    any::<bool>(),
                ),
                n,
            ),
            proptest::collection::vec(any::<bool>(), n * n),
        )
            .prop_map(move |(nodes, matrix)| {
                let services: Vec<MeshService> = nodes
                    .iter()
                    .enumerate()
                    .map(|(i, (ns, role, proto, exposed))| {
                        let mut s = node(
                            NAMESPACES[*ns],
                            &format!("w{i}"),
                            Role::ALL[*role],
                            PROTOCOLS[*proto],
                        );
                        if *exposed {
                            s.exposure.ingress_gateway.push(super::fixtures::origin(9));
                        }
                        s
                    })
                    .collect();
                let mut edges = Vec::new();
                for (i, from) in services.iter().enumerate() {
                    for (j, to) in services.iter().enumerate() {
                        if i != j && matrix[i * n + j] {
                            edges.push(edge(&from.id, &to.id, to.protocol));
                        }
                    }
                }
                topology(services, edges, Vec::new())
            })
    })
}

/// Whether the policies let `principal` reach `workload` (pod labels) in `namespace`.
fn allows(config: &MeshConfig, namespace: &str, labels: &StringMap, principal: &str) -> bool {
    let applying: Vec<&AuthorizationPolicySpec> = config
        .of_kind(Kind::AuthorizationPolicy)
        .filter(|r| r.namespace == namespace)
        .filter_map(|r| match &r.spec {
            Spec::AuthorizationPolicy(spec) => Some(spec),
            _ => None,
        })
        .filter(|spec| {
            spec.selector
                .match_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect();
    if applying.is_empty() {
        return true;
    }
    applying.iter().any(|spec| {
        spec.rules.iter().any(|rule| {
            rule.from.iter().all(|f| {
                let s = &f.source;
                let named = s.principals.is_empty() || s.principals.iter().any(|p| p == principal);
                // A mesh caller always presents an identity, which `*` matches.
                let excluded = s.not_principals.iter().any(|p| p == principal || p == "*");
                named && !excluded
            })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn callers_are_allowed_exactly_where_there_is_an_edge(topology in graph()) {
        let policy = Policy::default();
        let config = generate(&topology, &policy, &GenerateOptions::default());
        for callee in &topology.services {
            let w = &callee.workloads[0];
            for caller in &topology.services {
                let principal = format!("cluster.local/ns/{}/sa/{}", caller.id.namespace, caller.workloads[0].service_account);
                let edge = topology.edges.iter().any(|e| e.from == caller.id && e.to == callee.id);
                prop_assert_eq!(
                    allows(&config, &callee.id.namespace, &w.pod_labels, &principal),
                    edge,
                    "{} -> {}", caller.id, callee.id
                );
            }
            let gateway = allows(&config, &callee.id.namespace, &w.pod_labels, &policy.ingress_gateway_principal);
            prop_assert_eq!(gateway, !callee.exposure.ingress_gateway.is_empty(), "ingress -> {}", callee.id);
        }
    }
}
