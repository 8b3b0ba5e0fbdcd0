//! `meshsmith plan`: manifests + policy file -> a phased rollout written into `-o DIR`
//! (`ROLLOUT.md`, `plan.json`, one kustomize folder per step, and the final configuration
//! in `DIR/config/`), or, with `--verify FILE`, the rules a (hand-edited) plan.json breaks.

use crate::commands::generate::{build, ConfigArgs};
use crate::input::InputArgs;
use crate::output::write_tree;
use anyhow::{anyhow, Context};
use meshsmith_core::generate::layout as generated;
use meshsmith_core::model::{MeshConfig, Plan, Topology};
use meshsmith_core::plan::{self, layout::read_plan, PlanSettings, PlanViolation};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The folder inside the output that holds the generated configuration.
pub const CONFIG_FOLDER: &str = "config";

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write ROLLOUT.md, plan.json, the phase folders and config/ into.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        required_unless_present = "verify"
    )]
    pub output: Option<PathBuf>,
    /// Check this plan.json against the manifests instead of writing a plan.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub verify: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Overwrite files a person edited since they were generated.
    #[arg(long)]
    pub force: bool,
}

/// The plan and every file it needs, the final configuration under `config/`.
pub fn files(plan: &Plan, mesh: &MeshConfig, header: &generated::Header) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = generated::layout(mesh, header)
        .into_iter()
        .map(|(p, c)| (Path::new(CONFIG_FOLDER).join(p), c))
        .collect();
    files.extend(plan::layout(plan, mesh, header));
    files.sort();
    files
}

fn render(violations: &[PlanViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}: {} (at {})\n", v.code, v.name, v.message, v.pointer))
        .collect()
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let built = build(&args.input, &args.config, false)?;
    if let Some(file) = &args.verify {
        return verify_file(file, &built.topology);
    }
    let settings = PlanSettings::from_policy(&built.policy);
    let plan = plan::plan(&built.topology, &built.mesh, &settings);
    let violations = plan::verify(&plan, &built.topology);
    let Some(dir) = &args.output else {
        return Err(anyhow!("give -o DIR or --verify FILE"));
    };
    let report = write_tree(dir, &files(&plan, &built.mesh, &built.header), args.force)?;
    for note in &built.mesh.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "{}: {} files written, {} unchanged",
        dir.display(),
        report.written.len(),
        report.unchanged.len()
    );
    for path in &report.kept {
        eprintln!(
            "kept (edited since generated; --force overwrites): {}",
            dir.join(path).display()
        );
    }
    for stale in stale_phases(dir, plan.phases.len()) {
        eprintln!(
            "warning: {} is from an earlier plan with more phases; remove it",
            dir.join(stale).display()
        );
    }
    crate::output::print(&plan::outline(&plan))?;
    if violations.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprint!("{}", render(&violations));
        Ok(ExitCode::from(1))
    }
}

/// `phase-N` folders beyond the plan's last phase, left by an earlier run; sorted.
fn stale_phases(dir: &Path, phases: usize) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            name.strip_prefix("phase-")
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n > phases)
        })
        .collect();
    out.sort();
    out
}

/// A plan.json file's text and the plan in it; errors name the file and line.
pub fn read_plan_file(file: &Path) -> anyhow::Result<(String, Plan)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let plan = read_plan(&text).map_err(|e| {
        anyhow!(
            "{}:{}: {} (write the plan again with `meshsmith plan -o DIR`, or fix the edit)",
            file.display(),
            e.line,
            e.message
        )
    })?;
    Ok((text, plan))
}

fn verify_file(file: &Path, topology: &Topology) -> anyhow::Result<ExitCode> {
    let (_, plan) = read_plan_file(file)?;
    let violations = plan::verify(&plan, topology);
    crate::output::print(&render(&violations))?;
    if violations.is_empty() {
        eprintln!("{}: the plan keeps every rule", file.display());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}
