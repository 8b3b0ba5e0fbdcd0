//! `meshsmith check`: every rule over the manifests and the Istio configuration in them;
//! findings as text, JSON or SARIF. Exit 1 when a finding is at or above `--fail-on`,
//! 2 when the input (or `--crds`) cannot be used, in which case the load problems are still
//! reported as findings in the chosen format. With `--plan FILE`, the plan is verified
//! against the graph inferred from the same manifests and what it breaks is reported as
//! MS4xx findings at lines of the plan file. With `--istioctl`, `istioctl analyze` runs
//! offline on the same inputs and its messages join the report under their IST codes.

use crate::commands::plan::read_plan_file;
use crate::input::{read, InputArgs};
use crate::render::{check_json, check_text, sarif};
use anyhow::bail;
use meshsmith_core::check::istioctl::{merge, IstioctlSummary};
use meshsmith_core::check::{
    check, load_error_findings, plan_violations_with_origins, rule, CheckConfig, Level,
};
use meshsmith_core::infer::Extra;
use meshsmith_core::load::{load, Input, Limits, LoadFailure};
use meshsmith_core::model::{Finding, Severity, SourceId, Sources};
use meshsmith_core::policy::Policy;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Html,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    pub fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Folder of CustomResourceDefinitions (e.g. `kubectl get crd -o yaml`) to validate
    /// Istio resources against.
    #[arg(long, value_name = "DIR")]
    pub crds: Option<PathBuf>,
    /// Do not report this code (repeatable), e.g. `--ignore MS106`.
    #[arg(long, value_name = "CODE")]
    pub ignore: Vec<String>,
    /// Report a code at another severity (repeatable), e.g. `--severity MS102=error`.
    #[arg(long, value_name = "CODE=LEVEL")]
    pub severity: Vec<String>,
    /// Policy file whose `checks:` section sets per-code levels; default `meshsmith.yaml` in
    /// the current folder if there is one. `--ignore` and `--severity` override it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Most requests one client request may become at any service through retries.
    #[arg(long, default_value_t = meshsmith_core::model::RETRY_AMPLIFICATION_LIMIT, value_name = "N")]
    pub retry_limit: u32,
    /// A rollout plan (`meshsmith plan -o DIR` writes DIR/plan.json, perhaps edited since)
    /// to verify against the manifests: what it breaks is reported as MS4xx findings.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Also run `istioctl analyze --use-kube=false` on the same inputs and merge its messages
    /// (IST codes) into the report, leaving out those meshsmith reports already. `istioctl`
    /// from PATH, or `--istioctl=PATH`.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "istioctl"
    )]
    pub istioctl: Option<PathBuf>,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    // Asked for and missing is a usage problem, found before any work.
    let istioctl = args
        .istioctl
        .as_deref()
        .map(crate::istioctl::find)
        .transpose()?;
    if istioctl.is_none() && crate::istioctl::on_path() {
        eprintln!("note: istioctl is on PATH; `--istioctl` adds its analysis to this report");
    }
    let (policy, policy_file) = crate::commands::generate::load_policy(args.policy.as_deref())?;
    let mut config = config(args, &policy, policy_file.as_deref())?;
    let plan = args.plan.as_deref().map(read_plan_file).transpose()?;
    // Files are let go once parsed; the text report reads again only those it shows lines of.
    let (findings, mut sources, usable) = match read(&args.input) {
        Ok(mut read) => {
            // Findings report the input's other warnings (MS101 for a key written twice).
            crate::input::print_warnings(&read.inventory, crate::input::Warnings::Skipped);
            let declared = policy.declared_callers();
            let extra = Extra {
                traffic: read.traffic.as_ref(),
                declared: &declared,
            };
            let topology = meshsmith_core::infer::infer_with(&read.inventory, &extra);
            if let (Some(file), Some((text, plan))) = (&args.plan, plan) {
                let name = file.display().to_string();
                let violations = meshsmith_core::plan::verify(&plan, &topology);
                config.plan_violations = plan_violations_with_origins(&name, &text, violations);
                read.sources.add(&name, std::sync::Arc::from(text.as_str()));
            }
            let findings = check(&read.inventory, &topology, &config);
            (findings, read.sources, true)
        }
        Err(e) => {
            // Unusable manifests are reported as findings; unusable traffic is an error.
            let failure = e.downcast::<LoadFailure>()?;
            let findings = load_error_findings(&failure.errors, &config);
            (findings, Sources::default(), false)
        }
    };
    let (findings, summary) = match (&istioctl, usable) {
        (Some((program, version)), true) => {
            let (findings, summary) = with_istioctl(args, findings, &sources, program, version)?;
            (findings, Some(summary))
        }
        _ => (findings, None),
    };
    if args.format == Format::Text {
        read_again_for_lines(&findings, &mut sources);
    }
    write(
        args.format,
        &findings,
        &sources,
        &args.input,
        summary.as_ref(),
    )?;
    Ok(exit_code(&findings, args.fail_on, usable))
}

