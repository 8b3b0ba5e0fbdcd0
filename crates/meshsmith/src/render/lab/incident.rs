//! Text for `meshsmith lab --incident`: where the old settings were read, each run's policy,
//! the figures of both runs side by side (the front caller's callers, then each hop, every
//! name on a line of its own so long names never widen the table), and the verdict: which run
//! held the callers less and by how much, and why the old settings' answers do not count.

use super::layout::{cols, hanging, item};
use meshsmith_lab::incident::{Better, HopFigures, IncidentReport, IncidentRun};
use std::fmt::Write;

/// A figure of one run, for a row of the comparison.
type Figure = Box<dyn Fn(&IncidentRun) -> String>;

enum Line {
    /// A name the rows under it belong to.
    Heading(String),
    Row(&'static str, Figure),
}

fn hop(i: usize, f: fn(&HopFigures) -> u64) -> Figure {
    Box::new(move |x: &IncidentRun| x.hops.get(i).map_or("-".into(), |h| f(h).to_string()))
}

fn tenths(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn lines(r: &IncidentReport) -> Vec<Line> {
    let front = r.chain.first().map_or("the front caller", String::as_str);
    let mut lines = vec![
        Line::Row("requests sent", Box::new(|x| x.requests.to_string())),
        Line::Row("succeeded", Box::new(|x| x.succeeded.to_string())),
        Line::Row(
            "failed fast (< 100 ms)",
            Box::new(|x| x.failed_fast.to_string()),
        ),
        Line::Row(
            "failed after waiting",
            Box::new(|x| x.failed_slow.to_string()),
        ),
        Line::Heading(format!("{front}'s callers")),
        Line::Row("blocked, median", Box::new(|x| tenths(x.blocked_p50_ms))),
        Line::Row("blocked, longest", Box::new(|x| tenths(x.blocked_max_ms))),
        Line::Row(
            "blocked in all",
            Box::new(|x| format!("{:.1} request-s", x.blocked_total_ms as f64 / 1000.0)),
        ),
        Line::Row(
            "in flight, peak",
            Box::new(|x| x.peak_in_flight.to_string()),
        ),
    ];
    for (i, h) in r.old.hops.iter().enumerate() {
        lines.push(Line::Heading(format!("{} -> {}", h.from, h.to)));
        lines.push(Line::Row("piled up, peak", hop(i, |h| h.peak_queue)));
        lines.push(Line::Row("refused by the pool", hop(i, |h| h.overflowed)));
        lines.push(Line::Row("instances ejected", hop(i, |h| h.ejections)));
    }
    lines
}

fn comparison(out: &mut String, r: &IncidentReport) {
    let lines = lines(r);
    let label_w = lines
        .iter()
        .map(|l| match l {
            Line::Row(label, _) => label.len() + 2,
            Line::Heading(_) => 0,
        })
        .max()
        .unwrap_or(0);
    let value_w = |run: &IncidentRun| {
        lines
            .iter()
            .filter_map(|l| match l {
                Line::Row(_, f) => Some(cols(&f(run))),
                Line::Heading(_) => None,
            })
            .chain([cols(&run.label)])
            .max()
            .unwrap_or(0)
    };
    let (a, b) = (value_w(&r.old), value_w(&r.generated));
    let _ = writeln!(
        out,
        "{:label_w$}  {:>a$}  {:>b$}",
        "", r.old.label, r.generated.label
    );
    for line in &lines {
        match line {
            Line::Heading(name) => hanging(out, "", name),
            Line::Row(label, f) => {
                let label = format!("  {label}");
                let _ = writeln!(
                    out,
                    "{label:label_w$}  {:>a$}  {:>b$}",
                    f(&r.old),
                    f(&r.generated)
                );
            }
        }
    }
}

/// The verdict: the better run's figures against the other's, then what they mean.
pub fn verdict(r: &IncidentReport) -> String {
    let front = r.chain.first().map_or("the front caller", String::as_str);
    let (old, new) = (&r.old, &r.generated);
    let request_s = |x: &IncidentRun| format!("{:.0}", x.blocked_total_ms as f64 / 1000.0);
    let (winner, loser) = match r.verdict.better {
        Better::OldSettings => (old, new),
        _ => (new, old),
    };
    let mut out = String::new();
    let headline = match r.verdict.better {
        Better::Neither => format!(
            "no clear difference: callers blocked {} and {}; {} and {} request-s",
            tenths(new.blocked_p50_ms),
            tenths(old.blocked_p50_ms),
            request_s(new),
            request_s(old)
        ),
        _ => format!(
            "{}: callers blocked {} instead of {}; {} request-s instead of {}",
            winner.label,
            tenths(winner.blocked_p50_ms),
            tenths(loser.blocked_p50_ms),
            request_s(winner),
            request_s(loser)
        ),
    };
    hanging(&mut out, "verdict: ", &headline);
    let mut why = Vec::new();
    if let Some(ratio) = r.verdict.caller_time_ratio {
        let (how, times) = match r.verdict.better {
            Better::GeneratedPolicy => ("less", ratio),
            Better::OldSettings => ("more", 1.0 / ratio),
            Better::Neither => ("", 0.0),
        };
        if !how.is_empty() {
            why.push(format!(
                "with the generated policy, {front}'s callers lose {times:.1} times {how} time \
                 to the slowdown, under the same load"
            ));
        }
    }
    let bound = |x: &IncidentRun| x.wait_bound_ms.map_or("without end".into(), tenths);
    why.push(format!(
        "in a slowdown that lasts (the incident lasted minutes), a caller waits up to {} under \
         the old settings and {} under the generated policy",
        bound(old),
        bound(new)
    ));
    if r.verdict.old_successes_from_scaling {
        why.push(format!(
            "the old settings' {} successes came only because this replay's slowdown ends after \
             {}; in a slowdown that lasts those requests fail too, after waiting up to {}",
            old.succeeded,
            tenths(r.hold_ms),
            bound(old)
        ));
    }
    for line in why {
        item(&mut out, &line);
    }
    out
}

pub fn incident(r: &IncidentReport) -> String {
    let mut out = String::new();
    hanging(
        &mut out,
        "incident replay: ",
        &format!("{} slows down; chain {}", r.service, r.chain.join(" -> ")),
    );
    hanging(&mut out, "scaling: ", &r.scaling);
    let _ = writeln!(out, "old settings read from:");
    for line in &r.old_sources {
        item(&mut out, line);
    }
    let _ = writeln!(out);
    for run in [&r.old, &r.generated] {
        let _ = writeln!(out, "{}:", run.label);
        for hop in &run.settings {
            item(&mut out, hop);
        }
    }
    let _ = writeln!(out);
    comparison(&mut out, r);
    let _ = writeln!(out);
    out.push_str(&verdict(r));
    let _ = writeln!(out, "\nwall time {:.1} s", r.wall_ms as f64 / 1000.0);
    out
}
