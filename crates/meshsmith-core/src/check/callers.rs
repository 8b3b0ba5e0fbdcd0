//! What the rules about unknown callers share: a service's completeness reasons of one code,
//! reported at the place that signalled them.

use super::hosts::node_label;
use super::{Context, RuleMeta};
use crate::model::{Completeness, Finding, QualifiedName};

/// How findings name a service: as its node does, or `Service ns/name`.
pub fn service_label(ctx: &Context, id: &QualifiedName) -> String {
    ctx.topology.service(id).map_or_else(
        || format!("Service {}/{}", id.namespace, id.name),
        node_label,
    )
}

/// One finding per completeness reason with `meta`'s code.
pub fn report_reasons(meta: &RuleMeta, ctx: &Context, help: &str, out: &mut Vec<Finding>) {
    for s in &ctx.topology.services {
        if s.callers.level == Completeness::Known {
            continue;
        }
        for r in s.callers.reasons.iter().filter(|r| r.code == meta.code) {
            out.push(meta.finding(
                node_label(s),
                r.origin.clone().or_else(|| Some(s.origin.clone())),
                format!(
                    "callers of {} are {}: {}",
                    s.id,
                    s.callers.level.as_str(),
                    r.message
                ),
                help,
            ));
        }
    }
}
