//! `meshsmith map`: the inferred graph, protocols, roles and timeout audit.

use crate::input::{read, InputArgs};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(args: &MapArgs) -> anyhow::Result<ExitCode> {
    let read = read(&args.input)?;
    println!("{} objects", read.loaded.objects.len());
    Ok(ExitCode::SUCCESS)
}
