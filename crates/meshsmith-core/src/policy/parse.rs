//! Policy text -> [`Policy`], strictly: every key is known, every value checked, and every
//! error names the file and line. Values not written keep the built-in defaults; the line
//! of each written value is kept in [`Policy::lines`] under its dotted key path.

use super::scalars::describe;
use super::values::parse_retry_on;
use super::*;
use crate::load::{parse_documents, Limits};
use crate::model::Node;

/// Reads a policy file. An empty file is the defaults. The first problem, if any.
pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    parse_all(file, text).map_err(|mut f| f.errors.swap_remove(0))
}

/// Every problem of a policy file, in line order.
pub type PolicyFailure = crate::load::Failure<PolicyError>;

/// Reads a policy file, reporting every problem in it at once.
pub fn parse_all(file: &str, text: &str) -> Result<Policy, PolicyFailure> {
    read(file, text)
        .map_err(|e| PolicyFailure { errors: vec![e] })?
        .map_err(|mut errors| {
            errors.sort_by_key(PolicyError::line);
            PolicyFailure { errors }
        })
}

/// The policy, or every problem found past the first syntax error (which stops reading).
fn read(file: &str, text: &str) -> Result<Result<Policy, Vec<PolicyError>>, PolicyError> {
    let limits = Limits {
        max_documents: 2,
        max_depth: 16,
        max_alias_nodes: 10_000,
        ..Limits::default()
    };
    let docs = parse_documents(text, &limits).map_err(|e| PolicyError::Syntax {
        file: file.to_string(),
        line: e.line(),
        message: describe(&e),
    })?;
    // Manifests tolerate a repeated key as kubectl does; the policy file is ours, so it is strict.
    if let Some(repeat) = docs.iter().flat_map(|d| d.duplicate_keys.iter()).next() {
        return Err(PolicyError::Syntax {
            file: file.to_string(),
            line: repeat.line,
            message: format!(
                "`{}` is written twice (first on line {})",
                repeat.key, repeat.first_line
            ),
        });
    }
    let mut reader = Reader {
        file: file.to_string(),
        text: text.lines().collect(),
        policy: Policy {
            file: Some(file.to_string()),
            ..Policy::default()
        },
        errors: Vec::new(),
    };
    match docs.as_slice() {
        [] => {}
        [doc] if doc.root.is_null() => {}
        [doc] => reader.top(&doc.root)?,
        [_, second, ..] => {
            return Err(reader.missing(second.line, "one policy document per file, found more"))
        }
    }
    reader.policy.services.sort_by(|a, b| a.key.cmp(&b.key));
    if reader.errors.is_empty() {
        Ok(Ok(reader.policy))
    } else {
        Ok(Err(reader.errors))
    }
}

pub(super) struct Reader<'t> {
    pub(super) file: String,
    /// The source lines: a mapping value knows its own line, not its key's, so key lines
    /// are found by looking back from the value.
    pub(super) text: Vec<&'t str>,
    pub(super) policy: Policy,
    /// Problems found so far: reading goes on past each, so all are reported at once.
    pub(super) errors: Vec<PolicyError>,
}

const TOP: &[&str] = &[
    "trustDomain",
    "istioVersion",
    "ingressGateway",
    "skipNamespaces",
    "roles",
    "services",
    "rollout",
    "checks",
    "egress",
];
/// What `checks:` may set a code to.
pub const CHECK_LEVELS: [&str; 4] = ["off", "info", "warning", "error"];
const ROLE: &[&str] = &[
    "timeout",
    "retries",
    "connectionPool",
    "outlierDetection",
    "retryBudget",
];
const SERVICE: &[&str] = &[
    "callers",
    "reason",
    "role",
    "timeout",
    "retries",
    "connectionPool",
    "outlierDetection",
    "mtls",
];
const RETRIES: &[&str] = &["attempts", "perTryTimeout", "retryOn", "backoff"];
const POOL: &[&str] = &[
    "maxConnections",
    "connectTimeout",
    "http1MaxPendingRequests",
    "http2MaxRequests",
    "maxRetries",
];
const OUTLIER: &[&str] = &[
    "consecutive5xxErrors",
    "interval",
    "baseEjectionTime",
    "maxEjectionPercent",
];

