//! The tables beside the picture: every call's timeout today and as generated, the mTLS and
//! rollout exceptions with their reasons, and the services held in dry-run and why.

use super::calls::{audit, audit_text, today};
use super::details::generated_call;
use super::facts::Facts;
use super::picture::protocol_name;
use super::{esc, Report, ReportKind};
use crate::render::Names;
use meshsmith_core::model::*;
use std::fmt::Write as _;

/// Most calls listed in the timeout table; the rest are counted.
const CALLS_LISTED: usize = 3000;

pub fn timeouts(out: &mut String, report: &Report, t: &Topology, facts: &Facts) {
    let onboard = report.kind == ReportKind::Onboard;
    let names = Names::new(t);
    out.push_str("<section id=\"timeouts\"><h2>Timeouts per call</h2>");
    out.push_str(if onboard {
        "<p>What each caller waits today (its own setting for the call: the one whose key names the callee, \
         else its longest) and the route timeout and retries the generated VirtualService of the callee gives the call.</p>"
    } else {
        "<p>What each caller waits today: its own setting for the call (the one whose key names the callee, else its longest).</p>"
    });
    out.push_str("<table class=\"calls sortable\"><thead><tr><th>caller</th><th>callee</th><th>port</th><th>today</th><th>audit</th>");
    if onboard {
        out.push_str("<th>generated</th><th>file</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for e in t.edges.iter().take(CALLS_LISTED) {
        let (Some(caller), Some(callee)) = (t.service(&e.from), t.service(&e.to)) else {
            continue;
        };
        let now = today(caller, callee, true);
        let class = audit(now.as_ref());
        let now_text = now.as_ref().map_or("none".to_string(), |x| {
            format!("{}={}", x.setting.key, x.setting.raw)
        });
        let _ = write!(
            out,
            "<tr data-from=\"{}\" data-to=\"{}\"><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td class=\"audit {}\">{}</td>",
            esc(&e.from.to_string()),
            esc(&e.to.to_string()),
            esc(&names.get(&e.from)),
            esc(&names.get(&e.to)),
            e.port.map(|p| format!("{p} ")).unwrap_or_default(),
            protocol_name(e.protocol),
            esc(&now_text),
            class.as_str(),
            audit_text(class)
        );
        if onboard {
            let file = format!(
                "config/{}/{}/virtual-service.yaml",
                e.to.namespace, e.to.name
            );
            let _ = write!(
                out,
                "<td>{}</td><td>{}</td>",
                esc(&generated_call(facts.of(&e.to), e)),
                file_cell(report, &file)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if t.edges.len() > CALLS_LISTED {
        let _ = write!(
            out,
            "<p class=\"note\">The first {CALLS_LISTED} of {} calls; <code>meshsmith map --format json</code> lists every one.</p>",
            t.edges.len()
        );
    }
    out.push_str("</section>\n");
}

/// A relative link to a file written beside the report, else its name.
pub fn file_cell(report: &Report, rel: &str) -> String {
    match report.places.link(rel) {
        Some(href) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(rel)),
        None if report.places.has_any() => String::new(),
        None => format!("<span class=\"path\">{}</span>", esc(rel)),
    }
}

/// PERMISSIVE workloads with their reasons, services left out of the rollout, and notes.
pub fn exceptions(out: &mut String, report: &Report) {
    out.push_str("<section id=\"exceptions\"><h2>Exceptions</h2>");
    let mut rows = String::new();
    if let Some(mesh) = report.mesh {
        for r in mesh.of_kind(Kind::PeerAuthentication) {
            let Spec::PeerAuthentication(pa) = &r.spec else {
                continue;
            };
            if pa.mtls.mode == "STRICT" {
                continue;
            }
            let why = r
                .annotations
                .get(MTLS_REASON_ANNOTATION)
                .unwrap_or("no reason given");
            let file = format!(
                "config/{}/{}/peer-authentication.yaml",
                r.owner.namespace, r.owner.name
            );
            let _ = write!(
                rows,
                "<tr data-service=\"{}\"><td>{}/{}</td><td>mTLS {}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.owner.to_string()),
                esc(&r.namespace),
                esc(&r.name),
                esc(&pa.mtls.mode),
                esc(why),
                file_cell(report, &file)
            );
        }
    }
    if let Some((plan, _)) = report.plan {
        for s in &plan.skipped {
            let _ = write!(
                rows,
                "<tr data-service=\"{}\"><td>{}/{}</td><td>left out of the rollout</td><td>{}</td><td></td></tr>",
                esc(&s.service.to_string()),
                esc(&s.service.namespace),
                esc(&s.service.name),
                esc(&s.reason)
            );
        }
    }
    if rows.is_empty() {
        out.push_str("<p>None: every workload is STRICT and every service is in the rollout.</p>");
    } else {
        out.push_str("<table><thead><tr><th>workload</th><th>exception</th><th>reason</th><th>file</th></tr></thead><tbody>");
        out.push_str(&rows);
        out.push_str("</tbody></table>");
    }
    if let Some(mesh) = report.mesh.filter(|m| !m.notes.is_empty()) {
        out.push_str("<h3>Notes from generation</h3><ul class=\"notes\">");
        for n in &mesh.notes {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

/// Services whose callers are not known: in `onboard`, their AuthorizationPolicies ship in
/// dry-run (unless `--enforce-unverified`), with the plan's reason for holding them.
pub fn held(out: &mut String, report: &Report, t: &Topology, facts: &Facts) {
    let onboard = report.kind == ReportKind::Onboard;
    let names = Names::new(t);
    let title = if onboard {
        "Held in dry-run"
    } else {
        "Callers not known"
    };
    let _ = write!(out, "<section id=\"dry-run\"><h2>{title}</h2>");
    let list: Vec<&MeshService> = t
        .services
        .iter()
        .filter(|s| !s.callers.is_known())
        .collect();
    let dry: Vec<&MeshService> = t
        .services
        .iter()
        .filter(|s| s.callers.is_known())
        .filter(|s| {
            facts
                .of(&s.id)
                .authorization
                .as_ref()
                .is_some_and(|a| a.dry_run)
        })
        .collect();
    if list.is_empty() && dry.is_empty() {
        out.push_str("<p>None: the callers of every service are known.</p></section>\n");
        return;
    }
    if onboard {
        out.push_str(
            "<p>meshsmith enforces a policy only where it knows the callers. These services' AuthorizationPolicies \
             ship with <code>istio.io/dry-run: \"true\"</code> and stay PERMISSIVE until traffic shows who calls them \
             (the collect-traffic steps of the rollout, then <code>--traffic</code>) or the policy file confirms it.</p>",
        );
    }
    out.push_str("<table><thead><tr><th>service</th><th>callers</th><th>why</th>");
    if onboard {
        out.push_str("<th>authorization</th><th>plan</th><th>file</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for s in list.iter().chain(dry.iter()) {
        let why: Vec<String> = s
            .callers
            .reasons
            .iter()
            .map(|r| format!("{} [{}]", r.message, r.code))
            .collect();
        let why = if why.is_empty() {
            s.callers.basis.clone()
        } else {
            why.join("; ")
        };
        let _ = write!(
            out,
            "<tr data-service=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
            esc(&s.id.to_string()),
            esc(&names.get(&s.id)),
            s.callers.level.as_str(),
            esc(&why)
        );
        if onboard {
            let f = facts.of(&s.id);
            let state = match &f.authorization {
                Some(a) if a.dry_run => "dry-run",
                Some(_) => "enforced",
                None => "none generated",
            };
            let file = format!(
                "config/{}/{}/authorization-policy.yaml",
                s.id.namespace, s.id.name
            );
            let _ = write!(
                out,
                "<td>{state}</td><td>{}</td><td>{}</td>",
                esc(f.held.unwrap_or("")),
                file_cell(report, &file)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>\n");
}
