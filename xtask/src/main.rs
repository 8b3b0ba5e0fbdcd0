//! Project tasks: `cargo xtask synth` writes a synthetic organisation's manifests;
//! `cargo xtask bench` measures the pipeline against a parse-only baseline.
#![forbid(unsafe_code)]

mod bench;

use xtask::synth;

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
    /// Measure the pipeline against a parse-only baseline on synthetic organisations.
    Bench {
        /// Organisation sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
        services: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the synthetic corpora are written (and reused).
        #[arg(long, default_value = "target/synth")]
        work: PathBuf,
        /// Runs of each measurement; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Run only the pipeline on a directory once and print its stage times and the process's
    /// peak resident memory (what `bench` reads), for profilers.
    Pipeline { dir: PathBuf },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Synth {
            services,
            seed,
            out,
        } => {
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
        Task::Bench {
            services,
            seed,
            work,
            runs,
        } => bench::run(&services, seed, &work, runs)?,
        Task::Pipeline { dir } => {
            let counts = xtask::pipeline::run(&dir)?;
            println!("{counts:?}");
            // The whole process's peak, read by `bench` from a fresh run.
            println!("peak_rss_bytes {}", xtask::peak_rss());
        }
    }
    Ok(())
}
