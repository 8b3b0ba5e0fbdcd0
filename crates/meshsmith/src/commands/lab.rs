//! `meshsmith lab PATH...`: infer the graph, generate the mesh configuration (with the policy
//! file, as `generate` does), choose services (one path exercising every kind of policy, or
//! `--services`), translate their generated resources into a lab spec and prove it on real Envoy
//! sidecars; or replay the incident with `--incident SERVICE`, old settings read from the
//! manifests. `--call FROM:TO` makes FROM's app call TO although the graph has no such edge (a
//! call that lives in code); `--logs DIR` copies every sidecar's access log, one file per pod in
//! Istio's JSON or text format, for `map --traffic`. `--spec FILE` runs a hand-written spec
//! instead. Progress, one line per scenario, goes to standard error. Exit 0 when every
//! scenario passed, 1 when any failed, 2 when the lab could not run (bad input, bad spec,
//! Envoy missing).

use crate::commands::generate::{build, load_policy, ConfigArgs};
use crate::input::InputArgs;
use crate::render::lab as render;
use anyhow::{anyhow, Context};
use meshsmith_lab::from_mesh::{
    choose_path, for_istiod, old_settings, spec_from_mesh, Call, OldHop,
};
use meshsmith_lab::istiod::{Generated, IstiodOptions};
use meshsmith_lab::{LabOptions, LabSpec, LogFormat, Progress, ScenarioKind};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which control plane translates the generated configuration into Envoy's.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlPlaneArg {
    /// meshsmith's own translation, one static bootstrap per sidecar.
    Meshsmith,
    /// Istio's: istiod (`pilot-discovery`) in file mode on loopback, sidecars over xDS.
    Istiod,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabFormat {
    Text,
    Json,
}

/// The access-log encoding `--logs` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormatArg {
    /// Istio's default text format.
    Text,
    /// Istio's JSON encoding, with the peer identity and the dry-run result.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// Manifest files, folders (read recursively for .yaml, .yml, .json), or `-` for stdin.
    #[arg(
        value_name = "PATH",
        required_unless_present = "spec",
        conflicts_with = "spec"
    )]
    pub paths: Vec<String>,
    /// Namespace for objects that name none (as `kubectl apply -n` would).
    #[arg(long, short = 'n', default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Observed traffic, as `generate` takes it (Prometheus answers, Istio's Envoy access logs,
    /// Kiali's graph; files, folders, or `-`; repeatable): the lab runs what generate writes
    /// from it, e.g. a policy enforced from learned callers.
    #[arg(long, value_name = "PATH", conflicts_with = "spec")]
    pub traffic: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Services to bring up (`name` or `name.namespace`, comma-separated); default: a gateway ->
    /// aggregator -> external integration path with a webhook receiver also calling it, plus a
    /// callee of the aggregator whose generated route retries (gRPC preferred).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub services: Vec<String>,
    /// Advanced: run a hand-written lab spec (JSON) instead of the generated configuration.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Envoy binary (else MESHSMITH_ENVOY, else `envoy` on PATH).
    #[arg(long, value_name = "PATH")]
    pub envoy: Option<PathBuf>,
    /// Who translates the generated configuration for the sidecars: meshsmith, or istiod
    /// (the sidecars then run exactly what Istio's control plane computes).
    #[arg(long, value_enum, default_value = "meshsmith", conflicts_with_all = ["spec", "incident"])]
    pub control_plane: ControlPlaneArg,
    /// istiod binary, `pilot-discovery` (else MESHSMITH_ISTIOD, else on PATH); implies
    /// `--control-plane istiod`. `cargo xtask istio-tools pilot-discovery` builds the pinned one.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["spec", "incident"])]
    pub istiod: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LabFormat,
    /// Replay the incident: SERVICE slows down, old settings against the generated policy.
    #[arg(long, value_name = "SERVICE")]
    pub incident: Option<String>,
    /// Run only these scenarios (repeatable); all by default.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// A call FROM's app makes to TO although the graph has no such edge (repeatable; names as
    /// --services takes them); the `hidden-call` scenario reports what the mesh does with it.
    #[arg(long = "call", value_name = "FROM:TO", conflicts_with_all = ["spec", "incident"])]
    pub calls: Vec<String>,
    /// Copy every sidecar's access log into DIR when the lab ends, one `<pod>.log` per pod,
    /// as `kubectl logs POD -c istio-proxy` gives them.
    #[arg(long, value_name = "DIR", conflicts_with = "incident")]
    pub logs: Option<PathBuf>,
    /// Encoding of the logs `--logs` writes.
    #[arg(long, value_enum, default_value = "json", requires = "logs")]
    pub log_format: LogFormatArg,
}

