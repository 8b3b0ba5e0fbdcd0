//! Text for `meshsmith lab`: progress lines, the scenario table with expected and measured
//! figures side by side, and the incident comparison.

use meshsmith_lab::incident::IncidentRun;
use meshsmith_lab::{IncidentReport, LabReport, Progress};
use std::fmt::Write;

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn verdict(passed: bool, colour: bool) -> String {
    if passed {
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
        Progress::Finished(r) => format!(
            "  {} {}: {}",
            verdict(r.passed, colour),
            r.scenario,
            r.measured
        ),
        Progress::Incident(step) => format!("incident: {step}"),
    }
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
            verdict(result.passed, colour),
            row[0],
            row[1],
            row[2],
            row[3]
        );
        if let Some(why) = &result.failure {
            let _ = writeln!(out, "      -> {why}");
        }
    }
    let passed = r.results.iter().filter(|x| x.passed).count();
    let _ = writeln!(
        out,
        "\n{passed} passed, {} failed; {} sidecars up in {} ms; wall time {:.1} s; {}",
        r.results.len() - passed,
        r.sidecars,
        r.startup_ms,
        r.wall_ms as f64 / 1000.0,
        r.envoy_version
    );
    out
}

/// A row label and how to read its figure from one run.
type IncidentRow = (&'static str, fn(&IncidentRun) -> String);

pub fn incident(r: &IncidentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "incident replay: {} slows down, {} keeps calling",
        r.service, r.caller
    );
    let _ = writeln!(out, "scaling: {}\n", r.scaling);
    let rows: [IncidentRow; 10] = [
        ("settings", |x| x.settings.clone()),
        ("requests sent", |x| x.requests.to_string()),
        ("succeeded", |x| x.succeeded.to_string()),
        ("failed fast (< 100 ms)", |x| x.failed_fast.to_string()),
        ("failed after waiting", |x| x.failed_slow.to_string()),
        ("caller blocked, median", |x| {
            format!("{:.3} s", x.blocked_p50_ms as f64 / 1000.0)
        }),
        ("caller blocked, longest", |x| {
            format!("{:.3} s", x.blocked_max_ms as f64 / 1000.0)
        }),
        ("caller blocked, total", |x| {
            format!("{:.1} request-s", x.blocked_total_ms as f64 / 1000.0)
        }),
        ("peak requests piled up (app / sidecar)", |x| {
            format!("{} / {}", x.peak_in_flight, x.peak_sidecar_queue)
        }),
        ("hosts ejected", |x| x.ejections.to_string()),
    ];
    let w = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let v = rows
        .iter()
        .map(|(_, value)| value(&r.old).len())
        .chain([r.old.label.len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{:w$}  {:v$}  {}", "", r.old.label, r.generated.label);
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
