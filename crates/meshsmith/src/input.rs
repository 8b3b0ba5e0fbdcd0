//! The inputs every pipeline command shares: paths (or `-`) and the default namespace.

use meshsmith_core::inventory::{collect_owned, merge};
use meshsmith_core::load::{load_each_without_text, Input, Limits, LoadFailure};
use meshsmith_core::model::{Inventory, Sources};

#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Manifest files, folders (read recursively for .yaml, .yml, .json), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Namespace for objects that name none (as `kubectl apply -n` would).
    #[arg(long, short = 'n', default_value = "default", value_name = "NS")]
    pub namespace: String,
}

/// What was read and typed.
pub struct Read {
    /// The files read: their names, and the text of standard input only (a file's text is
    /// let go once parsed; a report that shows its lines reads it again).
    pub sources: Sources,
    pub inventory: Inventory,
    pub objects: usize,
}

/// Loads and inventories the inputs; any input problem fails the whole command.
pub fn read(args: &InputArgs) -> Result<Read, LoadFailure> {
    let inputs: Vec<Input> = args.paths.iter().map(|p| Input::parse(p)).collect();
    // Each file is typed as soon as it is parsed, so its document trees never pile up.
    let visit = |objects| collect_owned(objects, &args.namespace);
    let read = load_each_without_text(&inputs, &Limits::default(), visit)?;
    let mut inventory = merge(read.parts);
    // Notes from reading (skipped documents, duplicate keys) travel with the inventory's own.
    inventory.notes.splice(0..0, read.notes);
    Ok(Read {
        sources: read.sources,
        inventory,
        objects: read.objects,
    })
}
