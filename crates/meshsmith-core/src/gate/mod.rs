//! Plan phase + baseline and window metrics -> [`GateReport`]: proceed, hold or roll back.
//!
//! ```text
//!  MetricSet ──series::fold──▶ Tallies per (service, caller), per reporter
//!            ──figures──▶ Figures (rates, p50/p99, denials...) ──judge──▶ Verdict + reasons
//! ```
//!
//! The services judged are those the phase onboarded or locked down; each gets a row for all
//! its callers together and one per caller the traffic shows. Requests, errors and latency
//! come from the callers' sidecars (`reporter="source"`: what callers lived through,
//! timeouts included) when the files have them, else from the service's own. A caller is on
//! an edge of the graph when the baseline shows it calling the service without being
//! refused; denials of other callers are the policy working and never roll back.
//! The only failure: a metric the gate cannot judge without, missing from the files.

mod judge;
pub mod quantile;
mod series;

#[cfg(test)]
mod tests;

use crate::model::{
    Figures, GateReport, GateRow, GateThresholds, MetricSet, Phase, QualifiedName, Verdict,
};
use series::{Family, Side, Tallies, Tally};
use std::collections::BTreeSet;

/// Metrics the gate needs and did not find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .missing.join("\n"))]
pub struct MissingMetrics {
    /// One line per metric and side: what is missing, and the files read.
    pub missing: Vec<String>,
}

/// What the gate reads: the phase, its window's length and the two sets of answers.
pub struct GateInput<'a> {
    pub phase: &'a Phase,
    /// The plan's monitoring window as written (`4h`) and in seconds.
    pub window: &'a str,
    pub window_secs: f64,
    pub baseline: &'a MetricSet,
    pub metrics: &'a MetricSet,
    pub thresholds: &'a GateThresholds,
}

/// Judges one phase's window against its baseline.
pub fn gate(input: &GateInput<'_>) -> Result<GateReport, MissingMetrics> {
    let services: Vec<QualifiedName> = input
        .phase
        .services
        .iter()
        .chain(input.phase.locked.iter())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (before, seen_before) = series::fold(&input.baseline.samples, &services);
    let (during, seen_during) = series::fold(&input.metrics.samples, &services);
    require(
        input,
        &services,
        [(&before, &seen_before), (&during, &seen_during)],
    )?;
    let mut notes = Vec::new();
    for family in [
        Family::TcpClosed,
        Family::Ejections,
        Family::DryRun,
        Family::Refused,
    ] {
        if !seen_during.contains(&family) {
            notes.push(format!(
                "no `{}` series in the window: counted as none",
                family.metric()
            ));
        }
    }
    let rows = rows(input, &services, &before, &during);
    for r in rows.iter().filter(|r| r.caller.is_none()) {
        let quiet = |f: &Figures| f.requests == 0.0 && f.tcp_connections == 0.0;
        if quiet(&r.baseline) && quiet(&r.window) {
            notes.push(format!(
                "{}: no request before or during the window (no caller in the files): its rates are not judged",
                r.service
            ));
        }
    }
    let verdict = rows
        .iter()
        .filter(|r| r.caller.is_none() || r.verdict == Verdict::RollBack)
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Proceed);
    let rollback = if verdict == Verdict::RollBack {
        input
            .phase
            .steps
            .iter()
            .rev()
            .flat_map(|s| s.rollback.commands.iter().cloned())
            .collect()
    } else {
        Vec::new()
    };
    Ok(GateReport {
        phase: input.phase.number,
        title: input.phase.title.clone(),
        window: input.window.to_string(),
        verdict,
        rows,
        rollback,
        notes,
        thresholds: input.thresholds.clone(),
    })
}

