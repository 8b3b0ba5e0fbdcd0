//! Project tasks: `cargo xtask synth` writes a synthetic organisation's manifests;
//! `cargo xtask traffic` writes a corpus's traffic fixtures; `cargo xtask bench` measures the
//! pipeline against a parse-only baseline, and traffic ingestion against a plain line read;
//! `cargo xtask istio-tools istioctl` builds an Istio tool from the pin in istio-tools.toml;
//! `cargo xtask conformance` measures `check` against Istio's analyzers.
#![forbid(unsafe_code)]

mod bench;
mod bench_report;
mod memory;

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
    /// Write traffic fixtures for one corpus from its ground truth, in each format
    /// `--traffic` reads, with realistic noise.
    Traffic {
        /// A corpus folder with `expected-graph.json` and its manifests.
        #[arg(long)]
        corpus: PathBuf,
        /// One of prometheus-json-instant, prometheus-json-range, prometheus-text,
        /// access-log-text, access-log-prefix, access-log-json, kiali-graph; or `all`.
        #[arg(long, default_value = "all")]
        format: String,
        #[arg(short = 'o', long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure traffic ingestion only (what `bench` prints last).
    BenchTraffic {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "target/synth")]
        work: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Peak resident memory against input size (a folder of files and the same as one
    /// file), and what `onboard` writes and holds beside the configuration.
    BenchMemory {
        /// Organisation sizes, comma-separated (200 services is about 1 MB, 50,000 about 250 MB).
        #[arg(long, value_delimiter = ',', default_value = "200,2000,10000,50000")]
        services: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "target/synth")]
        work: PathBuf,
        /// The release binary `onboard` is measured with.
        #[arg(long, default_value = "target/release/meshsmith")]
        meshsmith: PathBuf,
        /// Services of the organisation `onboard` runs on (0: not measured).
        #[arg(long, default_value_t = 10_000)]
        onboard: usize,
    },
    /// The HTML report of a synthetic organisation as `onboard` writes it: its size, and how
    /// long headless Chromium takes to load and paint it (budget: 2 MB, one second).
    BenchReport {
        #[arg(long, default_value_t = 300)]
        services: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "target/synth")]
        work: PathBuf,
        /// The meshsmith binary that writes the report.
        #[arg(long, default_value = "target/release/meshsmith")]
        meshsmith: PathBuf,
        /// Page loads measured; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Read traffic files once and print what was read and the process's peak resident
    /// memory (what `bench` reads).
    ReadTraffic { path: PathBuf },
    /// Run only the pipeline on a directory once and print its stage times and the process's
    /// peak resident memory (what `bench` reads), for profilers.
    Pipeline { dir: PathBuf },
    /// Build Istio tools from the version pinned in istio-tools.toml (istioctl,
    /// istio-cluster-analyze, pilot-discovery) into target/istio-tools/<version>/, reusing
    /// what is there; print each one's path.
    IstioTools {
        #[arg(required = true, value_name = "TOOL")]
        tools: Vec<String>,
    },
    /// Compare `meshsmith check` with Istio's analyzers, per IST code meshsmith claims, on
    /// Istio's analyzer test inputs and the corpora; print the table. Exit 1 when a code
    /// misses the goal (recall >= 0.9 on Istio's inputs, nothing Istio does not give).
    Conformance {
        /// Also write the table into this file between its conformance markers.
        #[arg(long, value_name = "FILE")]
        readme: Option<PathBuf>,
    },
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
        } => {
            bench::run(&services, seed, &work, runs)?;
            println!();
            bench::traffic(&work, seed, runs)?;
        }
        Task::Traffic {
            corpus,
            format,
            out,
            seed,
        } => {
            let formats = xtask::traffic::Format::parse_list(&format)?;
            let w = xtask::traffic::run(&corpus, &formats, &out, seed)?;
            println!(
                "wrote {} calls as {} files, {:.1} KB, to {}",
                w.calls,
                w.files,
                w.bytes as f64 / 1e3,
                out.display()
            );
        }
        Task::BenchTraffic { seed, work, runs } => bench::traffic(&work, seed, runs)?,
        Task::BenchMemory {
            services,
            seed,
            work,
            meshsmith,
            onboard,
        } => memory::run(&services, seed, &work, &meshsmith, onboard)?,
        Task::BenchReport {
            services,
            seed,
            work,
            meshsmith,
            runs,
        } => bench_report::run(services, seed, &work, &meshsmith, runs)?,
        Task::ReadTraffic { path } => {
            let input = [meshsmith_core::load::Input::Path(path)];
            let limits = meshsmith_core::load::Limits::default();
            let traffic = meshsmith_core::load::traffic::read(&input, &limits)?;
            let bytes: u64 = traffic.sources.iter().map(|s| s.bytes).sum();
            println!("observations {} bytes {bytes}", traffic.observations.len());
            println!("peak_rss_bytes {}", xtask::peak_rss());
        }
        Task::IstioTools { tools } => {
            let pin = xtask::istio_tools::pin()?;
            for name in &tools {
                let tool = xtask::istio_tools::tool(name)?;
                let clock = std::time::Instant::now();
                let path = xtask::istio_tools::build(tool, &pin)?;
                eprintln!(
                    "{name} {} ready in {:.1}s",
                    pin.build_version(),
                    clock.elapsed().as_secs_f64()
                );
                println!("{}", path.display());
            }
        }
        Task::Conformance { readme } => {
            if !xtask::conformance::task(readme.as_deref())? {
                std::process::exit(1);
            }
        }
        Task::Pipeline { dir } => {
            let counts = xtask::pipeline::run(&dir)?;
            println!("{counts:?}");
            // The whole process's peak, read by `bench` from a fresh run, and how much of it
            // the program's code and libraries take.
            println!("peak_rss_bytes {}", xtask::peak_rss());
            println!("code_rss_bytes {}", xtask::code_rss());
        }
    }
    Ok(())
}
