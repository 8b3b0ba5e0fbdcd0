//! Who may call whom under the AuthorizationPolicies present, evaluated per (caller identity,
//! callee workload, port) with Istio's order: CUSTOM, then DENY, then "no ALLOW policy allows
//! everything", then any matching ALLOW rule allows, else deny.
//!
//! A request from a workload without a sidecar carries no identity (no principal, no
//! namespace): only rules that do not name sources, or exclude them (`notPrincipals: ["*"]`),
//! match it ([`Evaluator::decide_without_identity`]).
//!
//! Requests are known only by their source identity and port, so a rule that also tests HTTP
//! fields (methods, paths, `when` conditions...) matches *some* requests: it lets an edge
//! through (some calls pass) but does not block it (some calls still pass). CUSTOM policies
//! defer to an external authorizer whose answer cannot be known here, and dry-run policies
//! enforce nothing; both are left out of the verdict.

use super::hosts::selector_admits;
use super::{CheckConfig, Index};
use crate::model::{IstioResource, Node, StringMap};

/// A workload identity: the ServiceAccount its pods run as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub namespace: String,
    pub service_account: String,
}

impl Identity {
    pub fn new(namespace: &str, service_account: &str) -> Self {
        Identity {
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/sa/{}", self.namespace, self.service_account)
    }
}

/// How much of the traffic from one identity a rule or policy matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    None,
    /// Some requests: the rule also tests things only a real request has.
    Partial,
    All,
}

/// The outcome for one caller identity at one callee workload.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    /// Allowed by this ALLOW policy, or by the absence of any ALLOW policy (`None`).
    Allowed(Option<&'a IstioResource>),
    /// Denied by this DENY policy, or because no ALLOW rule matches (`None`).
    Denied(Option<&'a IstioResource>),
}

impl Verdict<'_> {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed(_))
    }
}

/// The AuthorizationPolicies that can apply to sidecars, and the mesh facts to read them.
pub struct Evaluator<'i, 'a> {
    index: &'i Index<'a>,
    root_namespace: &'i str,
    trust_domain: &'i str,
    /// Read dry-run policies as if enforced (what they will admit once enforced).
    dry_run: bool,
}

/// Policies that sidecars apply: not bound to a gateway or waypoint by `targetRef(s)`.
fn on_sidecars(p: &IstioResource) -> bool {
    p.spec().get("targetRef").is_none() && p.spec().get("targetRefs").is_none()
}

fn is_dry_run(p: &IstioResource) -> bool {
    p.annotations.get(crate::model::DRY_RUN_ANNOTATION) == Some("true")
}

/// The caller of a request that carries no identity (no sidecar): no namespace, no account.
static NO_IDENTITY: Identity = Identity {
    namespace: String::new(),
    service_account: String::new(),
};

impl<'i, 'a> Evaluator<'i, 'a> {
    pub fn new(index: &'i Index<'a>, config: &'i CheckConfig) -> Self {
        Evaluator {
            index,
            root_namespace: &config.root_namespace,
            trust_domain: &config.trust_domain,
            dry_run: false,
        }
    }

