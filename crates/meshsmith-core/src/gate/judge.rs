//! Baseline and window figures + thresholds -> verdict and reasons, one rule per figure.
//!
//! Hard signals (denials on an edge of the graph, dry-run denials, refused plaintext, new
//! ejections) roll back whatever the traffic. Rates and latency are compared only when both
//! the baseline and the window carry enough requests; a service without enough is held,
//! unless it had no request at all in either (nothing will ever arrive to judge; the report
//! notes it).

use crate::model::{Figures, GateReason, GateThresholds, Verdict};

/// Which kind of row is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row {
    /// A service, all callers together: may hold.
    Service,
    /// One caller of it: never holds the phase; denials count only on an edge of the graph.
    Caller { on_graph: bool },
}

pub(super) fn judge(
    b: &Figures,
    w: &Figures,
    t: &GateThresholds,
    row: Row,
) -> (Verdict, Vec<GateReason>) {
    let mut crossed = Vec::new();
    // 403s: a caller's app may be refused by the application itself too, so the baseline's
    // share of 403s, at the window's volume, is allowed for.
    let usual_403 = if b.requests > 0.0 {
        b.denials * w.requests / b.requests
    } else {
        0.0
    };
    let counts = [
        (
            "denials",
            w.denials,
            b.denials,
            t.denials as f64 + usual_403,
            format!("more than {} requests refused with 403 (an enforced AuthorizationPolicy's rbac_access_denied) on an edge of the graph beyond the baseline's share", t.denials),
        ),
        (
            "dry-run-denials",
            w.dry_run_denials,
            b.dry_run_denials,
            t.dry_run_denials as f64,
            format!("more than {} requests a dry-run AuthorizationPolicy would deny", t.dry_run_denials),
        ),
        (
            "plaintext-refusals",
            w.plaintext_refusals,
            b.plaintext_refusals,
            t.plaintext_refusals as f64,
            format!("more than {} plaintext connections refused by STRICT", t.plaintext_refusals),
        ),
    ];
    for (figure, win, base, limit, rule) in counts {
        if figure == "denials" && row == (Row::Caller { on_graph: false }) {
            continue;
        }
        if win > limit {
            crossed.push(reason(figure, count(win), count(base), rule));
        }
    }
    if w.outlier_ejections > b.outlier_ejections + t.outlier_ejections as f64 {
        crossed.push(reason(
            "outlier-ejections",
            count(w.outlier_ejections),
            count(b.outlier_ejections),
            format!(
                "more than {} outlier ejections beyond the baseline's",
                t.outlier_ejections
            ),
        ));
    }
    let min = t.min_requests as f64;
    let traffic = |f: &Figures| f.requests.max(f.tcp_connections);
    let enough = traffic(w) >= min && traffic(b) >= min;
    if enough {
        rates(b, w, t, &mut crossed);
    }
    if !crossed.is_empty() {
        return (Verdict::RollBack, crossed);
    }
    // Nobody called it before or during the window (a worker that only calls out, a service
    // whose callers are all outside the files): there is nothing to wait for.
    let silent = traffic(w) == 0.0 && traffic(b) == 0.0;
    if !enough && row == Row::Service && !silent {
        let held = reason(
            "traffic",
            format!("{} requests", count(traffic(w))),
            format!("{} requests", count(traffic(b))),
            format!(
                "at least {} requests (or TCP connections) in both the baseline and the window to judge error rates and latency",
                t.min_requests
            ),
        );
        return (Verdict::Hold, vec![held]);
    }
    (Verdict::Proceed, Vec::new())
}

/// Error rate, TCP failure rate and p99, each against the baseline.
fn rates(b: &Figures, w: &Figures, t: &GateThresholds, crossed: &mut Vec<GateReason>) {
    let worse = |wr: f64, br: f64| wr > br + t.error_rate_points && wr > br * t.error_rate_factor;
    if let (Some(wr), Some(br)) = (w.error_rate, b.error_rate) {
        if worse(wr, br) {
            crossed.push(reason(
                "error-rate",
                format!(
                    "{} ({} of {})",
                    percent(wr),
                    count(w.errors),
                    count(w.requests)
                ),
                format!(
                    "{} ({} of {})",
                    percent(br),
                    count(b.errors),
                    count(b.requests)
                ),
                points_rule(t),
            ));
        }
    }
    let share =
        |f: &Figures| (f.tcp_connections > 0.0).then(|| 100.0 * f.tcp_failures / f.tcp_connections);
    // No TCP connection before the phase: every failure in the window is new.
    if let (Some(wr), br) = (share(w), share(b).unwrap_or(0.0)) {
        if worse(wr, br) {
            crossed.push(reason(
                "tcp-failures",
                format!(
                    "{} ({} of {} connections)",
                    percent(wr),
                    count(w.tcp_failures),
                    count(w.tcp_connections)
                ),
                format!(
                    "{} ({} of {} connections)",
                    percent(br),
                    count(b.tcp_failures),
                    count(b.tcp_connections)
                ),
                points_rule(t),
            ));
        }
    }
    if let (Some(wp), Some(bp)) = (w.p99_ms, b.p99_ms) {
        if wp > bp * t.p99_factor && wp > bp + t.p99_added_ms {
            crossed.push(reason(
                "p99",
                millis(wp),
                millis(bp),
                format!(
                    "more than {}x the baseline and more than {} ms above it",
                    number(t.p99_factor),
                    number(t.p99_added_ms)
                ),
            ));
        }
    }
}

fn points_rule(t: &GateThresholds) -> String {
    let unit = if t.error_rate_points == 1.0 {
        "percentage point"
    } else {
        "percentage points"
    };
    format!(
        "more than {} {unit} above the baseline and more than {}x it",
        number(t.error_rate_points),
        number(t.error_rate_factor)
    )
}

fn reason(figure: &'static str, window: String, baseline: String, rule: String) -> GateReason {
    GateReason {
        figure,
        window,
        baseline,
        rule,
    }
}

/// A count as people read it: whole when it is, else one decimal (a rate times a window).
pub fn count(n: f64) -> String {
    if (n - n.round()).abs() < 0.05 {
        format!("{}", n.round() as i64)
    } else {
        format!("{n:.1}")
    }
}

pub fn percent(p: f64) -> String {
    format!("{p:.2}%")
}

pub fn millis(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{} ms", ms.round() as i64)
    } else {
        format!("{ms:.1} ms")
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
