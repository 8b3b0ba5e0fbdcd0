//! The inputs every pipeline command shares: paths (or `-`) and the default namespace.

use meshsmith_core::inventory::{collect_owned, merge};
use meshsmith_core::load::traffic;
use meshsmith_core::load::{load_each_without_text, Input, Limits};
use meshsmith_core::model::{Inventory, Note, NoteLevel, Sources, Traffic, SKIPPED};

#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Manifest files, folders (read recursively for .yaml, .yml, .json), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Namespace for objects that name none (as `kubectl apply -n` would).
    #[arg(long, short = 'n', default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Observed traffic: Prometheus answers over Istio's metrics, Istio's Envoy access logs,
    /// Kiali's graph (files, folders, or `-`; repeatable; the format is detected).
    #[arg(long, value_name = "PATH")]
    pub traffic: Vec<String>,
    /// The folder the command writes into: never read as manifests, where an input folder
    /// holds it (`meshsmith generate . -o out`), so a second run does not read the first
    /// one's output as hand-written configuration.
    #[arg(skip)]
    pub writes_to: Option<std::path::PathBuf>,
}

impl InputArgs {
    /// These inputs for a command that writes into `folder`, if it writes into one.
    pub fn writing_to(&self, folder: Option<&std::path::Path>) -> InputArgs {
        InputArgs {
            writes_to: folder.map(std::path::Path::to_path_buf),
            ..self.clone()
        }
    }
}

/// What was read and typed.
pub struct Read {
    /// The calls `--traffic` showed, when given.
    pub traffic: Option<Traffic>,
    /// The files read: their names, and the text of standard input only (a file's text is
    /// let go once parsed; a report that shows its lines reads it again).
    pub sources: Sources,
    pub inventory: Inventory,
    pub objects: usize,
}

/// Loads and inventories the inputs, and reads the traffic; any input problem fails the
/// whole command.
pub fn read(args: &InputArgs) -> anyhow::Result<Read> {
    if args.paths.iter().any(|p| p == "-") && args.traffic.iter().any(|p| p == "-") {
        anyhow::bail!("standard input can carry the manifests or the traffic, not both");
    }
    let traffic = if args.traffic.is_empty() {
        None
    } else {
        let inputs: Vec<Input> = args.traffic.iter().map(|p| Input::parse(p)).collect();
        Some(traffic::read(&inputs, &Limits::default())?)
    };
    let mut read = read_manifests(args)?;
    if read.objects == 0 {
        anyhow::bail!("{}", nothing_found(args, &read));
    }
    read.traffic = traffic;
    Ok(read)
}

/// Why there is nothing to work on: no files, or files without one Kubernetes object.
fn nothing_found(args: &InputArgs, read: &Read) -> String {
    let files = read.sources.len();
    let skipped = read
        .inventory
        .notes
        .iter()
        .find(|n| n.message.starts_with("skipped: not a Kubernetes object"))
        .map(|n| format!("; {} ({})", n.message, n.origin))
        .unwrap_or_default();
    format!(
        "no Kubernetes objects found in {} ({} read, with .yaml, .yml or .json names in folders{skipped}); \
         give manifests, or render them first (`helm template ...`, `kustomize build ...`, `kubectl get ... -o yaml`)",
        args.paths.join(" "),
        crate::render::counted(files, "file")
    )
}

/// Warnings printed to standard error at most; the rest are counted.
const WARNINGS_SHOWN: usize = 8;

/// Which of the input's warnings a command prints beside its own output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warnings {
    /// Every one: the command's output carries none of them (generate, plan, onboard).
    All,
    /// What was left out of the input: the command's output reports the others.
    Skipped,
}

/// Prints the input's warnings to standard error (the first few, then how many more), so
/// that nothing read is left out without a word whatever the command.
pub fn print_warnings(inventory: &Inventory, which: Warnings) {
    let shown = |n: &&Note| {
        n.level == NoteLevel::Warning && (which == Warnings::All || n.message.starts_with(SKIPPED))
    };
    let warnings: Vec<&Note> = inventory.notes.iter().filter(shown).collect();
    for n in warnings.iter().take(WARNINGS_SHOWN) {
        eprintln!("warning: {}: {}", n.origin, n.message);
    }
    if warnings.len() > WARNINGS_SHOWN {
        eprintln!("warning: ... and {} more", warnings.len() - WARNINGS_SHOWN);
    }
}

fn read_manifests(args: &InputArgs) -> anyhow::Result<Read> {
    let mut inputs: Vec<Input> = args.paths.iter().map(|p| Input::parse(p)).collect();
    if let Some(out) = &args.writes_to {
        if let Some(holder) = input_holding(&args.paths, out)? {
            eprintln!(
                "note: {} is the output folder: not read as manifests, although {holder} holds it",
                out.display()
            );
            inputs.push(Input::Skip(out.clone()));
        }
    }
    // Each file is typed as soon as it is parsed, so its document trees never pile up.
    let visit = |objects| collect_owned(objects, &args.namespace);
    let read = load_each_without_text(&inputs, &Limits::default(), visit)?;
    let mut inventory = merge(read.parts);
    // Notes from reading (skipped documents, duplicate keys) travel with the inventory's own.
    inventory.notes.splice(0..0, read.notes);
    Ok(Read {
        traffic: None,
        sources: read.sources,
        inventory,
        objects: read.objects,
    })
}

/// The input folder that holds the output folder `out`, if one does (an error if one is
/// `out` itself: its own output would be read as manifests). Nothing holds a folder that is
/// not there yet.
fn input_holding(paths: &[String], out: &std::path::Path) -> anyhow::Result<Option<String>> {
    let Ok(out_real) = std::fs::canonicalize(out) else {
        return Ok(None);
    };
    for p in paths.iter().filter(|p| *p != "-") {
        let Ok(real) = std::fs::canonicalize(p) else {
            continue;
        };
        if !real.is_dir() {
            continue;
        }
        if real == out_real {
            anyhow::bail!(
                "{p} is both an input and the output folder: what was written there would be \
                 read as manifests; write the output into another folder"
            );
        }
        if out_real.starts_with(&real) {
            return Ok(Some(p.clone()));
        }
    }
    Ok(None)
}
