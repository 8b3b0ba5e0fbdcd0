//! The derivation on small graphs: chains, fan-out, cycles, pins, the ceiling and budgets
//! hard-coded by a caller.

use super::*;
use crate::generate::fixtures::shopfront;
use crate::generate::{generate, GenerateOptions};
use crate::model::*;
use crate::policy::Policy;

/// The route timeout and retries of a generated VirtualService's first route.
fn route_timeout(c: &MeshConfig, ns: &str, name: &str) -> String {
    match c.find(Kind::VirtualService, ns, name).map(|r| &r.spec) {
        Some(Spec::VirtualService(v)) => v.http[0].timeout.clone().unwrap_or_default(),
        _ => panic!("no VirtualService {ns}/{name}"),
    }
}

fn q(n: &str) -> QualifiedName {
    QualifiedName::new("ns", n)
}

fn edge(from: &str, to: &str) -> Edge {
    Edge {
        from: q(from),
        to: q(to),
        port: Some(80),
        via: Vec::new(),
        protocol: Protocol::Http,
        confidence: Confidence::High,
        evidence: Vec::new(),
        observed: None,
    }
}

/// Runs the derivation: `routed` are (name, start seconds, pinned); `edges` (from, to).
fn run(routed: &[(&str, u64, bool)], edges: &[(&str, &str)]) -> Derived {
    run_with(routed, edges, &Topology::default())
}

fn run_with(routed: &[(&str, u64, bool)], edges: &[(&str, &str)], topology: &Topology) -> Derived {
    let names: Vec<QualifiedName> = routed.iter().map(|(n, _, _)| q(n)).collect();
    let starts: HashMap<&QualifiedName, Start> = names
        .iter()
        .zip(routed)
        .map(|(n, (_, secs, pinned))| {
            (
                n,
                Start {
                    timeout: Millis::secs(*secs),
                    pinned: *pinned,
                },
            )
        })
        .collect();
    let edges: Vec<Edge> = edges.iter().map(|(a, b)| edge(a, b)).collect();
    let mut callees: HashMap<&QualifiedName, Vec<&Edge>> = HashMap::new();
    for e in &edges {
        callees.entry(&e.from).or_default().push(e);
    }
    derive(&starts, &callees, topology)
}

fn timeout(d: &Derived, n: &str) -> u64 {
    d.deadlines[&q(n)].timeout.0 / 1000
}

