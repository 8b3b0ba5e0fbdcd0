//! What the report says about each service, gathered once from the pipeline's results: the
//! routes (timeout and retries per port), circuit breaker, mTLS mode, authorization and the
//! callers it admits, findings, the phases that onboard and lock it down, and its files.
//!
//! In: a [`Report`]. Out: [`Facts`], looked up by service. Nothing here decides a value; it
//! reads the generated configuration and the plan as they are.

use super::Report;
use meshsmith_core::model::*;
use std::collections::{BTreeMap, HashMap};

/// One route of a service's VirtualService.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The port it matches; `None` for a route of every port.
    pub port: Option<u16>,
    /// The host the route is for, when it is an alias of the service.
    pub host: String,
    pub timeout: Option<String>,
    pub retries: Option<String>,
}

/// The authorization a service gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub dry_run: bool,
    /// Why it ships in dry-run.
    pub reason: Option<String>,
    /// Admitted callers: who (a service, the ingress gateway, or the principal) and on which ports.
    pub callers: Vec<(String, String)>,
}

/// Everything known about one service beyond the graph.
#[derive(Debug, Default)]
pub struct ServiceFacts<'a> {
    pub routes: Vec<Route>,
    pub traffic_policy: Option<&'a TrafficPolicy>,
    /// mTLS mode and, for an exception, its reason.
    pub mtls: Option<(String, Option<String>)>,
    pub authorization: Option<Authorization>,
    pub findings: Vec<&'a Finding>,
    pub onboarded_in: Option<u32>,
    pub locked_in: Option<u32>,
    pub held: Option<&'a str>,
    pub skipped: Option<&'a str>,
    /// Files of its own folder written beside the report.
    pub files: Vec<String>,
}

pub struct Facts<'a> {
    by_service: HashMap<&'a QualifiedName, ServiceFacts<'a>>,
    empty: ServiceFacts<'a>,
}

impl<'a> Facts<'a> {
    pub fn new(report: &'a Report<'a>) -> Facts<'a> {
        let mut by_service: HashMap<&QualifiedName, ServiceFacts> = HashMap::new();
        let names = report.topology.map(|t| Names::new(t, report.mesh));
        if let Some(mesh) = report.mesh {
            for r in &mesh.resources {
                let entry = by_service.entry(&r.owner).or_default();
                resource(entry, r, names.as_ref(), report);
            }
        }
        if let (Some(findings), Some(names)) = (report.findings, &names) {
            for f in findings {
                if let Some(id) = names.owner_of(&f.resource) {
                    by_service.entry(id).or_default().findings.push(f);
                }
            }
        }
        if let Some((plan, _)) = report.plan {
            phases(&mut by_service, plan);
        }
        if let Some(t) = report.topology {
            for s in &t.services {
                let prefix = format!("config/{}/{}/", s.id.namespace, s.id.name);
                let files = report.places.written_under(&prefix);
                if !files.is_empty() {
                    by_service.entry(&s.id).or_default().files = files;
                }
            }
        }
        Facts {
            by_service,
            empty: ServiceFacts::default(),
        }
    }

    pub fn of(&self, id: &QualifiedName) -> &ServiceFacts<'a> {
        self.by_service.get(id).unwrap_or(&self.empty)
    }
}

fn phases<'a>(by_service: &mut HashMap<&'a QualifiedName, ServiceFacts<'a>>, plan: &'a Plan) {
    for phase in &plan.phases {
        for id in &phase.services {
            let f = by_service.entry(id).or_default();
            f.onboarded_in = f.onboarded_in.or(Some(phase.number));
        }
        for id in &phase.locked {
            let f = by_service.entry(id).or_default();
            f.locked_in = f.locked_in.or(Some(phase.number));
        }
    }
    for h in &plan.held {
        by_service.entry(&h.service).or_default().held = Some(&h.reason);
    }
    for s in &plan.skipped {
        by_service.entry(&s.service).or_default().skipped = Some(&s.reason);
    }
}

