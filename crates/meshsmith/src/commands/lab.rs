//! `meshsmith lab`: bring up real Envoy sidecars for a lab spec and prove the policy, or replay
//! the incident with `--incident SERVICE`. Exit 0 when every scenario passed, 1 when any failed,
//! 2 when the lab could not run (bad spec, Envoy missing).

use crate::render::lab as render;
use anyhow::Context;
use meshsmith_lab::{LabOptions, LabSpec, Progress, ScenarioKind};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// Lab spec (JSON): the services on one path through the graph, their policy and edges.
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// Envoy binary (else MESHSMITH_ENVOY, else `envoy` on PATH).
    #[arg(long, value_name = "PATH")]
    pub envoy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LabFormat,
    /// Replay the incident: SERVICE slows down, old settings against the generated policy.
    #[arg(long, value_name = "SERVICE")]
    pub incident: Option<String>,
    /// Run only these scenarios (repeatable); all by default.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
}

pub fn run(args: &LabArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("reading lab spec {}", args.spec.display()))?;
    let spec: LabSpec = serde_json::from_str(&text)
        .with_context(|| format!("lab spec {} is not valid", args.spec.display()))?;
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        let kind = ScenarioKind::from_name(name).with_context(|| {
            let known: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown scenario `{name}`; known: {}", known.join(", "))
        })?;
        scenarios.push(kind);
    }
    let envoy = meshsmith_lab::locate_envoy(args.envoy.as_deref())?;
    // Progress goes to stderr, and only where a person watches it.
    let show = std::io::stderr().is_terminal();
    let colour = show && std::env::var_os("NO_COLOR").is_none();
    let progress = move |p: &Progress| {
        if show {
            eprintln!("{}", render::progress_line(p, colour));
        }
    };
    if let Some(service) = &args.incident {
        let report = meshsmith_lab::incident_blocking(&spec, service, &envoy, &progress)?;
        match args.format {
            LabFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            LabFormat::Text => print!("{}", render::incident(&report)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = LabOptions { envoy, scenarios };
    let report = meshsmith_lab::run_blocking(&spec, &options, &progress)?;
    match args.format {
        LabFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        LabFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print!("{}", render::report(&report, colour));
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
