//! The `meshsmith` command line: parses arguments, runs one command, maps the outcome to an
//! exit code (0 clean, 1 findings at or above `--fail-on`, 2 unusable input or usage).
#![forbid(unsafe_code)]

mod commands;
mod input;
mod istioctl;
mod output;
mod render;

/// jemalloc: the pipeline makes millions of small allocations from two threads, and each
/// stage lets go of most of what the one before it built. jemalloc carves each size of block
/// from slabs of a few pages, so fewer pages stay resident for a few blocks still in use, and
/// the pages freed go back to the system at once (its decay times are zero, compiled in:
/// `JEMALLOC_SYS_WITH_MALLOC_CONF` in `.cargo/config.toml`). It does not ask for huge pages,
/// so a small run stays small.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Write Istio configuration per service, with the reason for every value.
    Generate(commands::generate::GenerateArgs),
    /// Write a commented policy file (meshsmith.yaml) with the defaults.
    Init(commands::init::InitArgs),
    /// Run the whole pipeline: map, generate and plan (written to DIR), check what was written, and a summary.
    Onboard(commands::onboard::OnboardArgs),
    /// Explain a check code (MS301), or why a service got its values (SERVICE PATH...).
    Explain(commands::explain::ExplainArgs),
    /// Prove the mesh policy on real Envoy sidecars on 127.0.0.1, or replay the incident.
    Lab(commands::lab::LabArgs),
    /// Plan a phased rollout: ROLLOUT.md, plan.json, one kustomize folder per step and one smoke-test script per phase.
    Plan(commands::plan::PlanArgs),
    /// Judge a phase's monitoring window from Prometheus answers: proceed, hold or roll back.
    Gate(commands::gate::GateArgs),
    /// Write the self-contained HTML report onboard writes (graph, timeouts, exceptions, dry-run, phases), alone.
    Report(commands::report::ReportArgs),
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
    // The whole command on the worker threads (see `meshsmith_core::pool`).
    let result = meshsmith_core::pool::run(|| match &cli.command {
        Command::Map(args) => commands::map::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Onboard(args) => commands::onboard::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Lab(args) => commands::lab::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Gate(args) => commands::gate::run(args),
    });
    report_peak_memory();
    match result {
        Ok(code) => code,
        Err(e) => {
            // Every input problem, one per line, each already naming file and line.
            let text = if let Some(f) = e.downcast_ref::<meshsmith_core::load::LoadFailure>() {
                f.to_string()
            } else if let Some(f) =
                e.downcast_ref::<meshsmith_core::load::traffic::TrafficFailure>()
            {
                f.to_string()
            } else if let Some(f) = e.downcast_ref::<meshsmith_core::policy::PolicyFailure>() {
                f.to_string()
            } else {
                format!("error: {e:#}\n")
            };
            // Errors quote the input (a name, a value): nothing in it may drive the terminal.
            eprint!("{}", render::terminal_safe(&text));
            ExitCode::from(2)
        }
    }
}

/// With `MESHSMITH_BENCH_RSS` set, the process's peak resident memory (VmHWM), in bytes, on
/// standard error as `peak_rss_bytes N`, for benchmarks that run the binary.
fn report_peak_memory() {
    if std::env::var_os("MESHSMITH_BENCH_RSS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
    {
        eprintln!("peak_rss_bytes {}", kb * 1024);
    }
}