/// `findings` with istioctl's messages on the same inputs merged in.
fn with_istioctl(
    args: &CheckArgs,
    findings: Vec<Finding>,
    sources: &Sources,
    program: &std::path::Path,
    version: &str,
) -> anyhow::Result<(Vec<Finding>, IstioctlSummary)> {
    let stdin = (0..sources.len() as SourceId)
        .find(|id| sources.name(*id) == "<stdin>")
        .map(|id| sources.text(id));
    let messages =
        crate::istioctl::analyze(program, &args.input.paths, stdin, &args.input.namespace)?;
    Ok(merge(findings, &messages, version, |file| {
        if file == "-" {
            "<stdin>".to_string()
        } else {
            file.to_string()
        }
    }))
}

/// Largest file re-read to show the line a load problem points at.
const SNIPPET_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// The files findings point at whose text is not held (it was let go once parsed, or the
/// file failed to load), read again so the text report can show the lines. A file that
/// cannot be read now, or is large, is simply shown without its lines.
fn read_again_for_lines(findings: &[Finding], sources: &mut Sources) {
    let held: HashSet<&str> = (0..sources.len() as SourceId)
        .filter(|id| !sources.text(*id).is_empty())
        .map(|id| sources.name(id))
        .collect();
    let mut files: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.origin.as_ref().map(|o| &*o.file))
        .filter(|file| !held.contains(file))
        .collect();
    drop(held);
    files.sort_unstable();
    files.dedup();
    for file in files {
        let small = std::fs::metadata(file).is_ok_and(|m| m.len() <= SNIPPET_FILE_LIMIT);
        if let (true, Ok(bytes)) = (small, std::fs::read(file)) {
            let text = String::from_utf8_lossy(&bytes);
            sources.add(file, std::sync::Arc::from(text.as_ref()));
        }
    }
}

/// 2 for unusable input, 1 for findings at or above `fail_on`, else 0.
pub fn exit_code(findings: &[Finding], fail_on: FailOn, usable: bool) -> ExitCode {
    if !usable {
        ExitCode::from(2)
    } else if findings.iter().any(|f| f.severity >= fail_on.severity()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn config(args: &CheckArgs, policy: &Policy, file: Option<&str>) -> anyhow::Result<CheckConfig> {
    let mut config = policy_config(policy, file)?;
    config.retry_amplification_limit = args.retry_limit;
    let known = |code: &str| match rule(code) {
        Some(r) => Ok(r.meta.code.to_string()),
        None => bail!("{}", unknown_code(code)),
    };
    for code in &args.ignore {
        config.levels.insert(known(code)?, Level::Off);
    }
    for setting in &args.severity {
        let Some((code, level)) = setting.split_once('=') else {
            bail!("`--severity {setting}`: expected CODE=LEVEL, e.g. MS102=error");
        };
        let Some(level) = Level::parse(level) else {
            bail!("`--severity {setting}`: level must be off, info, warning or error");
        };
        config.levels.insert(known(code)?, level);
    }
    if let Some(dir) = &args.crds {
        let loaded = load(&[Input::Path(dir.clone())], &Limits::default())?;
        config.crds = loaded
            .objects
            .into_iter()
            .filter(|o| o.kind == "CustomResourceDefinition")
            .collect();
        if config.crds.is_empty() {
            bail!("{}: no CustomResourceDefinition found", dir.display());
        }
    }
    Ok(config)
}

fn write(
    format: Format,
    findings: &[Finding],
    sources: &Sources,
    input: &InputArgs,
    istioctl: Option<&IstioctlSummary>,
) -> anyhow::Result<()> {
    let text = match format {
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut text = check_text::render(findings, sources, color);
            if let Some(istioctl) = istioctl {
                text.push_str(&check_text::istioctl_line(istioctl));
            }
            text
        }
        Format::Json => check_json::render(findings, istioctl),
        Format::Sarif => sarif::render(&sarif::Log {
            findings,
            version: env!("CARGO_PKG_VERSION"),
            istioctl,
        }),
        Format::Html => crate::commands::report::check_page(findings, input),
    };
    crate::output::print(&text)
}

/// The levels the policy file's `checks:` section sets, on top of the defaults.
pub fn policy_config(policy: &Policy, file: Option<&str>) -> anyhow::Result<CheckConfig> {
    let mut config = CheckConfig {
        egress_allow: policy.egress_allow.clone(),
        ..CheckConfig::default()
    };
    for (code, level) in &policy.checks {
        let Some(r) = rule(code) else {
            let line = policy
                .lines
                .get(&format!("checks.{code}"))
                .copied()
                .unwrap_or(0);
            bail!(
                "{}:{line}: `{code}` is not a check code; `meshsmith explain` lists them",
                file.unwrap_or("meshsmith.yaml")
            );
        };
        // The policy parser only lets the four level names through.
        if let Some(level) = Level::parse(level) {
            config.levels.insert(r.meta.code.to_string(), level);
        }
    }
    Ok(config)
}

/// Why `code` is not a check code, with the code it most likely meant: a letter O typed for
/// a zero is read as the zero.
fn unknown_code(code: &str) -> String {
    let digits: String = code
        .to_ascii_uppercase()
        .chars()
        .skip(2)
        .map(|c| if c == 'O' { '0' } else { c })
        .collect();
    let likely = meshsmith_core::check::RULES
        .iter()
        .map(|r| r.meta.code)
        .find(|c| c.get(2..) == Some(digits.as_str()));
    match likely {
        Some(c) => format!(
            "unknown check code `{code}`; did you mean {c}? (`meshsmith explain` lists every code)"
        ),
        None => format!("unknown check code `{code}`; `meshsmith explain` lists every code"),
    }
}