/// What the lab runs: the spec, each hop's settings before the mesh (when built from
/// manifests), and the generated resources istiod is given.
struct Prepared {
    spec: LabSpec,
    old: Option<Vec<OldHop>>,
    generated: Option<Generated>,
}

fn spec(args: &LabArgs) -> anyhow::Result<Prepared> {
    if let Some(file) = &args.spec {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading lab spec {}", file.display()))?;
        let spec = serde_json::from_str(&text)
            .with_context(|| format!("lab spec {} is not valid", file.display()))?;
        return Ok(Prepared {
            spec,
            old: None,
            generated: None,
        });
    }
    let input = InputArgs {
        paths: args.paths.clone(),
        namespace: args.namespace.clone(),
        traffic: args.traffic.clone(),
        writes_to: None,
    };
    let built = build(&input, &args.config, false)?;
    let (policy, _) = load_policy(args.config.policy.as_deref())?;
    let services = if args.services.is_empty() {
        choose_path(&built.topology, &built.mesh)?
    } else {
        args.services.clone()
    };
    let calls = args
        .calls
        .iter()
        .map(|c| Call::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let spec = spec_from_mesh(
        &built.topology,
        &built.mesh,
        &services,
        &calls,
        &policy.trust_domain,
    )?;
    let old = old_settings(&built.topology, &spec);
    let generated = for_istiod(&built.topology, &built.mesh, &spec);
    Ok(Prepared {
        spec,
        old: Some(old),
        generated: Some(generated),
    })
}

pub fn run(args: &LabArgs) -> anyhow::Result<ExitCode> {
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        let kind = ScenarioKind::from_name(name).with_context(|| {
            let known: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown scenario `{name}`; known: {}", known.join(", "))
        })?;
        scenarios.push(kind);
    }
    let Prepared {
        spec,
        old,
        generated,
    } = spec(args)?;
    if args.incident.is_some() && old.is_none() {
        return Err(anyhow!(
            "--incident reads the old settings from the manifests: give PATH... instead of --spec"
        ));
    }
    let envoy = meshsmith_lab::locate_envoy(args.envoy.as_deref())?;
    // Progress goes to stderr, a line per scenario, piped or not: standard output carries
    // only the report, so `--format json` stays one JSON document.
    let total = ScenarioKind::ALL
        .iter()
        .filter(|k| scenarios.is_empty() || scenarios.contains(k))
        .count();
    let lines = render::ProgressLines::new(total);
    let progress = |p: &Progress| {
        if let Some(line) = lines.line(p) {
            eprintln!("{line}");
        }
    };
    if let Some(service) = &args.incident {
        let old = old.unwrap_or_default();
        let report = meshsmith_lab::incident_blocking(&spec, service, &old, &envoy, &progress)?;
        match args.format {
            LabFormat::Json => {
                crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?
            }
            LabFormat::Text => crate::output::print(&render::incident(&report))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let logs = args.logs.clone().map(|dir| {
        let format = match args.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
        (dir, format)
    });
    let istiod = if args.control_plane == ControlPlaneArg::Istiod || args.istiod.is_some() {
        let binary = meshsmith_lab::istiod::locate(args.istiod.as_deref())?;
        Some(IstiodOptions {
            binary,
            generated: generated.unwrap_or_default(),
        })
    } else {
        None
    };
    let options = LabOptions {
        envoy,
        scenarios,
        logs,
        istiod,
    };
    let report = meshsmith_lab::run_blocking(&spec, &options, &progress)?;
    match args.format {
        LabFormat::Json => {
            crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?
        }
        LabFormat::Text => {
            let colour = render::colour(std::io::stdout().is_terminal());
            crate::output::print(&format!(
                "{}{}",
                render::services(&spec),
                render::report(&report, colour)
            ))?;
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