#[test]
fn timeouts_grow_from_the_leaves_to_the_front_door() {
    // The example's chain: api-gateway (3 s) -> order-service (5 s) -> payment-service
    // (10 s) -> ledger-service (3 s).
    let d = run(
        &[
            ("gw", 3, false),
            ("orders", 5, false),
            ("pay", 10, false),
            ("ledger", 3, false),
            ("users", 3, false),
        ],
        &[
            ("gw", "orders"),
            ("gw", "users"),
            ("orders", "pay"),
            ("pay", "ledger"),
        ],
    );
    assert_eq!(
        ["gw", "orders", "pay", "ledger", "users"].map(|n| timeout(&d, n)),
        [10, 10, 10, 3, 3]
    );
    let raise = d.deadlines[&q("orders")].raised.as_ref().expect("raised");
    assert_eq!(raise.from, Millis::secs(5));
    assert_eq!(raise.covers.callee, q("pay"));
    let why = raise.reason(Millis::secs(10), "built-in default for role aggregator");
    assert!(why.starts_with("raised from 5s (built-in default for role aggregator) to 10s: pay.ns may take up to 10s"), "{why}");
    assert!(d.deadlines[&q("pay")].raised.is_none());
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn a_call_cycle_gets_one_value_and_its_callees_are_still_covered() {
    let d = run(
        &[
            ("a", 3, false),
            ("b", 5, false),
            ("c", 3, false),
            ("slow", 8, false),
        ],
        &[("a", "b"), ("b", "c"), ("c", "a"), ("c", "slow")],
    );
    assert_eq!(
        ["a", "b", "c", "slow"].map(|n| timeout(&d, n)),
        [8, 8, 8, 8]
    );
    let a = d.deadlines[&q("a")].raised.as_ref().expect("raised");
    assert_eq!(a.cycle, vec![q("b"), q("c")]);
    assert!(a
        .reason(Millis::secs(8), "x")
        .contains("call cycle with b.ns, c.ns"));
}

#[test]
fn a_long_call_cycle_names_a_few_members_and_counts_the_rest() {
    let names: Vec<String> = (0..40).map(|i| format!("s{i:02}")).collect();
    let mut routed: Vec<(&str, u64, bool)> = names.iter().map(|n| (n.as_str(), 3, false)).collect();
    routed.push(("slow", 9, false));
    let mut edges: Vec<(&str, &str)> = (0..names.len())
        .map(|i| (names[i].as_str(), names[(i + 1) % names.len()].as_str()))
        .collect();
    edges.push(("s00", "slow"));
    let d = run(&routed, &edges);
    let r = d.deadlines[&q("s05")].raised.as_ref().expect("raised");
    assert_eq!(r.cycle.len(), CYCLE_NAMED);
    assert_eq!(r.cycle_len, 39);
    assert!(r.reason(Millis::secs(9), "x").contains(", 34 more,"));
}

#[test]
fn a_pinned_timeout_is_kept_and_the_inversion_is_noted() {
    let d = run(
        &[("gw", 3, false), ("orders", 2, true), ("pay", 10, false)],
        &[("gw", "orders"), ("orders", "pay")],
    );
    assert_eq!(timeout(&d, "orders"), 2);
    assert!(d.deadlines[&q("orders")].raised.is_none());
    // Its callers cover what it is set to, not what it should have been.
    assert_eq!(timeout(&d, "gw"), 3);
    assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
    assert!(d.notes[0]
        .starts_with("orders.ns: route timeout 2s is shorter than the 10s pay.ns may take"));
    assert!(d.notes[0].contains("never overridden"));
}

#[test]
fn raising_stops_short_of_a_timeout_too_long_to_wait() {
    let d = run(
        &[("gw", 3, false), ("batch", 45, true), ("fast", 8, false)],
        &[("gw", "batch"), ("gw", "fast")],
    );
    // The 45 s callee is not covered (that would be MS207), the 8 s one is.
    assert_eq!(timeout(&d, "gw"), 8);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("gw.ns:") && n.contains("MS207")),
        "{:?}",
        d.notes
    );
}

#[test]
fn a_callee_without_a_route_is_covered_by_the_callers_own_client_budget() {
    let mut api = service("api");
    api.settings = vec![
        setting("DB_TIMEOUT", "4s", 4.0, true),
        setting("DB_RETRIES", "1", 1.0, false),
    ];
    let topology = Topology {
        services: vec![api, service("db")],
        ..Topology::default()
    };
    let d = run_with(&[("api", 3, false)], &[("api", "db")], &topology);
    // 4 s on each of 2 tries, as check's MS203 reads an application's own retry loop.
    assert_eq!(timeout(&d, "api"), 8);
    let raise = d.deadlines[&q("api")].raised.as_ref().expect("raised");
    assert!(
        raise.covers.how.contains("DB_TIMEOUT=4s x 2 tries"),
        "{}",
        raise.covers.how
    );
}

#[test]
fn components_come_callees_first() {
    // 0 -> 1 -> 2 -> 1, 3 alone.
    let got = components(&[vec![1], vec![2], vec![1], vec![]]);
    assert_eq!(got, vec![vec![1, 2], vec![0], vec![3]]);
}

