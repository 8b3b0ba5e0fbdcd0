//! `meshsmith map`: the inferred graph, protocols, roles and timeout audit.

use crate::input::{read, InputArgs};
use crate::render::{graph, map_json, map_text};
use meshsmith_core::infer::{infer_with, Extra};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapFormat {
    Text,
    Json,
    Dot,
    Mermaid,
    Html,
}

#[derive(clap::Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: MapFormat,
    /// Policy file whose `services.<name>.callers` confirm callers; default `meshsmith.yaml`
    /// in the current folder if there is one.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
}

pub fn run(args: &MapArgs) -> anyhow::Result<ExitCode> {
    let (policy, _) = crate::commands::generate::load_policy(args.policy.as_deref())?;
    let read = read(&args.input)?;
    let declared = policy.declared_callers();
    let extra = Extra {
        traffic: read.traffic.as_ref(),
        declared: &declared,
    };
    let topology = infer_with(&read.inventory, &extra);
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
        MapFormat::Html => crate::commands::report::map_page(&topology, &args.input),
    };
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
