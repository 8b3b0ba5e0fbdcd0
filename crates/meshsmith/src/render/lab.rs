//! Text for `meshsmith lab`: progress lines, the scenario table with expected and measured
//! figures side by side, and the incident comparison.

use meshsmith_lab::incident::IncidentRun;
use meshsmith_lab::{IncidentReport, LabReport, LabSpec, Progress, ScenarioResult};
use std::fmt::Write;

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn verdict(r: &ScenarioResult, colour: bool) -> String {
    if r.not_run {
        paint("SKIP", "33", colour)
    } else if r.passed {
        paint("PASS", "32", colour)
    } else {
        paint("FAIL", "31;1", colour)
    }
}

pub fn progress_line(p: &Progress, colour: bool) -> String {
    match p {
        Progress::Starting { sidecars } => {
            format!("starting {sidecars} Envoy sidecars and test apps ...")
        }
        Progress::Ready { startup_ms, .. } => format!("all ready in {startup_ms} ms"),
        Progress::Running { scenario, subject } => format!("running {scenario}: {subject}"),
        Progress::Finished(r) => format!("  {} {}: {}", verdict(r, colour), r.scenario, r.measured),
        Progress::Incident(step) => format!("incident: {step}"),
    }
}

/// The services under test and the policy each carries, as the lab received it.
pub fn services(spec: &LabSpec) -> String {
    let mut out = String::from("services under test:\n");
    for s in &spec.services {
        let t = &s.traffic;
        let r = &t.retries;
        let pool = t.connection_pool.as_ref().map_or("no pool".into(), |p| {
            format!(
                "pool {} cx / {} pending / {} rq",
                p.max_connections, p.max_pending_requests, p.max_requests
            )
        });
        let eject = t
            .outlier_detection
            .as_ref()
            .map_or("no ejection".into(), |o| {
                format!("eject after {} 5xx", o.consecutive_5xx)
            });
        let _ = writeln!(
            out,
            "  {}.{} ({:?}, {:?}, x{}): timeout {}, {} retries (per try {}, on {}), {pool}, {eject}, {} principal(s){}{}",
            s.name,
            s.namespace,
            s.protocol,
            s.mtls,
            s.instances,
            secs(t.timeout_ms),
            r.attempts,
            secs(r.per_try_timeout_ms),
            r.retry_on.join(","),
            s.allowed_principals.len(),
            if s.allow_unauthenticated {
                " + requests without identity"
            } else {
                ""
            },
            if s.dry_run {
                ", AuthorizationPolicy dry-run (recorded, not enforced)"
            } else {
                ""
            }
        );
    }
    let edges: Vec<String> = spec
        .edges
        .iter()
        .map(|e| format!("{} -> {}", e.from, e.to))
        .collect();
    let _ = writeln!(out, "edges: {}", edges.join(", "));
    if !spec.calls.is_empty() {
        let calls: Vec<String> = spec
            .calls
            .iter()
            .map(|c| {
                let how = if c.imported {
                    "in its sidecar's configuration"
                } else {
                    "not imported by its Sidecar: PassthroughCluster"
                };
                format!("{} -> {} ({how})", c.from, c.to)
            })
            .collect();
        let _ = writeln!(out, "calls the graph does not show: {}", calls.join(", "));
    }
    let _ = writeln!(out);
    out
}