fn resource<'a>(
    entry: &mut ServiceFacts<'a>,
    r: &'a Resource,
    names: Option<&Names>,
    report: &Report,
) {
    match &r.spec {
        Spec::VirtualService(vs) => {
            for route in &vs.http {
                entry.routes.push(Route {
                    port: route.matches.first().map(|m| m.port),
                    host: vs.hosts.first().cloned().unwrap_or_default(),
                    timeout: route.timeout.clone(),
                    retries: route.retries.as_ref().map(retries),
                });
            }
        }
        Spec::DestinationRule(dr) if entry.traffic_policy.is_none() => {
            entry.traffic_policy = Some(&dr.traffic_policy);
        }
        Spec::PeerAuthentication(pa) => {
            let reason = r
                .annotations
                .get(MTLS_REASON_ANNOTATION)
                .map(str::to_string);
            entry.mtls = Some((pa.mtls.mode.clone(), reason));
        }
        Spec::AuthorizationPolicy(ap) => {
            let dry_run = r.annotations.get(DRY_RUN_ANNOTATION) == Some("true");
            let mut callers = Vec::new();
            for rule in &ap.rules {
                let ports: Vec<&str> = rule
                    .to
                    .iter()
                    .flat_map(|t| t.operation.ports.iter().map(String::as_str))
                    .collect();
                let ports = if ports.is_empty() {
                    "any port".to_string()
                } else {
                    ports.join(", ")
                };
                for from in &rule.from {
                    for p in &from.source.principals {
                        let who = names
                            .map(|n| n.principal(p, report.ingress_principal))
                            .unwrap_or_else(|| p.clone());
                        callers.push((who, ports.clone()));
                    }
                }
            }
            callers.sort();
            callers.dedup();
            entry.authorization = Some(Authorization {
                dry_run,
                reason: r
                    .annotations
                    .get(DRY_RUN_REASON_ANNOTATION)
                    .map(str::to_string),
                callers,
            });
        }
        _ => {}
    }
}

/// `2 attempts, 1s each, on 5xx,reset`.
pub fn retries(r: &HttpRetry) -> String {
    let mut out = if r.attempts == 0 {
        "no retries".to_string()
    } else {
        format!(
            "{} {}",
            r.attempts,
            if r.attempts == 1 { "retry" } else { "retries" }
        )
    };
    if r.attempts > 0 {
        if let Some(t) = &r.per_try_timeout {
            out.push_str(&format!(", {t} per try"));
        }
        if let Some(on) = &r.retry_on {
            out.push_str(&format!(", on {on}"));
        }
    }
    out
}

/// Who is who: workloads' accounts, resource and workload names, by namespace.
struct Names<'a> {
    /// `ns/account` -> the services running as it once the rollout's account moves are made.
    accounts: BTreeMap<String, Vec<String>>,
    /// `ns/name` of a Service, alias, workload or generated resource -> its node.
    owners: HashMap<String, &'a QualifiedName>,
}

impl<'a> Names<'a> {
    fn new(t: &'a Topology, mesh: Option<&'a MeshConfig>) -> Names<'a> {
        let mut owners = HashMap::new();
        // Workloads the rollout moves to an account of their own.
        let mut moved: HashMap<(&str, &str), &str> = HashMap::new();
        for r in mesh.into_iter().flat_map(|m| m.resources.iter()) {
            owners
                .entry(format!("{}/{}", r.namespace, r.name))
                .or_insert(&r.owner);
            if let Spec::WorkloadPatch(p) = &r.spec {
                moved.insert((&r.namespace, &p.workload), &p.service_account);
            }
        }
        let mut accounts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &t.services {
            let ns = &s.id.namespace;
            owners.insert(format!("{ns}/{}", s.id.name), &s.id);
            for a in &s.aliases {
                owners.entry(format!("{ns}/{}", a.name)).or_insert(&s.id);
            }
            for w in &s.workloads {
                owners.entry(format!("{ns}/{}", w.name)).or_insert(&s.id);
                let account = moved
                    .get(&(ns.as_str(), w.name.as_str()))
                    .copied()
                    .unwrap_or(&w.service_account);
                accounts
                    .entry(format!("{ns}/{account}"))
                    .or_default()
                    .push(s.id.to_string());
            }
        }
        for list in accounts.values_mut() {
            list.sort();
            list.dedup();
        }
        Names { accounts, owners }
    }

    /// The node a finding's resource (`Kind ns/name`) belongs to.
    fn owner_of(&self, resource: &str) -> Option<&'a QualifiedName> {
        let name = resource.split_once(' ').map_or(resource, |(_, n)| n);
        self.owners.get(name.trim()).copied()
    }

    /// `orders.shop`, `ingress gateway`, or the principal itself.
    fn principal(&self, principal: &str, ingress: &str) -> String {
        if principal == ingress {
            return "ingress gateway".to_string();
        }
        let account = principal
            .split_once("/ns/")
            .and_then(|(_, rest)| rest.split_once("/sa/"))
            .map(|(ns, sa)| format!("{ns}/{sa}"));
        match account
            .as_ref()
            .and_then(|a| Some((a, self.accounts.get(a)?)))
        {
            Some((_, list)) if list.len() == 1 => list[0].clone(),
            Some((a, list)) => format!("account {a} ({})", list.join(", ")),
            None => principal.to_string(),
        }
    }
}
