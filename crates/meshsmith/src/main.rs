//! The `meshsmith` command line: parses arguments, runs one command, maps the outcome to an
//! exit code (0 clean, 1 findings at or above `--fail-on`, 2 unusable input or usage).
#![forbid(unsafe_code)]

mod commands;
mod input;
mod render;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Turn Kubernetes manifests into a validated, phased Istio service-mesh rollout.
#[derive(Parser)]
#[command(name = "meshsmith", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Infer the service graph, protocols, roles and today's timeouts from manifests.
    Map(commands::map::MapArgs),
    /// Check manifests and Istio configuration; findings with stable codes.
    Check(commands::check::CheckArgs),
    /// Explain a check code (e.g. `meshsmith explain MS301`).
    Explain(commands::explain::ExplainArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match &cli.command {
        Command::Map(args) => commands::map::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Explain(args) => commands::explain::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<meshsmith_core::load::LoadFailure>() {
                // Every input problem, one per line, each already naming file and line.
                Some(failure) => eprint!("{failure}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(2)
        }
    }
}