impl Reader<'_> {
    /// Reads every top-level key; a problem in one is recorded and the others are still read,
    /// so a person sees every problem of the file at once.
    fn top(&mut self, root: &Node) -> Result<(), PolicyError> {
        for (key, node) in self.entries(root, "the policy file", "", TOP)? {
            if let Err(e) = self.top_key(key, node) {
                self.errors.push(e);
            }
        }
        Ok(())
    }

    fn top_key(&mut self, key: &str, node: &Node) -> Result<(), PolicyError> {
        {
            match key {
                "trustDomain" => self.policy.trust_domain = self.name(node, key)?,
                "istioVersion" => {
                    self.policy.istio_version = IstioVersion::parse(&self.text(node, key)?)
                        .map_err(|m| self.bad(node, key, m))?
                }
                "ingressGateway" => {
                    for (k, v) in self.entries(node, "ingressGateway", key, &["principal"])? {
                        let principal = self.text(v, k)?;
                        if principal.contains('*') || principal.split('/').count() != 5 {
                            return Err(self.bad(v, k, "write `<trust-domain>/ns/<namespace>/sa/<account>`, without wildcards".into()));
                        }
                        self.policy.ingress_gateway_principal = principal;
                    }
                }
                "skipNamespaces" => {
                    let mut names = Vec::new();
                    for item in self.seq(node, key)? {
                        names.push(self.name(item, key)?);
                    }
                    names.sort();
                    names.dedup();
                    self.policy.skip_namespaces = names;
                }
                "roles" => {
                    for (name, block) in self.any_entries(node, key)? {
                        if let Err(e) = self.role_entry(name, block) {
                            self.errors.push(e);
                        }
                    }
                }
                "rollout" => {
                    let keys = &["phases", "window", "maxServicesPerPhase", "gate"];
                    for (k, v) in self.entries(node, key, key, keys)? {
                        match k {
                            "phases" => self.policy.rollout.phases = self.number(v, k, 1, 20)?,
                            "window" => self.policy.rollout.window = self.millis(v, k)?,
                            "gate" => self.gate(v)?,
                            _ => {
                                self.policy.rollout.max_services_per_phase =
                                    Some(self.number(v, k, 1, 100_000)?)
                            }
                        }
                    }
                }
                "checks" => {
                    for (code, level) in self.any_entries(node, key)? {
                        if let Err(e) = self.check_entry(code, level) {
                            self.errors.push(e);
                        }
                    }
                }
                "egress" => self.egress(node)?,
                "services" => {
                    for (name, block) in self.any_entries(node, key)? {
                        if let Err(e) = self.service_entry(name, block) {
                            self.errors.push(e);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `rollout.gate:`: the thresholds of `meshsmith gate`; every problem is recorded.
    fn gate(&mut self, node: &Node) -> Result<(), PolicyError> {
        let keys: Vec<&str> = crate::model::GateThresholds::reasons()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for (k, v) in self.entries(node, "rollout.gate", "rollout.gate", &keys)? {
            if let Err(e) = self.gate_key(k, v) {
                self.errors.push(e);
            }
        }
        Ok(())
    }

    fn gate_key(&mut self, key: &str, v: &Node) -> Result<(), PolicyError> {
        let mut g = self.policy.rollout.gate.clone();
        match key {
            "minRequests" => g.min_requests = self.number(v, key, 1, 1_000_000_000)?.into(),
            "errorRatePoints" => g.error_rate_points = self.decimal(v, key, 0.0, 100.0)?,
            "errorRateFactor" => g.error_rate_factor = self.decimal(v, key, 1.0, 1000.0)?,
            "p99Factor" => g.p99_factor = self.decimal(v, key, 1.0, 1000.0)?,
            "p99AddedMs" => g.p99_added_ms = self.decimal(v, key, 0.0, 3_600_000.0)?,
            "denials" => g.denials = self.number(v, key, 0, u32::MAX)?.into(),
            "dryRunDenials" => g.dry_run_denials = self.number(v, key, 0, u32::MAX)?.into(),
            "plaintextRefusals" => g.plaintext_refusals = self.number(v, key, 0, u32::MAX)?.into(),
            _ => g.outlier_ejections = self.number(v, key, 0, u32::MAX)?.into(),
        }
        self.policy.rollout.gate = g;
        Ok(())
    }

    fn role_entry(&mut self, name: &str, block: &Node) -> Result<(), PolicyError> {
        let role = Role::parse(name).ok_or_else(|| self.unknown_role(block, name))?;
        let mut defaults = self.policy.role(role);
        self.role(block, &format!("roles.{name}"), &mut defaults)?;
        self.policy.roles.insert(role, defaults);
        Ok(())
    }

    fn check_entry(&mut self, code: &str, level: &Node) -> Result<(), PolicyError> {
        let valid_code = code.len() == 5
            && code.starts_with("MS")
            && code[2..].chars().all(|c| c.is_ascii_digit());
        if !valid_code {
            let at = Node::new(crate::model::Value::Null, self.key_line(code, level.line));
            return Err(self.bad(&at, code, "check codes look like MS301".into()));
        }
        let text = self.text(level, code)?;
        if !CHECK_LEVELS.contains(&text.as_str()) {
            return Err(self.bad(
                level,
                code,
                format!("expected one of: {}", CHECK_LEVELS.join(", ")),
            ));
        }
        let line = self.key_line(code, level.line);
        self.policy.lines.insert(format!("checks.{code}"), line);
        self.policy.checks.insert(code.to_string(), text);
        Ok(())
    }

    fn service_entry(&mut self, name: &str, block: &Node) -> Result<(), PolicyError> {
        let valid = name.split('.').count() <= 2
            && name.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if !valid {
            let at = Node::new(crate::model::Value::Null, self.key_line(name, block.line));
            return Err(self.bad(
                &at,
                name,
                "a service is named `name` or `name.namespace`".into(),
            ));
        }
        let line = self.key_line(name, block.line);
        self.policy.lines.insert(format!("services.{name}"), line);
        let service = self.service(block, name)?;
        self.policy.services.push(service);
        Ok(())
    }

    fn role(&mut self, node: &Node, path: &str, out: &mut RoleDefaults) -> Result<(), PolicyError> {
        for (key, value) in self.entries(node, path, path, ROLE)? {
            let at = format!("{path}.{key}");
            match key {
                "timeout" => out.timeout = self.millis(value, key)?,
                "retries" => {
                    let r = self.retries(value, &at)?;
                    out.retries.attempts = r.attempts.unwrap_or(out.retries.attempts);
                    out.retries.per_try_timeout = r.per_try_timeout.or(out.retries.per_try_timeout);
                    out.retries.retry_on = r.retry_on.or(out.retries.retry_on.take());
                    out.retries.backoff = r.backoff.or(out.retries.backoff);
                }
                "connectionPool" => self.pool(value, &at, &mut out.connection_pool)?,
                "outlierDetection" => self.outlier(value, &at, &mut out.outlier_detection)?,
                "retryBudget" => {
                    for (k, v) in
                        self.entries(value, &at, &at, &["percent", "minRetryConcurrency"])?
                    {
                        match k {
                            "percent" => out.retry_budget.percent = self.number(v, k, 1, 100)?,
                            _ => {
                                out.retry_budget.min_retry_concurrency =
                                    self.number(v, k, 1, 10_000)?
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn service(&mut self, node: &Node, key: &str) -> Result<ServiceOverride, PolicyError> {
        let path = format!("services.{key}");
        let mut out = ServiceOverride {
            key: key.to_string(),
            ..ServiceOverride::default()
        };
        for (k, value) in self.entries(node, &path, &path, SERVICE)? {
            let at = format!("{path}.{k}");
            match k {
                "role" => {
                    let text = self.text(value, k)?;
                    out.role =
                        Some(Role::parse(&text).ok_or_else(|| self.unknown_role(value, &text))?);
                }
                "timeout" => out.timeout = Some(self.millis(value, k)?),
                "retries" => {
                    let r = self.retries(value, &at)?;
                    if r.backoff.is_some() {
                        return Err(self.bad(
                            value,
                            "backoff",
                            "set backoff per role, under `roles`".into(),
                        ));
                    }
                    out.attempts = r.attempts;
                    out.per_try_timeout = r.per_try_timeout;
                    out.retry_on = r.retry_on;
                }
                // Written values land on top of the role's, so start from the defaults of
                // the generic table and keep only what was written (lines tell which).
                "connectionPool" => {
                    let mut pool = defaults::role_defaults(Role::SyncApi).connection_pool;
                    self.pool(value, &at, &mut pool)?;
                    out.connection_pool = Some(pool);
                }
                "outlierDetection" => {
                    let mut od = defaults::role_defaults(Role::SyncApi).outlier_detection;
                    self.outlier(value, &at, &mut od)?;
                    out.outlier_detection = Some(od);
                }
                "mtls" => out.mtls = Some(self.mtls(value, &at)?),
                "callers" => {
                    let mut names = Vec::new();
                    for item in self.seq(value, k)? {
                        names.push(self.name(item, k)?);
                    }
                    names.sort();
                    names.dedup();
                    let line = self.key_line(k, value.line);
                    self.policy.lines.insert(at.clone(), line);
                    out.callers = Some((names, line));
                }
                "reason" => {
                    out.callers_reason = Some((self.text(value, k)?.trim().to_string(), value.line))
                }
                _ => {}
            }
        }
        match (&out.callers, &out.callers_reason) {
            (Some((_, line)), None) => Err(self.missing(
                *line,
                &format!("`{path}.callers` needs a `reason` saying how the callers were confirmed"),
            )),
            (None, Some((_, line))) => Err(self.missing(
                *line,
                &format!("`{path}.reason` explains `callers`, which is missing"),
            )),
            _ => Ok(out),
        }
    }

    fn retries(&mut self, node: &Node, path: &str) -> Result<PartialRetries, PolicyError> {
        let mut out = PartialRetries::default();
        for (k, v) in self.entries(node, path, path, RETRIES)? {
            match k {
                "attempts" => out.attempts = Some(self.number(v, k, 0, 10)?),
                "perTryTimeout" => out.per_try_timeout = Some(self.millis(v, k)?),
                "retryOn" => {
                    out.retry_on =
                        Some(parse_retry_on(&self.text(v, k)?).map_err(|m| self.bad(v, k, m))?)
                }
                _ => out.backoff = Some(self.millis(v, k)?),
            }
        }
        Ok(out)
    }

    fn pool(
        &mut self,
        node: &Node,
        path: &str,
        out: &mut ConnectionPool,
    ) -> Result<(), PolicyError> {
        for (k, v) in self.entries(node, path, path, POOL)? {
            match k {
                "maxConnections" => out.max_connections = self.number(v, k, 1, i32::MAX as u32)?,
                "connectTimeout" => out.connect_timeout = self.millis(v, k)?,
                "http1MaxPendingRequests" => {
                    out.http1_max_pending_requests = self.number(v, k, 1, i32::MAX as u32)?
                }
                "http2MaxRequests" => {
                    out.http2_max_requests = self.number(v, k, 1, i32::MAX as u32)?
                }
                _ => out.max_retries = self.number(v, k, 1, i32::MAX as u32)?,
            }
        }
        Ok(())
    }

    fn outlier(
        &mut self,
        node: &Node,
        path: &str,
        out: &mut OutlierDetection,
    ) -> Result<(), PolicyError> {
        for (k, v) in self.entries(node, path, path, OUTLIER)? {
            match k {
                "consecutive5xxErrors" => {
                    out.consecutive_5xx_errors = self.number(v, k, 1, 1000)?
                }
                "interval" => out.interval = self.millis(v, k)?,
                "baseEjectionTime" => out.base_ejection_time = self.millis(v, k)?,
                _ => out.max_ejection_percent = self.number(v, k, 1, 100)?,
            }
        }
        Ok(())
    }

    fn mtls(&mut self, node: &Node, path: &str) -> Result<MtlsException, PolicyError> {
        let mut mode = None;
        let mut reason = String::new();
        for (k, v) in self.entries(node, path, path, &["mode", "reason"])? {
            if k == "mode" {
                mode = Some(MtlsMode::parse(&self.text(v, k)?).map_err(|m| self.bad(v, k, m))?);
            } else {
                reason = self.text(v, k)?.trim().to_string();
            }
        }
        let mode = mode.ok_or_else(|| self.missing(node.line, "`mtls` needs a `mode`"))?;
        if mode != MtlsMode::Strict && reason.is_empty() {
            return Err(self.missing(
                node.line,
                &format!(
                    "`mtls.mode: {}` needs a `reason` saying why this service cannot be STRICT",
                    mode.as_str()
                ),
            ));
        }
        Ok(MtlsException { mode, reason })
    }
}

#[derive(Default)]
struct PartialRetries {
    attempts: Option<u32>,
    per_try_timeout: Option<Millis>,
    retry_on: Option<Vec<String>>,
    backoff: Option<Millis>,
}
