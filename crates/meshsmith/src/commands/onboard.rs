//! `meshsmith onboard`: the whole pipeline in one command: map, generate, check and plan,
//! written to DIR (the configuration in `DIR/config/`, the rollout in `DIR/ROLLOUT.md`,
//! `DIR/plan.json` and `DIR/phase-N/`), and a summary a person reads before opening the
//! pull request.

use crate::commands::generate::{build, ConfigArgs};
use crate::input::InputArgs;
use crate::output::write_tree;
use meshsmith_core::check::{check, CheckConfig};
use meshsmith_core::inventory::{collect_owned, merge};
use meshsmith_core::load::{load_each_without_text, Input, Limits};
use meshsmith_core::model::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct OnboardArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write the mesh configuration (and the rollout plan) into.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Overwrite files a person edited since they were generated.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &OnboardArgs) -> anyhow::Result<ExitCode> {
    let mut built = build(&args.input, &args.config, false)?;
    let settings = meshsmith_core::plan::PlanSettings::from_policy(&built.policy);
    let plan = meshsmith_core::plan::plan(&built.topology, &built.mesh, &settings);
    let violations = meshsmith_core::plan::verify(&plan, &built.topology);
    let files = crate::commands::plan::files(&plan, &built.mesh, &built.header);
    let report = write_tree(&args.output, &files, args.force)?;
    // Check what was written, as a reviewer would: the manifests with the configuration.
    let config_dir = args.output.join("config");
    let written = load_each_without_text(
        &[Input::Path(config_dir.clone())],
        &Limits::default(),
        |objects| collect_owned(objects, &args.input.namespace),
    )?;
    let mut parts = vec![std::mem::take(&mut built.inventory)];
    parts.extend(written.parts);
    let findings = check(&merge(parts), &built.topology, &CheckConfig::default());
    let mut out = String::new();
    let t = &built.topology;
    let _ = writeln!(
        out,
        "meshsmith onboard: {} services, {} edges, {} external host(s)",
        t.services.len(),
        t.edges.len(),
        t.external.len()
    );
    unverified(&mut out, t, args.config.enforce_unverified);
    let mut roles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &t.services {
        roles
            .entry(s.role.as_str())
            .or_default()
            .push(s.id.name.as_str());
    }
    out.push_str("\nRoles\n");
    for (role, names) in &roles {
        let _ = writeln!(
            out,
            "  {:<22} {:>4}  {}",
            role,
            names.len(),
            shorten(names, 8)
        );
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &built.mesh.resources {
        *kinds.entry(r.kind.as_str()).or_default() += 1;
    }
    out.push_str("\nGenerated\n");
    for (kind, n) in &kinds {
        let _ = writeln!(out, "  {:<22} {:>4}", kind, n);
    }
    let _ = writeln!(
        out,
        "  {} files written, {} unchanged, {} kept (edited by hand) in {}",
        report.written.len(),
        report.unchanged.len(),
        report.kept.len(),
        args.output.display()
    );
    for path in &report.kept {
        let _ = writeln!(out, "    kept {}", args.output.join(path).display());
    }
    out.push_str("\nExceptions\n");
    let mut exceptions = 0;
    for r in built.mesh.of_kind(Kind::PeerAuthentication) {
        if let Spec::PeerAuthentication(pa) = &r.spec {
            let mode = pa.mtls.mode.as_str();
            if mode != "STRICT" {
                exceptions += 1;
                let why = r.annotations.values().next().unwrap_or("no reason given");
                let _ = writeln!(out, "  {}/{} mTLS {mode}: {why}", r.namespace, r.name);
            }
        }
    }
    if exceptions == 0 {
        out.push_str("  none: every workload is STRICT\n");
    }
    out.push_str("\nCheck of the manifests with the generated configuration\n");
    let count = |sev: Severity| findings.iter().filter(|f| f.severity == sev).count();
    let _ = writeln!(
        out,
        "  {} errors, {} warnings, {} infos (details: meshsmith check {} {})",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        args.input.paths.join(" "),
        config_dir.display()
    );
    for f in findings.iter().take(12) {
        let _ = writeln!(
            out,
            "  {:<7} {} {}: {}",
            f.severity.as_str(),
            f.code,
            f.resource,
            f.message
        );
    }
    if findings.len() > 12 {
        let _ = writeln!(out, "  ... and {} more", findings.len() - 12);
    }
    if !built.mesh.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &built.mesh.notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    let _ = writeln!(
        out,
        "\nRollout plan (details: {})",
        args.output.join("ROLLOUT.md").display()
    );
    out.push_str(&meshsmith_core::plan::outline(&plan));
    for v in &violations {
        let _ = writeln!(out, "  {} {}: {}", v.code, v.name, v.message);
    }
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// First of all: the services whose callers meshsmith does not know, and why, so nobody
/// enforces a guess without reading this.
fn unverified(out: &mut String, t: &Topology, enforced: bool) {
    let list: Vec<&MeshService> = t
        .services
        .iter()
        .filter(|s| !s.callers.is_known())
        .collect();
    if list.is_empty() {
        return;
    }
    if enforced {
        let _ = writeln!(
            out,
            "\nENFORCED WITHOUT KNOWN CALLERS (--enforce-unverified): the callers of {} of {} services are not \
             known, and their AuthorizationPolicies are enforced anyway; a caller the graph does not show will be denied:",
            list.len(),
            t.services.len()
        );
    } else {
        let _ = writeln!(
            out,
            "\nHeld in dry-run: the callers of {} of {} services are not known. Their AuthorizationPolicies ship with \
             `istio.io/dry-run: \"true\"`, and the plan keeps them PERMISSIVE and in dry-run until traffic shows who \
             calls them (the collect-traffic steps of ROLLOUT.md, then `--traffic`) or the policy file confirms it:",
            list.len(),
            t.services.len()
        );
    }
    out.push_str(&crate::render::map_text::callers_table(
        t,
        &crate::render::Names::new(t),
    ));
}

fn shorten(names: &[&str], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!(
            "{}, ... ({} more)",
            names[..max].join(", "),
            names.len() - max
        )
    }
}
