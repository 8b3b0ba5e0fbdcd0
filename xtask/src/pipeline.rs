//! The pipeline as `onboard` runs it, minus printing and writing: load -> inventory -> infer
//! -> generate -> the output files' contents, returning counts so no work is optimised away.

use meshsmith_core::generate::{generate, layout, GenerateOptions, Header};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::{collect, merge};
use meshsmith_core::load::{load_each, Input, Limits};
use meshsmith_core::policy::Policy;
use std::path::Path;

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub documents: usize,
    pub services: usize,
    pub edges: usize,
    pub resources: usize,
    pub output_bytes: usize,
}

pub fn run(dir: &Path) -> anyhow::Result<Counts> {
    let input = [Input::Path(dir.to_path_buf())];
    let loaded = load_each(&input, &Limits::default(), |objects| {
        collect(&objects, "default")
    })?;
    let inv = merge(loaded.parts);
    let topology = infer(&inv);
    let mesh = generate(&topology, &Policy::default(), &GenerateOptions::default());
    let header = Header {
        version: "bench".into(),
        inputs: vec![dir.display().to_string()],
    };
    let files = layout(&mesh, &header);
    Ok(Counts {
        documents: loaded.documents,
        services: topology.services.len(),
        edges: topology.edges.len(),
        resources: mesh.resources.len(),
        output_bytes: files.iter().map(|(_, text)| text.len()).sum(),
    })
}
