//! `meshsmith plan`: manifests + policy file -> a phased rollout written into `-o DIR`
//! (`ROLLOUT.md`, `plan.json`, one kustomize folder per step, and the final configuration
//! in `DIR/config/`), or, with `--verify FILE`, the rules a (hand-edited) plan.json breaks.
//! A file of `DIR/config/` that a person edited since it was generated is kept, and the
//! step folders are built from it as it is (see [`rollout`]).

use crate::commands::generate::{build, Built, ConfigArgs};
use crate::input::InputArgs;
use crate::output::{kept_files, TreeWriter, WriteOptions, WriteReport};
use anyhow::{anyhow, Context};
use meshsmith_core::generate::layout as generated;
use meshsmith_core::load::{load_text, Limits};
use meshsmith_core::model::{Kind, MeshConfig, NoteLevel, Plan, Topology};
use meshsmith_core::plan::{
    self, layout::read_plan, ClusterFacts, EditedFile, PlanSettings, PlanViolation, RolloutConfig,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The folder inside the output that holds the generated configuration.
pub const CONFIG_FOLDER: &str = "config";

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write ROLLOUT.md, plan.json, the phase folders (steps and smoke.sh) and config/ into.
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
    /// Remove files generated earlier that this run no longer writes (the steps of a plan
    /// that had more phases); without it they are listed and left.
    #[arg(long)]
    pub prune: bool,
}

/// The configuration's files, under `config/`, as generated.
fn config_files(mesh: &MeshConfig, header: &generated::Header) -> Vec<(PathBuf, String)> {
    generated::layout(mesh, header)
        .into_iter()
        .map(|(p, c)| (Path::new(CONFIG_FOLDER).join(p), c))
        .collect()
}

/// A rollout ready to be written into its folder.
pub struct Rollout<'a> {
    pub plan: Plan,
    /// The rules the plan breaks (none, unless the configuration was edited into breaking one).
    pub violations: Vec<PlanViolation>,
    /// The configuration the steps are built from: as generated, with a person's edits.
    source: RolloutConfig<'a>,
    mesh: &'a MeshConfig,
    header: &'a generated::Header,
    /// The files of `config/` a person edited, which the steps apply as they are.
    pub edited: Vec<String>,
}

impl Rollout<'_> {
    /// Writes the configuration, then each file of the plan, each as it is built (the
    /// configuration's files, step copies, kustomizations, plan.json, ROLLOUT.md), so the
    /// rollout's files are never all in memory at once; atomic as [`TreeWriter`] is.
    pub fn write(&self, dir: &Path, options: WriteOptions) -> anyhow::Result<WriteReport> {
        // A refusal (a path out of the folder) or an error part-way drops what was staged:
        // nothing is written.
        let mut writer = TreeWriter::begin(dir, options)?;
        writer.add_configuration(self.mesh, self.header, Path::new(CONFIG_FOLDER))?;
        plan::layout::layout_each(&self.plan, &self.source, self.header, |rel, text| {
            writer.add(&rel, &text)
        })?;
        writer.finish()
    }
}

/// The rollout of `built` for the folder `dir`: its steps are built from the configuration as
/// `dir/config/` will hold it, so a file a person edited (and `write_tree` keeps) is what the
/// steps apply; with `force` the edits are overwritten, and the steps apply what is generated.
/// An edited file that no step can be built from stops it, naming every such file.
pub fn rollout<'a>(dir: &Path, built: &'a Built, force: bool) -> anyhow::Result<Rollout<'a>> {
    // Edits are looked for only where there is a configuration already; the files are
    // written later, each as it is rendered again.
    let edits = if dir.join(CONFIG_FOLDER).is_dir() {
        edited_files(dir, &config_files(&built.mesh, &built.header), force)?
    } else {
        Vec::new()
    };
    let source = RolloutConfig::with_edits(&built.mesh, &edits).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("  {}: {}", dir.join(&e.path).display(), e.message))
            .collect();
        anyhow!(
            "the rollout's steps cannot be built from the edited configuration:\n{}",
            lines.join("\n")
        )
    })?;
    let mut settings = PlanSettings::from_policy(&built.policy);
    settings.cluster = ClusterFacts::from_inventory(&built.inventory);
    let plan = plan::plan_from(&built.topology, &source, &settings);
    let violations = plan::verify(&plan, &built.topology);
    let edited = source.edited_files().to_vec();
    Ok(Rollout {
        plan,
        violations,
        source,
        mesh: &built.mesh,
        header: &built.header,
        edited,
    })
}

/// The resource files of `config/` a person edited, with the objects generated into each and
/// the objects it holds now; every one that does not read is an error naming it.
fn edited_files(
    dir: &Path,
    config: &[(PathBuf, String)],
    force: bool,
) -> anyhow::Result<Vec<EditedFile>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (rel, generated, on_disk) in kept_files(dir, config, force)? {
        // Kustomizations and patches (of namespaces, of workloads' accounts) are in no
        // step's folder.
        let resources = rel.extension().is_some_and(|e| e == "yaml")
            && rel.file_name().is_some_and(|n| {
                n != "kustomization.yaml"
                    && n != Kind::NamespacePatch.file_name()
                    && !n.to_string_lossy().ends_with(".patch.yaml")
            });
        if !resources {
            continue;
        }
        let shown = dir.join(&rel).display().to_string();
        match (objects(&shown, &generated), objects(&shown, &on_disk)) {
            (Ok(generated), Ok(on_disk)) => out.push(EditedFile {
                path: rel.display().to_string(),
                generated,
                on_disk,
            }),
            (_, Err(e)) | (Err(e), _) => errors.push(format!(
                "  {e} (edited since it was generated; fix it, or run again with --force to write the generated file)"
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(anyhow!(
            "the rollout's steps cannot be built from the edited configuration:\n{}",
            errors.join("\n")
        ))
    }
}

/// The Kubernetes objects of a YAML text, or why it does not read as one.
fn objects(name: &str, text: &str) -> Result<Vec<Value>, String> {
    let loaded = load_text(name, text, &Limits::default()).map_err(|e| {
        e.to_string()
            .trim()
            .trim_start_matches("error: ")
            .to_string()
    })?;
    if let Some(note) = loaded
        .notes
        .iter()
        .find(|n| n.level == NoteLevel::Warning || n.message.starts_with("skipped"))
    {
        return Err(format!("{name}:{}: {}", note.origin.line, note.message));
    }
    Ok(loaded.objects.iter().map(|o| o.doc.to_json()).collect())
}

fn render(violations: &[PlanViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}: {} (at {})\n", v.code, v.name, v.message, v.pointer))
        .collect()
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let input = args.input.writing_to(args.output.as_deref());
    let built = build(&input, &args.config, false)?;
    if let Some(file) = &args.verify {
        return verify_file(file, &built.topology);
    }
    let Some(dir) = &args.output else {
        return Err(anyhow!("give -o DIR or --verify FILE"));
    };
    let rollout = rollout(dir, &built, args.force)?;
    let options = WriteOptions {
        force: args.force,
        prune: args.prune,
    };
    let report = rollout.write(dir, options)?;
    let Rollout {
        plan,
        violations,
        edited,
        ..
    } = rollout;
    for note in &built.mesh.notes {
        eprintln!("note: {note}");
    }
    eprint!("{}", crate::output::describe(dir, &report));
    for path in &edited {
        eprintln!(
            "note: the rollout's steps apply {} as edited",
            dir.join(path).display()
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
