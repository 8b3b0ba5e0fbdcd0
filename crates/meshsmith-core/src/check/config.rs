//! How a run of `check` is tuned: per-code levels, thresholds, and the mesh facts that are
//! not in the manifests (root namespace, trust domain, installed CRDs), and what a rollout
//! plan was found to break.

use crate::model::{KeptObject, Object, Origin, PlanViolation, Severity};
use crate::policy::EgressAllowance;
use std::collections::BTreeMap;

/// The level a code is reported at; `Off` silences it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text.to_ascii_lowercase().as_str() {
            "off" | "ignore" | "none" => Some(Level::Off),
            other => Severity::parse(other).map(Level::from),
        }
    }

    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

impl From<Severity> for Level {
    fn from(s: Severity) -> Level {
        match s {
            Severity::Info => Level::Info,
            Severity::Warning => Level::Warning,
            Severity::Error => Level::Error,
        }
    }
}

/// Settings for one run. `Default` gives Istio's defaults and every rule at its own severity.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Code (e.g. `MS301`) -> level, overriding the rule's severity.
    pub levels: BTreeMap<String, Level>,
    /// Most requests one client request may become at any service through retries.
    pub retry_amplification_limit: u32,
    /// `meshConfig.rootNamespace`: policies here without a selector apply mesh-wide.
    pub root_namespace: String,
    /// Trust domain of workload identities (`<trust-domain>/ns/<ns>/sa/<sa>`).
    pub trust_domain: String,
    /// CustomResourceDefinition objects to validate Istio resources against (`--crds DIR`).
    pub crds: Vec<Object>,
    /// What `plan::verify` found in a rollout plan (`--plan FILE`), each with the line of
    /// the plan file it points at; the MS4xx rules report them.
    pub plan_violations: Vec<(PlanViolation, Option<Origin>)>,
    /// Cloud metadata and link-local hosts the policy file lets callers reach (`egress.allow`).
    pub egress_allow: Vec<EgressAllowance>,
    /// What `generate` left to the manifests' own objects (its `MeshConfig::kept`); MS342
    /// reports them.
    pub kept: Vec<KeptObject>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            levels: BTreeMap::new(),
            retry_amplification_limit: crate::model::RETRY_AMPLIFICATION_LIMIT,
            root_namespace: "istio-system".to_string(),
            trust_domain: "cluster.local".to_string(),
            crds: Vec::new(),
            plan_violations: Vec::new(),
            egress_allow: Vec::new(),
            kept: Vec::new(),
        }
    }
}

impl CheckConfig {
    pub fn level(&self, code: &str) -> Option<Level> {
        self.levels.get(code).copied()
    }
}
