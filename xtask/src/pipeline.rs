//! The pipeline as `onboard` runs it, minus printing: load -> inventory -> infer (-> generate
//! -> check once those stages exist), returning counts so the work cannot be optimised away.

use meshsmith_core::infer::infer;
use meshsmith_core::inventory::{collect, merge};
use meshsmith_core::load::{load_each, Input, Limits};
use std::path::Path;

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub documents: usize,
    pub services: usize,
    pub edges: usize,
}

pub fn run(dir: &Path) -> anyhow::Result<Counts> {
    let input = [Input::Path(dir.to_path_buf())];
    let loaded = load_each(&input, &Limits::default(), |objects| {
        collect(&objects, "default")
    })?;
    let inv = merge(loaded.parts);
    let topology = infer(&inv);
    Ok(Counts {
        documents: loaded.documents,
        services: topology.services.len(),
        edges: topology.edges.len(),
    })
}