#[test]
fn every_caller_waits_as_long_as_its_slowest_callee() {
    let c = generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions::default(),
    );
    let timeout_of = |ns: &str, name: &str| -> u64 {
        Millis::parse(&route_timeout(&c, ns, name)).map_or(0, |m| m.0)
    };
    // The front door starts at 3 s, order-service at 5 s; payment-service below them may
    // take 10 s, so both wait 10 s. Before, only front doors were raised, and only to their
    // callees' role values (5 s), which left order-service under payment-service.
    assert_eq!(timeout_of("edge", "api-gateway"), 10_000);
    assert_eq!(timeout_of("shop", "order-service"), 10_000);
    for e in &shopfront().edges {
        let (Some(from), Some(to)) = (
            c.find(Kind::VirtualService, &e.from.namespace, &e.from.name),
            c.find(Kind::VirtualService, &e.to.namespace, &e.to.name),
        ) else {
            continue;
        };
        let t = |r: &Resource| match &r.spec {
            Spec::VirtualService(v) => v.http[0]
                .timeout
                .as_deref()
                .and_then(|t| Millis::parse(t).ok())
                .map_or(0, |m| m.0),
            _ => 0,
        };
        assert!(
            t(from) >= t(to),
            "{} ({}) under {} ({})",
            e.from,
            t(from),
            e.to,
            t(to)
        );
    }
    let reasons = &c
        .find(Kind::VirtualService, "shop", "order-service")
        .expect("order-service VirtualService")
        .reasons;
    assert!(
        reasons.iter().any(|r| r.field.ends_with(".timeout")
            && r.why
                .starts_with("raised from 5s (built-in default for role aggregator")
            && r.why.contains(".shop may take up to 10s")),
        "{reasons:?}"
    );
}

#[test]
fn a_timeout_the_policy_sets_is_never_raised_and_the_inversion_is_noted() {
    let policy = crate::policy::parse(
        "meshsmith.yaml",
        "services:\n  order-service:\n    timeout: 4s\n",
    )
    .expect("policy");
    let c = generate(&shopfront(), &policy, &GenerateOptions::default());
    assert_eq!(route_timeout(&c, "shop", "order-service"), "4s");
    assert!(
        c.notes.iter().any(|n| n
            .starts_with("order-service.shop: route timeout 4s is shorter than the 10s ")
            && n.contains("MS203")),
        "{:?}",
        c.notes
    );
}

#[test]
fn a_raised_timeout_is_not_cut_short_by_a_per_try_timeout() {
    let c = generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions::default(),
    );
    let (mut raised, mut kept_retries_without_per_try) = (0, 0);
    for r in c.of_kind(Kind::VirtualService) {
        let Spec::VirtualService(v) = &r.spec else {
            continue;
        };
        let Some(why) = r
            .reasons
            .iter()
            .find(|x| x.field == "spec.http[0].timeout" && x.why.starts_with("raised from"))
        else {
            continue;
        };
        raised += 1;
        // "... to 10s: <callee> may take up to <wait> (...": the per-try timeout, if any,
        // must let a try wait that long.
        let wait = why
            .why
            .split(" may take up to ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|w| Millis::parse(w).ok())
            .expect("the reason names the budget it covers");
        for route in &v.http {
            let per_try = route
                .retries
                .as_ref()
                .and_then(|x| x.per_try_timeout.as_deref());
            let attempts = route.retries.as_ref().map_or(0, |x| x.attempts);
            if attempts > 0 && per_try.is_none() {
                kept_retries_without_per_try += 1;
            }
            if let Some(p) = per_try.and_then(|p| Millis::parse(p).ok()) {
                assert!(p >= wait, "{}: per try {p} under {wait}", r.name);
            }
        }
    }
    assert!(raised >= 2, "{raised}");
    // Some raised service keeps its retries (on failures that never reached it) without
    // the per-try timeout that would give up on a try its slow callee still works on.
    assert!(kept_retries_without_per_try > 0, "{raised} raised");
}

fn service(name: &str) -> MeshService {
    MeshService {
        id: q(name),
        service: Some(name.to_string()),
        aliases: Vec::new(),
        external_name: None,
        workloads: Vec::new(),
        ports: Vec::new(),
        protocol: Protocol::Tcp,
        declared_protocol: Protocol::Tcp,
        declared_reason: String::new(),
        protocol_reason: String::new(),
        role: Role::SyncApi,
        role_reason: String::new(),
        exposure: Exposure::default(),
        settings: Vec::new(),
        timeout_audit: TimeoutAudit::None,
        origin: Origin::new(&std::sync::Arc::from("in.yaml"), 1),
        callers: CallerKnowledge::known("test"),
        hidden_calls: Vec::new(),
    }
}

fn setting(key: &str, raw: &str, value: f64, is_timeout: bool) -> ResilienceSetting {
    ResilienceSetting {
        key: key.to_string(),
        raw: raw.to_string(),
        value,
        is_timeout,
        origin: Origin::new(&std::sync::Arc::from("in.yaml"), 1),
    }
}