/// The metrics the gate cannot judge without: request and latency series on both sides, and
/// on each side at least one series about the phase's services.
fn require(
    input: &GateInput<'_>,
    services: &[QualifiedName],
    sides: [(&Tallies, &Vec<Family>); 2],
) -> Result<(), MissingMetrics> {
    let [(before, seen_before), (during, seen_during)] = sides;
    let mut missing = Vec::new();
    for (side, seen, set) in [
        ("baseline", &seen_before, input.baseline),
        ("window", &seen_during, input.metrics),
    ] {
        for need in [Family::Requests, Family::Buckets] {
            if !seen.contains(&need) {
                missing.push(format!(
                    "{side}: no `{}` series in {}; fetch it with the {side} commands of ROLLOUT.md",
                    need.metric(),
                    files(set)
                ));
            }
        }
    }
    if missing.is_empty() && !services.is_empty() {
        // Series, but none about this phase's services: answers of another phase's queries.
        for (side, tallies, set) in [
            ("baseline", before, input.baseline),
            ("window", during, input.metrics),
        ] {
            if tallies.is_empty() {
                let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
                missing.push(format!(
                    "{side}: no series about the services of phase {} ({}) in {}; are these the answers of this phase's queries?",
                    input.phase.number,
                    names.join(", "),
                    files(set)
                ));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingMetrics { missing })
    }
}

fn files(set: &MetricSet) -> String {
    match set.files.as_slice() {
        [] => "no file".to_string(),
        list if list.len() <= 4 => list.join(", "),
        list => format!("{} and {} more files", list[..3].join(", "), list.len() - 3),
    }
}

/// A row per service, then one per caller of it, sorted.
fn rows(
    input: &GateInput<'_>,
    services: &[QualifiedName],
    before: &Tallies,
    during: &Tallies,
) -> Vec<GateRow> {
    let mut rows = Vec::new();
    for service in services {
        let callers: BTreeSet<&String> = before
            .keys()
            .chain(during.keys())
            .filter(|(s, _)| s == service)
            .filter_map(|(_, c)| c.as_ref())
            .collect();
        let on_graph: BTreeSet<&String> = callers
            .iter()
            .copied()
            .filter(|c| *c != "unknown" && is_edge(before, service, c))
            .collect();
        let change = change_of(input.phase, service);
        let whole = |t: &Tallies| figures(t, service, None, &on_graph, input.window_secs);
        let (b, w) = (whole(before), whole(during));
        let (verdict, reasons) = judge::judge(&b, &w, input.thresholds, judge::Row::Service);
        rows.push(GateRow {
            service: service.clone(),
            caller: None,
            change: change.clone(),
            baseline: b,
            window: w,
            verdict,
            reasons,
        });
        for caller in callers {
            let one = |t: &Tallies| figures(t, service, Some(caller), &on_graph, input.window_secs);
            let (b, w) = (one(before), one(during));
            let kind = judge::Row::Caller {
                on_graph: on_graph.contains(caller),
            };
            let (verdict, reasons) = judge::judge(&b, &w, input.thresholds, kind);
            rows.push(GateRow {
                service: service.clone(),
                caller: Some(caller.clone()),
                change: change.clone(),
                baseline: b,
                window: w,
                verdict,
                reasons,
            });
        }
    }
    rows
}

fn change_of(phase: &Phase, service: &QualifiedName) -> String {
    match (
        phase.services.contains(service),
        phase.locked.contains(service),
    ) {
        (true, true) => "onboarded, locked down",
        (true, false) => "onboarded",
        _ => "locked down",
    }
    .to_string()
}

/// Whether the baseline shows `caller` calling `service` and not only being refused.
fn is_edge(before: &Tallies, service: &QualifiedName, caller: &str) -> bool {
    before
        .get(&(service.clone(), Some(caller.to_string())))
        .is_some_and(|sides| {
            sides
                .values()
                .any(|t| t.requests > t.denials || t.tcp_opened > 0.0 || t.tcp_closed > 0.0)
        })
}

/// The figures of one caller (or of all, `None`) of `service`.
fn figures(
    tallies: &Tallies,
    service: &QualifiedName,
    caller: Option<&String>,
    on_graph: &BTreeSet<&String>,
    secs: f64,
) -> Figures {
    let mut sides: [Tally; 3] = Default::default();
    let mut own = Tally::default();
    let mut denials = 0.0;
    for ((s, c), by_side) in tallies {
        if s != service {
            continue;
        }
        match (c, caller) {
            (None, _) => {
                for t in by_side.values() {
                    own.ejections += t.ejections;
                    own.dry_run += t.dry_run;
                    own.refused += t.refused;
                }
                continue;
            }
            (Some(c), Some(want)) if c != want => continue,
            _ => {}
        }
        let graph = c.as_ref().is_some_and(|c| on_graph.contains(c)) || caller.is_some();
        let mut most = 0.0f64;
        for (side, t) in by_side {
            merge(&mut sides[*side as usize], t);
            most = most.max(t.denials);
        }
        if graph {
            denials += most;
        }
    }
    let pick = [Side::Source, Side::Destination, Side::Unknown]
        .into_iter()
        .map(|s| &sides[s as usize])
        .find(|t| t.requests > 0.0)
        .cloned()
        .unwrap_or_default();
    let buckets = if pick.buckets.is_empty() {
        sides
            .iter()
            .find(|t| !t.buckets.is_empty())
            .map(|t| t.buckets.clone())
            .unwrap_or_default()
    } else {
        pick.buckets.clone()
    };
    let tcp = [Side::Source, Side::Destination, Side::Unknown]
        .into_iter()
        .map(|s| &sides[s as usize])
        .find(|t| t.tcp_opened > 0.0 || t.tcp_closed > 0.0)
        .cloned()
        .unwrap_or_default();
    let whole = caller.is_none();
    Figures {
        requests: pick.requests,
        request_rate: if secs > 0.0 {
            pick.requests / secs
        } else {
            0.0
        },
        errors: pick.errors,
        error_rate: (pick.requests > 0.0).then(|| 100.0 * pick.errors / pick.requests),
        p50_ms: quantile::histogram_quantile(0.5, &buckets),
        p99_ms: quantile::histogram_quantile(0.99, &buckets),
        tcp_connections: tcp.tcp_opened.max(tcp.tcp_closed),
        tcp_failures: tcp.tcp_failures,
        outlier_ejections: if whole { own.ejections } else { 0.0 },
        dry_run_denials: if whole { own.dry_run } else { 0.0 },
        denials,
        plaintext_refusals: if whole { own.refused } else { 0.0 },
    }
}

fn merge(into: &mut Tally, t: &Tally) {
    into.requests += t.requests;
    into.errors += t.errors;
    into.denials += t.denials;
    into.buckets.extend_from_slice(&t.buckets);
    into.tcp_opened += t.tcp_opened;
    into.tcp_closed += t.tcp_closed;
    into.tcp_failures += t.tcp_failures;
}
