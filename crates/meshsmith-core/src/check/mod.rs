//! Rules over the inventory (manifests and the Istio resources present) and the inferred graph.
//!
//! ```text
//!  Inventory ─┐                      ┌─▶ rules/<name>.rs ─┐
//!  Topology  ─┼─▶ Context ──registry─┤        ...         ├─▶ levels ─▶ sorted Vec<Finding>
//!  CheckConfig┘                      └─▶ rules/<name>.rs ─┘
//! ```
//!
//! `check` cannot fail: every problem in the input is a [`Finding`]. Problems that stop the
//! input from loading at all become findings too, through [`load_error_findings`], so they are
//! reported with a code like any other. Generated configuration is checked by loading its YAML
//! back, so rules only ever read Istio resources from [`Inventory::istio`].

mod callers;
mod config;
pub mod duration;
mod graph;
mod hosts;
mod index;
mod istio_types;
mod istio_webhook;
pub mod istioctl;
mod macros;
mod mtls;
mod plan_findings;
mod population;
mod port_fix;
pub mod reachability;
pub mod registry;
mod route_matches;
mod routes;
pub mod rules;
mod schema;
mod visibility;

#[cfg(test)]
mod tests;

pub use config::{CheckConfig, Level};
pub use index::Index;
pub use plan_findings::with_origins as plan_violations_with_origins;
pub use registry::{rule, RuleMeta, RULES};

use crate::load::LoadError;
use crate::model::{Finding, Inventory, Origin, Topology};
use rayon::prelude::*;
use std::sync::Arc;

/// What every rule reads.
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    pub topology: &'a Topology,
    pub config: &'a CheckConfig,
    pub index: Index<'a>,
}

/// Runs every rule and returns the findings in report order, with the configured levels
/// applied (a rule turned `Off` reports nothing).
pub fn check(inventory: &Inventory, topology: &Topology, config: &CheckConfig) -> Vec<Finding> {
    let ctx = Context {
        inventory,
        topology,
        config,
        index: Index::new(inventory, topology),
    };
    // Rules only read the context, so they run in parallel; joining their findings in
    // registry order keeps the report identical to running them one after another.
    let per_rule: Vec<Vec<Finding>> = RULES
        .par_iter()
        .filter(|rule| config.level(rule.meta.code) != Some(Level::Off))
        .map(|rule| {
            let mut findings = Vec::new();
            (rule.run)(&ctx, &mut findings);
            findings
        })
        .collect();
    finish(per_rule.into_iter().flatten().collect(), config)
}

/// Turns input problems (syntax errors, undecodable or oversized files) into findings of
/// the syntax rule, so they are rendered like every other finding. The caller still treats
/// the input as unusable.
pub fn load_error_findings(errors: &[LoadError], config: &CheckConfig) -> Vec<Finding> {
    let findings = errors
        .iter()
        .map(|e| {
            let (file, line) = load_error_place(e);
            let origin = line.map(|l| Origin::new(&Arc::from(file), l));
            rules::invalid_syntax::InvalidSyntax::META.finding(
                file,
                origin,
                without_place(&e.to_string(), file),
                "fix the file so it parses as YAML or JSON; nothing else is checked until it does",
            )
        })
        .collect();
    finish(findings, config)
}

/// `f.yaml:8:7: syntax error: ...` -> `syntax error: ...`: the place is shown separately.
fn without_place(message: &str, file: &str) -> String {
    let Some(rest) = message.strip_prefix(file) else {
        return message.to_string();
    };
    let mut rest = rest;
    while let Some(tail) = rest.strip_prefix(':') {
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            rest = tail;
            break;
        }
        rest = &tail[digits..];
    }
    rest.trim_start().to_string()
}

fn load_error_place(e: &LoadError) -> (&str, Option<u32>) {
    match e {
        LoadError::NotFound { path } => (path, None),
        LoadError::ReadFile { file, .. } | LoadError::TooLarge { file, .. } => (file, None),
        LoadError::NotUtf8 { file, line }
        | LoadError::Syntax { file, line, .. }
        | LoadError::TooDeep { file, line, .. }
        | LoadError::AliasBudget { file, line, .. }
        | LoadError::UnknownAlias { file, line }
        | LoadError::TooManyDocuments { file, line, .. }
        | LoadError::ComplexKey { file, line }
        | LoadError::Template { file, line }
        | LoadError::Invalid { file, line, .. } => (file, Some(*line)),
    }
}

fn finish(findings: Vec<Finding>, config: &CheckConfig) -> Vec<Finding> {
    let mut out: Vec<Finding> = findings
        .into_iter()
        .filter_map(|mut f| {
            match config.level(f.code) {
                Some(Level::Off) => return None,
                Some(level) => f.severity = level.severity()?,
                None => {}
            }
            Some(f)
        })
        .collect();
    crate::model::sort_findings(&mut out);
    out
}
