//! `meshsmith gate PLAN.json --phase N --baseline PATH... --window PATH...`: a phase's
//! monitoring window judged against the time before it, from Prometheus answers.
//! Exit 0 proceed, 1 hold or roll back, 2 unusable input (the plan, the policy file, the
//! answers) or metrics the gate cannot judge without.

use crate::commands::generate::load_policy;
use crate::render::{gate_json, gate_text};
use anyhow::{anyhow, Context};
use meshsmith_core::gate::{gate, GateInput};
use meshsmith_core::load::traffic::read_metrics;
use meshsmith_core::load::{Input, Limits};
use meshsmith_core::model::{MetricSet, Verdict};
use meshsmith_core::plan::layout::read_plan;
use meshsmith_core::policy::Millis;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// The plan.json `meshsmith plan` wrote.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The phase whose window is judged.
    #[arg(long, value_name = "N")]
    pub phase: u32,
    /// Prometheus answers for the window before the phase (files or folders; repeatable).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub baseline: Vec<String>,
    /// Prometheus answers for the window after the phase (files or folders; repeatable).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub window: Vec<String>,
    /// Policy file with `rollout.gate:` thresholds (default: ./meshsmith.yaml if present).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(args: &GateArgs) -> anyhow::Result<ExitCode> {
    let name = args.plan.display().to_string();
    let text = std::fs::read_to_string(&args.plan).with_context(|| format!("reading {name}"))?;
    let plan = read_plan(&text).map_err(|e| anyhow!("{name}:{}: {}", e.line, e.message))?;
    let phase = plan
        .phases
        .iter()
        .find(|p| p.number == args.phase)
        .ok_or_else(|| {
            anyhow!(
                "{name}: no phase {}; the plan has phases 1 to {}",
                args.phase,
                plan.phases.len()
            )
        })?;
    let window_secs = Millis::parse(&plan.window)
        .map_err(|m| anyhow!("{name}: window `{}`: {m}", plan.window))?
        .0 as f64
        / 1000.0;
    let (policy, _) = load_policy(args.policy.as_deref())?;
    if args
        .baseline
        .iter()
        .chain(&args.window)
        .filter(|p| *p == "-")
        .count()
        > 1
    {
        anyhow::bail!("standard input can carry the baseline or the window, not both");
    }
    let baseline = metrics(&args.baseline)?;
    let window = metrics(&args.window)?;
    let input = GateInput {
        phase,
        window: &plan.window,
        window_secs,
        baseline: &baseline,
        metrics: &window,
        thresholds: &policy.rollout.gate,
    };
    let report = gate(&input).map_err(|e| anyhow!("metrics missing:\n{e}"))?;
    let out = match args.format {
        Format::Text => gate_text::render(&report),
        Format::Json => gate_json::render(&report),
    };
    print!("{out}");
    Ok(match report.verdict {
        Verdict::Proceed => ExitCode::SUCCESS,
        Verdict::Hold | Verdict::RollBack => ExitCode::from(1),
    })
}

fn metrics(paths: &[String]) -> anyhow::Result<MetricSet> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::parse(p)).collect();
    Ok(read_metrics(&inputs, &Limits::default())?)
}
