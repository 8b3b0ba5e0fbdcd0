//! `meshsmith report PATH... -o FILE`: the HTML report `onboard` writes into its folder, on
//! its own: the same pipeline (map, generate, plan, and the check of the manifests with the
//! generated configuration, made in memory), one self-contained file. Also the report's
//! part of `onboard` ([`write_beside`]), and the pages of `map` and `check --format html`.

use crate::commands::check::policy_config;
use crate::commands::generate::{build, Built, ConfigArgs};
use crate::input::InputArgs;
use crate::output::{write_file, FileOutcome};
use crate::render::html::{self, Places, Report, ReportKind};
use anyhow::bail;
use meshsmith_core::check::check;
use meshsmith_core::inventory::{collect_owned, merge};
use meshsmith_core::model::{Finding, Plan, PlanViolation, Topology};
use meshsmith_core::plan::{self, ClusterFacts, PlanSettings, RolloutConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The report's name in `onboard`'s folder.
pub const REPORT_FILE: &str = "report.html";

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// File to write the report to (e.g. report.html).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Overwrite FILE even if it is not a report meshsmith wrote, or was edited since.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut built = build(&args.input, &args.config, false)?;
    let (mut plan, violations) = rollout(&built);
    // Verified, and no file of it is written here: the page reads only the plan's outline, as
    // `onboard`'s does.
    plan.release_details();
    let findings = check_in_memory(&mut built, &args.input.namespace)?;
    let places = Places::new(&args.input.paths);
    let report = Report {
        kind: ReportKind::Onboard,
        version: env!("CARGO_PKG_VERSION"),
        topology: Some(&built.topology),
        mesh: Some(&built.mesh),
        findings: Some(&findings),
        plan: Some((&plan, &violations)),
        places: &places,
        ingress_principal: &built.policy.ingress_gateway_principal,
        enforce_unverified: args.config.enforce_unverified,
    };
    let text = html::file(&report, &built.header);
    match write_file(&args.output, &text, args.force)? {
        FileOutcome::Kept => bail!(
            "{}: exists, and is not a report meshsmith wrote (or was edited since); give another file, or --force to overwrite it",
            args.output.display()
        ),
        FileOutcome::Written | FileOutcome::Unchanged => {
            eprintln!(
                "{}: {} services; open it in a browser",
                args.output.display(),
                built.topology.services.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The rollout `onboard` plans, from the configuration as generated.
fn rollout(built: &Built) -> (Plan, Vec<PlanViolation>) {
    let source = RolloutConfig::generated(&built.mesh);
    let mut settings = PlanSettings::from_policy(&built.policy);
    settings.cluster = ClusterFacts::from_inventory(&built.inventory);
    let plan = plan::plan_from(&built.topology, &source, &settings);
    let violations = plan::verify(&plan, &built.topology);
    (plan, violations)
}

/// The check `onboard` makes of the manifests with the configuration it writes, made on the
/// configuration's objects as its files would hold them (named `config/...` as `onboard`
/// writes them), each file's typed as soon as it is built.
fn check_in_memory(built: &mut Built, namespace: &str) -> anyhow::Result<Vec<Finding>> {
    let mut parts = vec![std::mem::take(&mut built.inventory)];
    parts.extend(meshsmith_core::generate::objects_into(
        &built.mesh,
        &built.header,
        Path::new(crate::commands::plan::CONFIG_FOLDER),
        &|objects| collect_owned(objects, namespace),
    ));
    let levels = policy_config(&built.policy, built.policy.file.as_deref())?;
    let inventory = merge(parts);
    let findings = check(&inventory, &built.topology, &levels);
    built.inventory = inventory;
    Ok(findings)
}

/// What `onboard` needs to write its report beside the rest.
pub struct Beside<'a> {
    pub dir: &'a Path,
    pub built: &'a Built,
    pub plan: &'a Plan,
    pub violations: &'a [PlanViolation],
    pub findings: &'a [Finding],
    pub input: &'a InputArgs,
    pub enforce_unverified: bool,
    pub force: bool,
}

/// Writes `DIR/report.html` for `onboard`; a line for its summary says what became of it.
pub fn write_beside(b: &Beside) -> anyhow::Result<String> {
    // Links go to the files the folder holds now, as they were written or kept.
    let mut written = files_in(b.dir);
    written.push(PathBuf::from(REPORT_FILE));
    let places = Places::new(&b.input.paths).beside(b.dir, written);
    let report = Report {
        kind: ReportKind::Onboard,
        version: env!("CARGO_PKG_VERSION"),
        topology: Some(&b.built.topology),
        mesh: Some(&b.built.mesh),
        findings: Some(b.findings),
        plan: Some((b.plan, b.violations)),
        places: &places,
        ingress_principal: &b.built.policy.ingress_gateway_principal,
        enforce_unverified: b.enforce_unverified,
    };
    let path = b.dir.join(REPORT_FILE);
    let text = html::file(&report, &b.built.header);
    Ok(match write_file(&path, &text, b.force)? {
        FileOutcome::Kept => format!(
            "kept (edited since it was generated; --force overwrites): {}",
            path.display()
        ),
        FileOutcome::Written | FileOutcome::Unchanged => {
            format!("report: {} (open it in a browser)", path.display())
        }
    })
}

/// The files under `dir`, relative to it, leaving out hidden ones (the writer's journal).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(rel.join(&name)),
                Ok(t) if t.is_file() => out.push(rel.join(&name)),
                _ => {}
            }
        }
    }
    out
}

/// `map --format html`: the graph and today's settings.
pub fn map_page(topology: &Topology, input: &InputArgs) -> String {
    let places = Places::new(&input.paths);
    html::render(&Report {
        kind: ReportKind::Map,
        version: env!("CARGO_PKG_VERSION"),
        topology: Some(topology),
        mesh: None,
        findings: None,
        plan: None,
        places: &places,
        ingress_principal: "",
        enforce_unverified: false,
    })
}

/// `check --format html`: the findings.
pub fn check_page(findings: &[Finding], input: &InputArgs) -> String {
    let places = Places::new(&input.paths);
    html::render(&Report {
        kind: ReportKind::Check,
        version: env!("CARGO_PKG_VERSION"),
        topology: None,
        mesh: None,
        findings: Some(findings),
        plan: None,
        places: &places,
        ingress_principal: "",
        enforce_unverified: false,
    })
}
