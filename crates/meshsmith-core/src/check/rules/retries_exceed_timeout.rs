//! Rule MS202 `retries-exceed-timeout`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS202`, the SARIF rule metadata and the generated docs read it.

use crate::check::duration::{format_seconds, parse_duration};
use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports VirtualService routes whose tries cannot fit in the route timeout: the first
    /// try and every retry may each take `perTryTimeout`, so `(1 + attempts) x perTryTimeout`
    /// must not exceed `timeout`.
    ///
    /// ## Why it matters
    /// Envoy's route timeout covers all tries. Retries that cannot fit are cut off by the
    /// timeout: the configured retries silently do not happen when they are needed most,
    /// and the budget looks safer on paper than it is.
    ///
    /// ## Example
    /// ```yaml
    /// timeout: 2s
    /// retries:
    ///   attempts: 3
    ///   perTryTimeout: 1s    # 4 tries x 1s = 4s > 2s
    /// ```
    ///
    /// ## Fix
    /// Raise `timeout` to at least `(1 + attempts) x perTryTimeout`, or lower `attempts` or
    /// `perTryTimeout`.
    pub struct RetriesExceedTimeout {
        code: "MS202",
        name: "retries-exceed-timeout",
        severity: Warning,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "VirtualService")
    {
        for (i, route) in vs.spec().at("http").as_seq().iter().enumerate() {
            let retries = route.at("retries");
            let timeout = route.at("timeout").as_str().and_then(parse_duration);
            let per_try = retries
                .at("perTryTimeout")
                .as_str()
                .and_then(parse_duration);
            let attempts = retries.at("attempts").as_i64();
            let (Some(timeout), Some(per_try), Some(attempts)) = (timeout, per_try, attempts)
            else {
                continue;
            };
            if timeout <= 0.0 || attempts <= 0 {
                continue;
            }
            let tries = attempts.saturating_add(1);
            let needed = tries as f64 * per_try;
            if needed <= timeout {
                continue;
            }
            out.push(RetriesExceedTimeout::META.finding(
                resource_label(vs),
                Some(vs.origin_at(retries)),
                format!(
                    "http[{i}]: {} tries x perTryTimeout {} = {} do not fit in timeout {}",
                    tries,
                    format_seconds(per_try),
                    format_seconds(needed),
                    format_seconds(timeout)
                ),
                format!(
                    "set timeout to at least {} or lower attempts / perTryTimeout",
                    format_seconds(needed)
                ),
            ));
        }
    }
}