pub fn report(r: &LabReport, colour: bool) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 4]> = r
        .results
        .iter()
        .map(|x| {
            [
                x.scenario.to_string(),
                x.subject.clone(),
                x.expected.clone(),
                x.measured.clone(),
            ]
        })
        .collect();
    let headers = ["scenario", "subject", "expected", "measured"];
    let width = |i: usize| {
        rows.iter()
            .map(|row| row[i].len())
            .chain([headers[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let _ = writeln!(
        out,
        "{:4}  {:w0$}  {:w1$}  {:w2$}  {}",
        "", headers[0], headers[1], headers[2], headers[3]
    );
    for (row, result) in rows.iter().zip(&r.results) {
        let _ = writeln!(
            out,
            "{}  {:w0$}  {:w1$}  {:w2$}  {}",
            verdict(result, colour),
            row[0],
            row[1],
            row[2],
            row[3]
        );
        if let Some(why) = &result.failure {
            let _ = writeln!(out, "      -> {why}");
        }
    }
    let not_run = r.results.iter().filter(|x| x.not_run).count();
    let passed = r.results.iter().filter(|x| x.passed && !x.not_run).count();
    let _ = writeln!(
        out,
        "\n{passed} passed, {} failed{}; {} sidecars up in {} ms; wall time {:.1} s; {}",
        r.results.len() - passed - not_run,
        if not_run > 0 {
            format!(", {not_run} not run")
        } else {
            String::new()
        },
        r.sidecars,
        r.startup_ms,
        r.wall_ms as f64 / 1000.0,
        r.envoy_version
    );
    if let Some(first) = r.access_logs.first() {
        let dir = first
            .parent()
            .map_or(String::new(), |d| d.display().to_string());
        let _ = writeln!(
            out,
            "access logs of {} sidecars (one per pod) written to {dir}",
            r.access_logs.len()
        );
    }
    out
}

/// A row label and how to read its figure from one run.
type IncidentRow = (String, Box<dyn Fn(&IncidentRun) -> String>);

pub fn incident(r: &IncidentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "incident replay: {} slows down; chain {}",
        r.service,
        r.chain.join(" -> ")
    );
    let _ = writeln!(out, "scaling: {}", r.scaling);
    let _ = writeln!(out, "old settings read from:");
    for line in &r.old_sources {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out);
    for run in [&r.old, &r.generated] {
        let _ = writeln!(out, "{}:", run.label);
        for hop in &run.settings {
            let _ = writeln!(out, "  {hop}");
        }
    }
    let front = r.chain.first().map_or("caller", String::as_str);
    let mut rows: Vec<IncidentRow> = vec![
        ("requests sent".into(), Box::new(|x| x.requests.to_string())),
        ("succeeded".into(), Box::new(|x| x.succeeded.to_string())),
        (
            "failed fast (< 100 ms)".into(),
            Box::new(|x| x.failed_fast.to_string()),
        ),
        (
            "failed after waiting".into(),
            Box::new(|x| x.failed_slow.to_string()),
        ),
        (
            format!("{front} callers blocked, median"),
            Box::new(|x| secs(x.blocked_p50_ms)),
        ),
        (
            format!("{front} callers blocked, longest"),
            Box::new(|x| secs(x.blocked_max_ms)),
        ),
        (
            format!("{front} callers blocked, total"),
            Box::new(|x| format!("{:.1} request-s", x.blocked_total_ms as f64 / 1000.0)),
        ),
        (
            format!("in flight at {front}'s callers, peak"),
            Box::new(|x| x.peak_in_flight.to_string()),
        ),
    ];
    for (i, hop) in r.old.hops.iter().enumerate() {
        let name = format!("{} -> {}", hop.from, hop.to);
        let at = move |x: &IncidentRun, f: fn(&meshsmith_lab::incident::HopFigures) -> u64| {
            x.hops.get(i).map_or("-".to_string(), |h| f(h).to_string())
        };
        rows.push((
            format!("{name}: piled up, peak"),
            Box::new(move |x| at(x, |h| h.peak_queue)),
        ));
        rows.push((
            format!("{name}: pool overflows"),
            Box::new(move |x| at(x, |h| h.overflowed)),
        ));
        rows.push((
            format!("{name}: ejections"),
            Box::new(move |x| at(x, |h| h.ejections)),
        ));
    }
    let w = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let v = rows
        .iter()
        .map(|(_, value)| value(&r.old).len())
        .chain([r.old.label.len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{:w$}  {:v$}  {}",
        "", r.old.label, r.generated.label
    );
    for (label, value) in &rows {
        let _ = writeln!(
            out,
            "{label:w$}  {:v$}  {}",
            value(&r.old),
            value(&r.generated)
        );
    }
    let _ = writeln!(out, "\nwall time {:.1} s", r.wall_ms as f64 / 1000.0);
    out
}

fn secs(ms: u64) -> String {
    format!("{:.3} s", ms as f64 / 1000.0)
}
