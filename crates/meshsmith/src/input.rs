//! The inputs every pipeline command shares: paths (or `-`) and the default namespace.

use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits, LoadFailure, Loaded};
use meshsmith_core::model::Inventory;

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
    pub loaded: Loaded,
    pub inventory: Inventory,
}

/// Loads and inventories the inputs; any input problem fails the whole command.
pub fn read(args: &InputArgs) -> Result<Read, LoadFailure> {
    let inputs: Vec<Input> = args.paths.iter().map(|p| Input::parse(p)).collect();
    let loaded = load(&inputs, &Limits::default())?;
    let mut inventory = inventory(&loaded.objects, &args.namespace);
    // Notes from reading (skipped documents, duplicate keys) travel with the inventory's own.
    inventory.notes.splice(0..0, loaded.notes.iter().cloned());
    Ok(Read { loaded, inventory })
}
