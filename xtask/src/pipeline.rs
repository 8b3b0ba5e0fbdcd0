//! Map + generate + check as `onboard` runs them, minus the plan, printing and writing:
//! load -> inventory -> infer -> generate -> the output files' contents and objects -> check
//! of the manifests together with the generated configuration, returning counts so no work
//! is optimised away.
//!
//! Each file's text is let go once parsed and each generated file once rendered (a command
//! would write it there), as `onboard` does. `MESHSMITH_BENCH_RSS=1` prints resident memory
//! after each stage; `MESHSMITH_BENCH_RULES=1` times every check rule on its own.

use meshsmith_core::check::{check, CheckConfig};
use meshsmith_core::generate::{generate, layout_into, GenerateOptions, Header};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::{collect_owned, merge};
use meshsmith_core::load::{load_each_without_text, Input, Limits};
use meshsmith_core::policy::Policy;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Seconds spent in each stage: load+inventory, infer, generate, layout, check.
    pub stage_seconds: [f64; 5],
    pub documents: usize,
    pub services: usize,
    pub edges: usize,
    pub resources: usize,
    pub output_bytes: usize,
    pub findings: usize,
}

/// The pipeline on a pool of its own, as the `meshsmith` binary runs every command.
pub fn run(dir: &Path) -> anyhow::Result<Counts> {
    meshsmith_core::pool::run(|| run_here(dir))
}

fn run_here(dir: &Path) -> anyhow::Result<Counts> {
    let clock = std::time::Instant::now();
    let mut stage_seconds = [0.0; 5];
    let mut lap = |i: usize| {
        stage_seconds[i] = clock.elapsed().as_secs_f64() - stage_seconds[..i].iter().sum::<f64>();
        if std::env::var_os("MESHSMITH_BENCH_RSS").is_some() {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            // The resident set and its two parts, the heap (and stacks) and the pages of the
            // program's code and libraries, then the peak so far.
            let fields: Vec<String> = status
                .lines()
                .filter(|l| {
                    ["VmRSS:", "RssAnon:", "RssFile:", "VmHWM:"]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            eprintln!("after stage {i}: {}", fields.join(", "));
        }
    };
    let input = [Input::Path(dir.to_path_buf())];
    let loaded = load_each_without_text(&input, &Limits::default(), |objects| {
        collect_owned(objects, "default")
    })?;
    let documents = loaded.documents;
    // No source snippet is printed here, so no file's text is kept past its parse.
    let mut inv = merge(loaded.parts);
    lap(0);
    let topology = infer(&inv);
    inv.release_inference_inputs();
    lap(1);
    let options = GenerateOptions {
        namespace_labels: inv.namespace_labels(),
        without_reasons: true,
        ..GenerateOptions::default()
    };
    let mesh = generate(&topology, &Policy::default(), &options);
    lap(2);
    let header = Header {
        version: "bench".into(),
        inputs: vec![dir.display().to_string()],
    };
    let out = Path::new("out");
    let resources = mesh.resources.len();
    // Each file would be written as it is rendered; here only its size is kept. Each file's
    // objects, the same values loading it back would give, are typed as soon as they are
    // built, as loading does; checking reads them.
    let output_bytes = AtomicUsize::new(0);
    let generated = layout_into(
        mesh,
        &header,
        out,
        &|_, text| {
            output_bytes.fetch_add(text.len(), Ordering::Relaxed);
        },
        // Every generated object is an Istio resource.
        &|objects| collect_owned(objects, "default").istio,
    );
    let output_bytes = output_bytes.into_inner();
    lap(3);
    let mut all = inv;
    all.istio.reserve(generated.iter().map(Vec::len).sum());
    all.istio.extend(generated.into_iter().flatten());
    let all = merge(vec![all]);
    let findings = check(&all, &topology, &CheckConfig::default());
    if std::env::var_os("MESHSMITH_BENCH_RULES").is_some() {
        rule_times(&all, &topology);
    }
    lap(4);
    Ok(Counts {
        stage_seconds,
        documents,
        services: topology.services.len(),
        edges: topology.edges.len(),
        resources,
        output_bytes,
        findings: findings.len(),
    })
}

/// Each check rule run alone, slowest first, on stderr: where check's time goes.
fn rule_times(
    inventory: &meshsmith_core::model::Inventory,
    topology: &meshsmith_core::model::Topology,
) {
    use meshsmith_core::check::{Context, Index, RULES};
    let config = CheckConfig::default();
    let ctx = Context {
        inventory,
        topology,
        config: &config,
        index: Index::new(inventory, topology),
    };
    let mut times: Vec<_> = RULES
        .iter()
        .map(|rule| {
            let started = std::time::Instant::now();
            let mut findings = Vec::new();
            (rule.run)(&ctx, &mut findings);
            (started.elapsed(), rule.meta.code, findings.len())
        })
        .collect();
    times.sort();
    for (took, code, findings) in times.iter().rev() {
        eprintln!(
            "{code} {:>8.1} ms {findings:>6} findings",
            took.as_secs_f64() * 1e3
        );
    }
}
