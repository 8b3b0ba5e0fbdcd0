//! `meshsmith map`: the inferred graph, protocols, roles and timeout audit.

use crate::input::{read, InputArgs};
use crate::render::{graph, map_json, map_text};
use meshsmith_core::infer::infer;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapFormat {
    Text,
    Json,
    Dot,
    Mermaid,
}

#[derive(clap::Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: MapFormat,
}

pub fn run(args: &MapArgs) -> anyhow::Result<ExitCode> {
    let read = read(&args.input)?;
    let topology = infer(&read.inventory);
    let out = match args.format {
        MapFormat::Text => map_text::render(
            &topology,
            &map_text::Summary {
                objects: read.objects,
                files: read.sources.len(),
            },
        ),
        MapFormat::Json => map_json::render(&topology),
        MapFormat::Dot => graph::dot(&topology),
        MapFormat::Mermaid => graph::mermaid(&topology),
    };
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
