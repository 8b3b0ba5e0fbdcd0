//! `meshsmith generate`: manifests + policy file -> Istio configuration, written as a tree
//! of files (`-o DIR`) or printed as one stream (`--stdout`), optionally with the reason
//! for every value (`--explain`).

use crate::commands::explain::render_reasons;
use crate::input::{read, InputArgs};
use crate::output::write_tree;
use anyhow::{anyhow, Context};
use meshsmith_core::generate::{generate, layout, stream, GenerateOptions, Header};
use meshsmith_core::model::{ApiVersion, Inventory};
use meshsmith_core::policy::{self, IstioVersion, Policy};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write `<namespace>/<service>/<kind>.yaml` and kustomizations into.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        required_unless_present = "stdout"
    )]
    pub output: Option<PathBuf>,
    /// Print one multi-document YAML stream instead of writing files.
    #[arg(long, conflicts_with = "output")]
    pub stdout: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Overwrite files a person edited since they were generated.
    #[arg(long)]
    pub force: bool,
    /// Also print the reason for every value.
    #[arg(long)]
    pub explain: bool,
}

/// The policy and the Istio target, shared by `generate` and `explain`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Policy file; default `meshsmith.yaml` in the current folder if there is one.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// API version of the Istio resources.
    #[arg(long, value_name = "VERSION", default_value = "v1", value_parser = parse_api_version)]
    pub api_version: ApiVersion,
    /// Istio the configuration is for (e.g. 1.30); newer fields are left out. Default: the policy's.
    #[arg(long, value_name = "VERSION", value_parser = IstioVersion::parse)]
    pub istio_version: Option<IstioVersion>,
}

fn parse_api_version(text: &str) -> Result<ApiVersion, String> {
    ApiVersion::parse(text).ok_or_else(|| format!("`{text}`: expected v1 or v1beta1"))
}

/// The policy to apply and the file it came from, if any.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<(Policy, Option<String>)> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None if Path::new(policy::FILE_NAME).is_file() => PathBuf::from(policy::FILE_NAME),
        None => return Ok((Policy::default(), None)),
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the policy file {name}"))?;
    let policy = policy::parse(&name, &text).map_err(|e| anyhow!("{e}"))?;
    Ok((policy, Some(name)))
}

/// Everything up to the generated configuration; any input or policy problem stops here.
pub fn build(input: &InputArgs, config: &ConfigArgs) -> anyhow::Result<Built> {
    let (policy, policy_file) = load_policy(config.policy.as_deref())?;
    let read = read(input)?;
    let topology = meshsmith_core::infer::infer(&read.inventory);
    let options = GenerateOptions {
        api_version: config.api_version,
        istio_version: config.istio_version,
        namespace_labels: namespace_labels(&read.inventory),
    };
    let mesh = generate(&topology, &policy, &options);
    let mut inputs = input.paths.clone();
    inputs.extend(policy_file);
    let header = Header {
        version: env!("CARGO_PKG_VERSION").to_string(),
        inputs,
    };
    Ok(Built {
        topology,
        mesh,
        header,
    })
}

pub struct Built {
    pub topology: meshsmith_core::model::Topology,
    pub mesh: meshsmith_core::model::MeshConfig,
    pub header: Header,
}

fn namespace_labels(
    inventory: &Inventory,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    inventory
        .namespaces
        .iter()
        .map(|n| (n.name.clone(), n.labels.clone()))
        .collect()
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let built = build(&args.input, &args.config)?;
    for note in &built.mesh.notes {
        eprintln!("note: {note}");
    }
    if args.explain {
        for service in &built.topology.services {
            eprint!("{}", render_reasons(&service.id, &built.mesh));
        }
    }
    match (&args.output, args.stdout) {
        (_, true) => print!("{}", stream(&built.mesh, &built.header)),
        (Some(dir), false) => {
            let files = layout(&built.mesh, &built.header);
            let report = write_tree(dir, &files, args.force)?;
            eprintln!(
                "{}: {} files written, {} unchanged",
                dir.display(),
                report.written.len(),
                report.unchanged.len()
            );
            if !report.kept.is_empty() {
                eprintln!(
                    "kept {} files edited since they were generated (use --force to overwrite):",
                    report.kept.len()
                );
                for path in &report.kept {
                    eprintln!("  {}", dir.join(path).display());
                }
            }
        }
        (None, false) => return Err(anyhow!("give -o DIR or --stdout")),
    }
    Ok(ExitCode::SUCCESS)
}
