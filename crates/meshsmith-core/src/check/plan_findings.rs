//! The plan's violations (found by `plan::verify`, handed in through
//! [`CheckConfig::plan_violations`](super::CheckConfig)) -> findings of the MS4xx rule with
//! the same code. The rules do not verify the plan themselves: the binary wires the stages.

use super::schema::line_at;
use super::{Context, RuleMeta};
use crate::load::{parse_documents, Limits};
use crate::model::{Finding, Origin, PlanViolation};
use std::sync::Arc;

/// One finding per violation of `meta`'s code, at the plan line it points to.
pub fn report(meta: &RuleMeta, ctx: &Context, out: &mut Vec<Finding>) {
    let help = meta.section("Fix");
    for (v, origin) in &ctx.config.plan_violations {
        if v.code != meta.code {
            continue;
        }
        let resource = match (&v.step, v.phase) {
            (Some(step), _) => format!("plan step {step}"),
            (None, Some(phase)) => format!("plan phase {phase}"),
            (None, None) => "plan".to_string(),
        };
        out.push(meta.finding(
            resource,
            origin.clone(),
            format!("{} (at {})", v.message, v.pointer),
            help.clone(),
        ));
    }
}

/// Each violation with the line of `text` (the plan file `file`) its JSON pointer leads to;
/// no origin when the text does not parse.
pub fn with_origins(
    file: &str,
    text: &str,
    violations: Vec<PlanViolation>,
) -> Vec<(PlanViolation, Option<Origin>)> {
    let root = parse_documents(text, &Limits::default())
        .ok()
        .and_then(|docs| docs.into_iter().next())
        .map(|d| d.root);
    let file: Arc<str> = Arc::from(file);
    violations
        .into_iter()
        .map(|v| {
            let origin = root
                .as_ref()
                .map(|r| Origin::new(&file, line_at(r, &v.pointer).max(1)));
            (v, origin)
        })
        .collect()
}
