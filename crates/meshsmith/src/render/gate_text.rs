//! [`GateReport`] -> text for people: the verdict, a table of the phase's services and their
//! callers with baseline -> window figures, each threshold crossed with its figures, and the
//! rollback commands in order.

use meshsmith_core::model::{Figures, GateReport, GateRow, Verdict};
use std::fmt::Write;

pub fn render(report: &GateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Phase {}: {} (window {}): {}\n",
        report.phase,
        report.title,
        report.window,
        report.verdict.as_str().to_uppercase()
    );
    table(&mut out, &report.rows);
    let judged: Vec<&GateRow> = report
        .rows
        .iter()
        .filter(|r| !r.reasons.is_empty())
        .collect();
    if !judged.is_empty() {
        out.push('\n');
    }
    for row in judged {
        for r in &row.reasons {
            let rule = if row.verdict == Verdict::Hold {
                "needs"
            } else {
                "threshold:"
            };
            let _ = writeln!(
                out,
                "{} {}: {} {} (baseline {}); {rule} {}",
                row.verdict.as_str(),
                subject(row),
                r.figure,
                r.window,
                r.baseline,
                r.rule
            );
        }
    }
    if report.verdict == Verdict::RollBack {
        let _ = writeln!(
            out,
            "\nRoll back phase {} (run in order, from the plan's folder):\n",
            report.phase
        );
        for c in &report.rollback {
            let _ = writeln!(out, "  {c}");
        }
    }
    if report.verdict == Verdict::Hold {
        let _ = writeln!(out, "\nHold: let the window run longer, or send traffic, then fetch the window's answers again.");
    }
    if !report.notes.is_empty() {
        out.push('\n');
    }
    for n in &report.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

fn subject(row: &GateRow) -> String {
    match &row.caller {
        None => row.service.to_string(),
        Some(c) => format!("{c} -> {}", row.service),
    }
}

const HEADER: [&str; 9] = [
    "SERVICE", "CALLER", "REQ/S", "ERRORS", "P50", "P99", "DENIED", "OTHER", "VERDICT",
];

fn table(out: &mut String, rows: &[GateRow]) {
    let cells: Vec<[String; 9]> = rows.iter().map(cells).collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, row: &[String]| {
        let text: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(out, &HEADER.map(str::to_string));
    for row in &cells {
        line(out, row);
    }
    let _ = writeln!(out, "(each figure: baseline -> window)");
}

fn cells(row: &GateRow) -> [String; 9] {
    let (b, w) = (&row.baseline, &row.window);
    let pair = |f: &dyn Fn(&Figures) -> String| format!("{} -> {}", f(b), f(w));
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}ms"));
    let other = {
        let mut parts = Vec::new();
        for (label, bv, wv) in [
            ("tcp-fail", b.tcp_failures, w.tcp_failures),
            ("ejected", b.outlier_ejections, w.outlier_ejections),
            ("dry-run", b.dry_run_denials, w.dry_run_denials),
            ("plaintext", b.plaintext_refusals, w.plaintext_refusals),
        ] {
            if bv > 0.0 || wv > 0.0 {
                parts.push(format!("{label} {bv:.0}->{wv:.0}"));
            }
        }
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(", ")
        }
    };
    [
        format!("{} ({})", row.service, row.change),
        row.caller.clone().unwrap_or_else(|| "(all)".to_string()),
        pair(&|f| format!("{:.2}", f.request_rate)),
        pair(&|f| f.error_rate.map_or("-".to_string(), |r| format!("{r:.2}%"))),
        pair(&|f| ms(f.p50_ms)),
        pair(&|f| ms(f.p99_ms)),
        pair(&|f| format!("{:.0}", f.denials)),
        other,
        row.verdict.as_str().to_string(),
    ]
}
