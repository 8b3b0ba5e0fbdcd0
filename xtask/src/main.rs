//! Project tasks: `cargo xtask synth` writes a synthetic organisation's manifests;
//! `cargo xtask bench` measures the pipeline against a parse-only baseline.
#![forbid(unsafe_code)]

mod synth;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Write a realistic synthetic organisation: namespaces per team, HTTP and gRPC services,
    /// workers, datastores, external hosts, existing Istio config and a few mistakes.
    Synth {
        #[arg(long)]
        services: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(short = 'o', long)]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Synth { services, seed, out } => {
            let org = synth::Org::new(services, seed);
            let stats = synth::write(&org, &out)?;
            println!(
                "wrote {} services in {} namespaces: {} files, {} documents, {:.1} MB to {}",
                services,
                stats.namespaces,
                stats.files,
                stats.documents,
                stats.bytes as f64 / 1e6,
                out.display()
            );
        }
    }
    Ok(())
}
