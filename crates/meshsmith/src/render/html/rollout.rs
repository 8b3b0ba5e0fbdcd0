//! The rollout as a timeline: per phase, what it onboards (sidecars) and what it locks down
//! (STRICT and enforced authorization), its steps linked to their folders and rollbacks,
//! how many smoke tests it has and the script that runs them, what to watch in the window and
//! when to proceed or roll back (the commands and queries are ROLLOUT.md's); then what the
//! plan holds back and why.

use super::{esc, Report};
use meshsmith_core::model::*;
use std::fmt::Write as _;

pub fn section(out: &mut String, report: &Report, plan: &Plan, violations: &[PlanViolation]) {
    out.push_str("<section id=\"rollout\"><h2>Rollout</h2>");
    let _ = write!(
        out,
        "<p>{}, a monitoring window of {} after each.",
        esc(&crate::render::counted(plan.phases.len(), "phase")),
        esc(&plan.window)
    );
    for file in ["ROLLOUT.md", "plan.json"] {
        if let Some(href) = report.places.link(file) {
            let _ = write!(out, " <a href=\"{}\">{file}</a>", esc(&href));
        }
    }
    out.push_str("</p>");
    if !violations.is_empty() {
        out.push_str("<div class=\"banner bad\"><b>The plan breaks these rules:</b><ul>");
        for v in violations {
            let _ = write!(
                out,
                "<li>{} {}: {}</li>",
                esc(v.code),
                esc(v.name),
                esc(&v.message)
            );
        }
        out.push_str("</ul></div>");
    }
    out.push_str("<ol class=\"timeline\">");
    for phase in &plan.phases {
        phase_item(out, report, phase);
    }
    out.push_str("</ol>");
    let held: Vec<(&QualifiedName, &str)> = plan
        .held
        .iter()
        .map(|h| (&h.service, h.reason.as_str()))
        .collect();
    reasons(out, "Held back", &held);
    let skipped: Vec<(&QualifiedName, &str)> = plan
        .skipped
        .iter()
        .map(|s| (&s.service, s.reason.as_str()))
        .collect();
    reasons(out, "Left out", &skipped);
    if !plan.notes.is_empty() {
        out.push_str("<h3>Notes</h3><ul class=\"notes\">");
        for n in &plan.notes {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

fn phase_item(out: &mut String, report: &Report, phase: &Phase) {
    let tiers: Vec<&str> = phase.tiers.iter().map(|t| t.as_str()).collect();
    let _ = write!(
        out,
        "<li class=\"phase\" id=\"phase-{0}\"><h3><span class=\"num\">{0}</span> {1}</h3>",
        phase.number,
        esc(&phase.title)
    );
    if !tiers.is_empty() {
        let _ = write!(out, "<p class=\"tiers\">{}</p>", esc(&tiers.join(", ")));
    }
    chips(out, "Onboards (sidecars)", &phase.services);
    chips(out, "Locks down (STRICT, enforced)", &phase.locked);
    out.push_str("<ol class=\"steps\">");
    for step in &phase.steps {
        step_item(out, report, step);
    }
    out.push_str("</ol>");
    let watch: Vec<&str> = phase.watch.iter().map(|w| w.what.as_str()).collect();
    let _ = write!(
        out,
        "<p class=\"checks\">{}; watch: {} (queries and commands in ROLLOUT.md)</p>",
        smoke_tests(report, phase),
        esc(&watch.join("; "))
    );
    let _ = write!(
        out,
        "<p class=\"gate\"><b>Proceed when</b> {}<br><b>Roll back when</b> {}</p></li>",
        esc(&phase.proceed_when),
        esc(&phase.roll_back_when)
    );
}

/// How many smoke tests the phase has and the script that runs them (`sh phase-N/smoke.sh`),
/// linked when it was written beside the report.
fn smoke_tests(report: &Report, phase: &Phase) -> String {
    let count = phase.smoke_test_count();
    let counted = esc(&crate::render::counted(count, "smoke test"));
    if count == 0 {
        return counted;
    }
    let script = meshsmith_core::plan::smoke_script::path(phase.number);
    let run = format!("<code>sh {}</code>", esc(&script));
    match report.places.link(&script) {
        Some(href) => format!("{counted}: <a href=\"{}\">{run}</a>", esc(&href)),
        None => format!("{counted}: {run}"),
    }
}

fn chips(out: &mut String, label: &str, list: &[QualifiedName]) {
    if list.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<p class=\"chips\"><b>{}</b> <span class=\"count\">{}</span> ",
        esc(label),
        list.len()
    );
    for id in list {
        let _ = write!(
            out,
            "<span class=\"chip\" data-service=\"{}\" tabindex=\"0\">{}</span>",
            esc(&id.to_string()),
            esc(&id.to_string())
        );
    }
    out.push_str("</p>");
}

fn step_item(out: &mut String, report: &Report, step: &Step) {
    let folder = folder_link(report, &step.id);
    let _ = write!(
        out,
        "<li class=\"step {}\">{folder} <span class=\"action\">{}</span> {}",
        step.action.as_str(),
        step.action.as_str(),
        esc(&format!(
            "({}, {})",
            crate::render::counted(step.service_count(), "service"),
            crate::render::counted(step.resource_count(), "resource")
        ))
    );
    let rollback = step
        .rollback
        .folder
        .as_deref()
        .map(|f| format!(" rollback: {}", folder_link(report, f)))
        .unwrap_or_default();
    let _ = write!(out, "{rollback}</li>");
}

/// A step folder linked through its kustomization when it was written beside the report.
fn folder_link(report: &Report, folder: &str) -> String {
    let kustomization = format!("{folder}/kustomization.yaml");
    match report.places.link(&kustomization) {
        Some(href) => format!(
            "<a class=\"folder\" href=\"{}\">{}/</a>",
            esc(&href),
            esc(folder)
        ),
        None => format!("<span class=\"folder\">{}/</span>", esc(folder)),
    }
}

fn reasons(out: &mut String, title: &str, list: &[(&QualifiedName, &str)]) {
    if list.is_empty() {
        return;
    }
    let _ = write!(out, "<h3>{}</h3><ul class=\"reasons\">", esc(title));
    for (id, why) in list {
        let _ = write!(
            out,
            "<li><span class=\"chip\" data-service=\"{}\" tabindex=\"0\">{}</span> {}</li>",
            esc(&id.to_string()),
            esc(&id.to_string()),
            esc(why)
        );
    }
    out.push_str("</ul>");
}
