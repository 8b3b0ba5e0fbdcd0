//! `cargo xtask traffic`: traffic fixtures for one corpus, written from its ground truth
//! (`expected-graph.json`) and its manifests, in every format `--traffic` reads, with the
//! noise a real cluster adds. Deterministic per seed.
//!
//! ```text
//!  corpus ──scene──▶ workloads, pods, calls, noise ──┬─ prometheus: instant, range, text
//!                                                    ├─ logs: text per pod, --prefix, JSON
//!                                                    └─ kiali: workload graph
//! ```

pub mod bench_inputs;
mod kiali;
mod logs;
mod noise;
mod prometheus;
pub mod rng;
pub mod scene;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::Path;

/// A fixture format, as `--format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    PrometheusJsonInstant,
    PrometheusJsonRange,
    PrometheusText,
    AccessLogText,
    AccessLogPrefix,
    AccessLogJson,
    KialiGraph,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::PrometheusJsonInstant,
        Format::PrometheusJsonRange,
        Format::PrometheusText,
        Format::AccessLogText,
        Format::AccessLogPrefix,
        Format::AccessLogJson,
        Format::KialiGraph,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::PrometheusJsonInstant => "prometheus-json-instant",
            Format::PrometheusJsonRange => "prometheus-json-range",
            Format::PrometheusText => "prometheus-text",
            Format::AccessLogText => "access-log-text",
            Format::AccessLogPrefix => "access-log-prefix",
            Format::AccessLogJson => "access-log-json",
            Format::KialiGraph => "kiali-graph",
        }
    }

    /// `all` or one format's name.
    pub fn parse_list(arg: &str) -> anyhow::Result<Vec<Format>> {
        if arg == "all" {
            return Ok(Format::ALL.to_vec());
        }
        Format::ALL
            .into_iter()
            .find(|f| f.name() == arg)
            .map(|f| vec![f])
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                anyhow::anyhow!("unknown format `{arg}`; one of: all, {}", names.join(", "))
            })
    }
}

/// What was written.
pub struct Written {
    pub files: usize,
    pub bytes: u64,
    pub calls: usize,
}

/// Writes the fixtures. One format goes straight into `out` (with a hidden `.README.md`, so
/// that `--traffic OUT` reads only traffic); several go into `out/<format>/`, with the
/// README at `out/README.md`.
pub fn run(corpus: &Path, formats: &[Format], out: &Path, seed: u64) -> anyhow::Result<Written> {
    let scene = scene::build(corpus, seed)?;
    let mut written = Written {
        files: 0,
        bytes: 0,
        calls: scene.calls.len(),
    };
    let nested = formats.len() > 1;
    for &format in formats {
        let dir = if nested {
            out.join(format.name())
        } else {
            out.to_path_buf()
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        for (name, text) in render(&scene, format, seed) {
            std::fs::write(dir.join(&name), &text)?;
            written.files += 1;
            written.bytes += text.len() as u64;
        }
    }
    let readme = if nested {
        out.join("README.md")
    } else {
        out.join(".README.md")
    };
    std::fs::write(readme, readme_text(&scene, formats, seed))?;
    Ok(written)
}

/// The files of one format: (file name, content).
fn render(scene: &scene::Scene, format: Format, seed: u64) -> Vec<(String, String)> {
    let one = |name: &str, text: String| vec![(name.to_string(), text)];
    match format {
        Format::PrometheusJsonInstant => one(
            "answer.json",
            prometheus::instant_json(&prometheus::series(scene)),
        ),
        Format::PrometheusJsonRange => one(
            "answer.json",
            prometheus::range_json(&prometheus::series(scene), seed),
        ),
        Format::PrometheusText => one(
            "federate.txt",
            prometheus::exposition(scene, &prometheus::series(scene)),
        ),
        Format::AccessLogText | Format::AccessLogJson => {
            let entries = logs::entries(scene, seed);
            let json = format == Format::AccessLogJson;
            logs::per_pod(scene, &entries, json)
                .into_iter()
                .map(|(pod, text)| (format!("{pod}.log"), text))
                .collect()
        }
        Format::AccessLogPrefix => one(
            "kubectl-logs.log",
            logs::prefixed(scene, &logs::entries(scene, seed)),
        ),
        Format::KialiGraph => one("graph.json", kiali::graph(scene)),
    }
}

fn readme_text(scene: &scene::Scene, formats: &[Format], seed: u64) -> String {
    let mut out = format!(
        "# Traffic fixtures: {}\n\nWritten by `cargo xtask traffic --corpus ... --seed {seed}` from the corpus's \
         `expected-graph.json` and manifests: {} calls from {} workloads to {} Services.\n\n",
        scene.corpus,
        scene.calls.len(),
        scene.workloads.len(),
        scene.services.len(),
    );
    for f in formats {
        let _ = writeln!(out, "- `{}`", f.name());
    }
    out.push_str("\nThe Prometheus instant answer is the answer to:\n\n```\n");
    out.push_str(prometheus::QUERY);
    out.push_str("\n```\n\n");
    for note in &scene.notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}