    /// The same evaluator, reading dry-run policies as if they were enforced: what the
    /// policies will admit once the rollout enforces them.
    pub fn including_dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Policies that apply to a workload: root-namespace ones mesh-wide (selector or not),
    /// the workload's namespace ones without a selector or with a matching one.
    pub fn applicable(&self, namespace: &str, pod_labels: &StringMap) -> Vec<&'a IstioResource> {
        let root = self.index.istio("AuthorizationPolicy", self.root_namespace);
        let local: &[&IstioResource] = if namespace == self.root_namespace {
            &[]
        } else {
            self.index.istio("AuthorizationPolicy", namespace)
        };
        root.iter()
            .chain(local)
            .copied()
            .filter(|p| on_sidecars(p) && (self.dry_run || !is_dry_run(p)))
            .filter(|p| selector_admits(p.spec(), pod_labels))
            .collect()
    }

    /// The only identities the ALLOW policies can admit, when every ALLOW rule names its
    /// sources by exact principals; `None` when some rule is broader (namespaces, wildcards,
    /// no `from`), and every identity has to be tried.
    pub fn admissible(&self, applicable: &[&'a IstioResource]) -> Option<Vec<Identity>> {
        let mut found = Vec::new();
        let allow = applicable.iter().filter(|p| action(p) == "ALLOW");
        for rule in allow.flat_map(|p| p.spec().at("rules").as_seq()) {
            let from = rule.at("from").as_seq();
            if from.is_empty() {
                return None;
            }
            for source in from.iter().map(|f| f.at("source")) {
                if source.as_map().iter().any(|(k, _)| k != "principals") {
                    return None;
                }
                for principal in source
                    .at("principals")
                    .as_seq()
                    .iter()
                    .filter_map(Node::as_str)
                {
                    found.push(self.identity_of(principal)?);
                }
            }
        }
        found.sort();
        found.dedup();
        Some(found)
    }

    /// `<trust-domain>/ns/<ns>/sa/<sa>` of this mesh -> the identity; other forms -> `None`.
    fn identity_of(&self, principal: &str) -> Option<Identity> {
        if principal.contains('*') {
            return None;
        }
        let rest = principal
            .strip_prefix(self.trust_domain)?
            .strip_prefix("/ns/")?;
        let (ns, sa) = rest.split_once("/sa/")?;
        Some(Identity::new(ns, sa))
    }

    /// The verdict for `source` calling a workload on `port` (the workload's port), given
    /// the policies that apply to that workload.
    pub fn decide(
        &self,
        applicable: &[&'a IstioResource],
        source: &Identity,
        port: Option<u16>,
    ) -> Verdict<'a> {
        let source = &Subject {
            principal: format!(
                "{}/ns/{}/sa/{}",
                self.trust_domain, source.namespace, source.service_account
            ),
            account: format!("{}/{}", source.namespace, source.service_account),
            id: source,
        };
        self.decide_for(applicable, source, port)
    }

    /// The verdict for a request without identity (a caller without a sidecar, sending
    /// plain text) on `port` of a workload, given the policies that apply to it.
    pub fn decide_without_identity(
        &self,
        applicable: &[&'a IstioResource],
        port: Option<u16>,
    ) -> Verdict<'a> {
        let source = &Subject {
            principal: String::new(),
            account: String::new(),
            id: &NO_IDENTITY,
        };
        self.decide_for(applicable, source, port)
    }

    fn decide_for(
        &self,
        applicable: &[&'a IstioResource],
        source: &Subject,
        port: Option<u16>,
    ) -> Verdict<'a> {
        for p in applicable.iter().filter(|p| action(p) == "DENY") {
            if self.policy_match(p, source, port) == Match::All {
                return Verdict::Denied(Some(p));
            }
        }
        let allow: Vec<_> = applicable.iter().filter(|p| action(p) == "ALLOW").collect();
        if allow.is_empty() {
            return Verdict::Allowed(None);
        }
        allow
            .into_iter()
            .find(|p| self.policy_match(p, source, port) > Match::None)
            .map_or(Verdict::Denied(None), |p| Verdict::Allowed(Some(p)))
    }

    /// The best match of any rule; a policy without rules matches nothing.
    fn policy_match(&self, policy: &IstioResource, source: &Subject, port: Option<u16>) -> Match {
        policy
            .spec()
            .at("rules")
            .as_seq()
            .iter()
            .map(|rule| self.rule_match(rule, source, port))
            .max()
            .unwrap_or(Match::None)
    }

    fn rule_match(&self, rule: &Node, source: &Subject, port: Option<u16>) -> Match {
        let from = any_of(rule.at("from"), |f| {
            self.source_match(f.at("source"), source)
        });
        let to = any_of(rule.at("to"), |t| operation_match(t.at("operation"), port));
        let when = if rule.at("when").as_seq().is_empty() {
            Match::All
        } else {
            Match::Partial
        };
        from.min(to).min(when)
    }

    fn source_match(&self, source: &Node, subject: &Subject) -> Match {
        let (id, principal, account) = (subject.id, &subject.principal, &subject.account);
        let mut result = Match::All;
        // An empty list is an unset field (protobuf cannot tell them apart): no constraint.
        for (field, value) in source.as_map().iter().filter(|(_, v)| !is_empty_list(v)) {
            let field_match = match field.as_str() {
                "principals" => listed(value, principal),
                "notPrincipals" => unlisted(value, principal),
                "namespaces" => listed(value, &id.namespace),
                "notNamespaces" => unlisted(value, &id.namespace),
                "serviceAccounts" => listed(value, account),
                "notServiceAccounts" => unlisted(value, account),
                // Request principals and IP blocks belong to the request, not the identity.
                _ => Match::Partial,
            };
            result = result.min(field_match);
        }
        result
    }
}

/// A caller identity with the two spellings rules name it by, written once per decision.
struct Subject<'s> {
    id: &'s Identity,
    /// `<trust-domain>/ns/<ns>/sa/<sa>`
    principal: String,
    /// `<ns>/<sa>`
    account: String,
}

fn action(p: &IstioResource) -> &str {
    p.spec().at("action").as_str().unwrap_or("ALLOW")
}

/// OR over a list of `from`/`to` entries; an absent or empty list matches everything.
fn any_of(list: &Node, f: impl Fn(&Node) -> Match) -> Match {
    let items = list.as_seq();
    if items.is_empty() {
        return Match::All;
    }
    items.iter().map(f).max().unwrap_or(Match::None)
}

fn operation_match(operation: &Node, port: Option<u16>) -> Match {
    let mut result = Match::All;
    for (field, value) in operation.as_map().iter().filter(|(_, v)| !is_empty_list(v)) {
        let field_match = match (field.as_str(), port) {
            ("ports", Some(p)) => listed(value, &p.to_string()),
            ("notPorts", Some(p)) => unlisted(value, &p.to_string()),
            _ => Match::Partial,
        };
        result = result.min(field_match);
    }
    result
}

fn is_empty_list(node: &Node) -> bool {
    matches!(&node.value, crate::model::Value::Seq(items) if items.is_empty())
}

fn listed(patterns: &Node, value: &str) -> Match {
    if patterns
        .as_seq()
        .iter()
        .filter_map(Node::as_str)
        .any(|p| pattern_matches(p, value))
    {
        Match::All
    } else {
        Match::None
    }
}

fn unlisted(patterns: &Node, value: &str) -> Match {
    match listed(patterns, value) {
        Match::All => Match::None,
        _ => Match::All,
    }
}

/// Istio string matching: exact, `*` (anything non-empty), `prefix*` or `*suffix`.
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return !value.is_empty();
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    pattern == value
}

#[cfg(test)]
mod tests;
