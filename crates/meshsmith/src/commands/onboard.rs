//! `meshsmith onboard`: the whole pipeline in one command: map, generate, check and plan,
//! written to DIR (the configuration in `DIR/config/`, the rollout in `DIR/ROLLOUT.md`,
//! `DIR/plan.json` and `DIR/phase-N/`), and a summary a person reads before opening the
//! pull request.

use crate::commands::check::{policy_config, FailOn};
use crate::commands::generate::{build, ConfigArgs};
use crate::input::InputArgs;
use crate::output::WriteOptions;
use meshsmith_core::check::check;
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
    /// Remove files generated earlier that this run no longer writes; without it they are
    /// listed and left.
    #[arg(long)]
    pub prune: bool,
    /// Exit 1 when the check of what was written finds something at or above this severity
    /// (or the plan breaks a rule).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
}

pub fn run(args: &OnboardArgs) -> anyhow::Result<ExitCode> {
    let mut built = build(
        &args.input.writing_to(Some(&args.output)),
        &args.config,
        false,
    )?;
    // The steps are built from config/ as it will be on disk, a person's edits included.
    let rollout = crate::commands::plan::rollout(&args.output, &built, args.force)?;
    let options = WriteOptions {
        force: args.force,
        prune: args.prune,
    };
    let mut report = rollout.write(&args.output, options)?;
    let crate::commands::plan::Rollout {
        mut plan,
        violations,
        ..
    } = rollout;
    // Written and verified: what follows (the check of what was written, the report and the
    // summary) reads only the plan's outline.
    plan.release_details();
    // The report is written on its own once the check is done; it is not stale.
    report
        .stale
        .retain(|p| p != std::path::Path::new(crate::commands::report::REPORT_FILE));
    // Check what was written, as a reviewer would: the manifests with the configuration.
    let config_dir = args.output.join("config");
    let mut parts = vec![std::mem::take(&mut built.inventory)];
    // Nothing to configure (no Service, or the manifests' own objects kept in place of
    // every generated one) writes no configuration.
    let config = config_dir.exists().then_some(config_dir.as_path());
    if let Some(config) = config {
        let written = load_each_without_text(
            &[Input::Path(config.to_path_buf())],
            &Limits::default(),
            |objects| collect_owned(objects, &args.input.namespace),
        )?;
        parts.extend(written.parts);
    }
    let mut levels = policy_config(&built.policy, built.policy.file.as_deref())?;
    // What generate left to the manifests' own objects is reported with the rest (MS342).
    levels.kept = built.mesh.kept.clone();
    let findings = check(&merge(parts), &built.topology, &levels);
    let report_line = crate::commands::report::write_beside(&crate::commands::report::Beside {
        dir: &args.output,
        built: &built,
        plan: &plan,
        violations: &violations,
        findings: &findings,
        input: &args.input,
        enforce_unverified: args.config.enforce_unverified,
        force: args.force,
    })?;
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
    for line in crate::output::describe(&args.output, &report).lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "  {report_line}");
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
    findings_section(&mut out, &findings, &args.input.paths, config);
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
    next_steps(&mut out, &plan, &built.policy, &args.output);
    crate::output::print(&out)?;
    let failed = !violations.is_empty()
        || findings
            .iter()
            .any(|f| f.severity >= args.fail_on.severity());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The check of what was written (with the configuration folder, when there is one): the
/// counts, then every error (they block the rollout), then the other codes with how often
/// each fired.
fn findings_section(
    out: &mut String,
    findings: &[Finding],
    inputs: &[String],
    config: Option<&std::path::Path>,
) {
    out.push_str("\nCheck of the manifests with the generated configuration\n");
    let config = config.map_or(String::new(), |c| format!(" {}", c.display()));
    let _ = writeln!(
        out,
        "  {} (details: meshsmith check {}{config})",
        crate::render::check_text::summary(findings).trim_end(),
        inputs.join(" "),
    );
    for f in findings.iter().filter(|f| f.severity == Severity::Error) {
        let at = f
            .origin
            .as_ref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  error   {} {}: {}{at}",
            f.code, f.resource, f.message
        );
    }
    let mut by_code: BTreeMap<(std::cmp::Reverse<Severity>, &str, &str), usize> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.severity != Severity::Error) {
        *by_code
            .entry((std::cmp::Reverse(f.severity), f.code, f.name))
            .or_default() += 1;
    }
    for ((severity, code, name), n) in by_code {
        let _ = writeln!(out, "  {:<7} {code} {name}: {n}", severity.0.as_str());
    }
}

/// What to do next: what to review, the first command of the rollout, and what the cluster
/// must offer for the plan to hold.
fn next_steps(
    out: &mut String,
    plan: &Plan,
    policy: &meshsmith_core::policy::Policy,
    dir: &std::path::Path,
) {
    out.push_str("\nNext steps\n");
    let _ = writeln!(
        out,
        "  1. Review {} (the phases, their smoke tests and rollbacks), the exceptions above, and the services held in dry-run.",
        dir.join("ROLLOUT.md").display()
    );
    let first = plan
        .phases
        .first()
        .and_then(|p| p.steps.first())
        .and_then(|s| s.commands.first());
    let mut number = 2;
    if let Some(command) = first {
        let _ = writeln!(
            out,
            "  2. Start the rollout from {}: {command}",
            dir.display()
        );
        number += 1;
    }
    let _ = writeln!(
        out,
        "  {number}. The cluster needs: Istio {} or newer; an ingress gateway running as `{}` (or set \
         `ingressGateway` in meshsmith.yaml); and, for the plan's metrics, \
         `meshConfig.defaultConfig.proxyStatsMatcher.inclusionRegexps` with `.*outlier_detection.*`, \
         `.*rbac.*` and `.*no_filter_chain_match.*` (the gate reads them).",
        policy.istio_version, policy.ingress_gateway_principal
    );
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
