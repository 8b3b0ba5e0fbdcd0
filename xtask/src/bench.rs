//! `cargo xtask bench`: for synthetic organisations of each size, measures side by side in
//! one process (a) a single-threaded parse of the same files with each YAML parser we know,
//! and (b) the meshsmith pipeline, and prints the ratio b / fastest a, peak memory and
//! documents per second. Every timing runs `--runs` times and the median is reported. The
//! process uses jemalloc, configured as the `meshsmith` binary's, so both sides allocate
//! through the same allocator. Peak memory is measured apart, as the whole-process peak of
//! fresh runs of the pipeline, so nothing a previous measurement left behind hides in it.
//! Then traffic ingestion (see [`traffic`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xtask::{pipeline, synth};

fn time<T>(f: &mut impl FnMut() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// The whole-process peak resident memory (VmHWM) of a fresh `xtask pipeline DIR`, in
/// bytes: what a command run on the folder holds at its highest, its own code and the
/// allocator's spare pages included, with nothing left over from earlier measurements.
fn fresh_peak(dir: &Path) -> anyhow::Result<u64> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("pipeline")
        .arg(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "xtask pipeline {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("xtask pipeline printed no peak"))
}

fn parse_yaml_serde(paths: &[PathBuf]) -> usize {
    use serde::Deserialize;
    let mut docs = 0;
    for p in paths {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        for de in yaml_serde::Deserializer::from_str(&text) {
            match yaml_serde::Value::deserialize(de) {
                Ok(_) => docs += 1,
                Err(_) => break,
            }
        }
    }
    docs
}

fn parse_saphyr_tree(paths: &[PathBuf]) -> usize {
    use saphyr::LoadableYamlNode;
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            saphyr::Yaml::load_from_str(&text)
                .map(|d| d.len())
                .unwrap_or(0)
        })
        .sum()
}

fn parse_saphyr_events(paths: &[PathBuf]) -> usize {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            saphyr_parser::Parser::new_from_str(&text)
                .filter(|e| matches!(e, Ok((saphyr_parser::Event::DocumentStart(_), _))))
                .count()
        })
        .sum()
}

/// Runs `f` `runs` times and keeps the run with the median time (and its output), so one
/// slow page-fault storm or scheduler hiccup does not decide a comparison.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut all: Vec<(T, Duration)> = (0..runs.max(1)).map(|_| time(&mut f)).collect();
    all.sort_by_key(|(_, t)| *t);
    all.swap_remove(all.len() / 2)
}

pub fn run(sizes: &[usize], seed: u64, work: &Path, runs: usize) -> anyhow::Result<()> {
    let mut stage_lines: Vec<String> = Vec::new();
    println!(
        "{:>8} {:>8} {:>8} | {:>10} {:>10} {:>10} | {:>10} {:>6} | {:>9} {:>7} | {:>10}",
        "services",
        "MB",
        "docs",
        "yaml_serde",
        "saphyr",
        "events",
        "pipeline",
        "ratio",
        "peak MB",
        "xinput",
        "docs/s"
    );
    for &n in sizes {
        let dir = work.join(format!("synth-{n}-{seed}"));
        if !dir.join("namespaces.yaml").exists() {
            synth::write(&synth::Org::new(n, seed), &dir)?;
        }
        let paths = xtask::applied::yaml_files(&dir);
        let bytes: u64 = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        // Warm the page cache so both sides read from memory.
        let _ = parse_saphyr_events(&paths);
        let (d1, t_serde) = median(runs, || parse_yaml_serde(&paths));
        let (d2, t_tree) = median(runs, || parse_saphyr_tree(&paths));
        let (_, t_events) = median(runs, || parse_saphyr_events(&paths));
        let (counts, t_pipe) = median(runs, || pipeline::run(&dir));
        let counts = counts?;
        let mut peak = 0;
        for _ in 0..runs.max(1) {
            peak = peak.max(fresh_peak(&dir)?);
        }
        let [a, b, c, d, e] = counts.stage_seconds;
        stage_lines.push(format!(
            "{n:>6}: {a:.3} / {b:.3} / {c:.3} / {d:.3} / {e:.3}   ({} resources, {:.1} MB out, {} findings)",
            counts.resources,
            counts.output_bytes as f64 / 1e6,
            counts.findings
        ));
        anyhow::ensure!(
            d1 == counts.documents && d2 == counts.documents,
            "parsers disagree on document count: {d1} {d2} {}",
            counts.documents
        );
        let baseline = t_serde.min(t_tree);
        println!(
            "{:>8} {:>8.1} {:>8} | {:>9.3}s {:>9.3}s {:>9.3}s | {:>9.3}s {:>6.2} | {:>9.1} {:>7.2} | {:>10.0}",
            n,
            bytes as f64 / 1e6,
            counts.documents,
            t_serde.as_secs_f64(),
            t_tree.as_secs_f64(),
            t_events.as_secs_f64(),
            t_pipe.as_secs_f64(),
            t_pipe.as_secs_f64() / baseline.as_secs_f64(),
            peak as f64 / 1e6,
            peak as f64 / bytes as f64,
            counts.documents as f64 / t_pipe.as_secs_f64(),
        );
    }
    println!("stages (s): load+inventory / infer / generate / layout / check");
    for line in &stage_lines {
        println!("  {line}");
    }
    println!(
        "ratio = pipeline / fastest single-threaded tree-building parse (yaml_serde or saphyr);"
    );
    println!(
        "times are the median of {runs} runs each; peak MB is the highest whole-process peak (VmHWM)"
    );
    println!("of {runs} fresh `xtask pipeline` processes, the program itself included.");
    println!("events = saphyr-parser's event stream alone, no tree (the floor under any parse).");
    Ok(())
}

/// Traffic ingestion: `meshsmith_core::load::traffic::read` against a plain line read
/// (`BufRead::read_line`) of the same file, for an access log of 1 GB (a `kubectl logs
/// --prefix` stream) and the Prometheus answer for a 10,000-service organisation; and the
/// peak resident memory of a fresh process reading logs of 100 MB and 1 GB, which must not
/// grow with the log. Inputs are written under `work` once and reused.
pub fn traffic(work: &Path, seed: u64, runs: usize) -> anyhow::Result<()> {
    use xtask::traffic::bench_inputs;
    let dir = work.join("traffic");
    std::fs::create_dir_all(&dir)?;
    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    for mb in [100u64, 1000] {
        let path = dir.join(format!("access-{mb}MB-{seed}.log"));
        if !path.exists() {
            bench_inputs::access_log(&path, mb * 1_000_000, seed)?;
        }
        inputs.push((format!("access log {mb} MB"), path));
    }
    let org = work.join(format!("synth-10000-{seed}"));
    if !org.join("namespaces.yaml").exists() {
        synth::write(&synth::Org::new(10_000, seed), &org)?;
    }
    let answer = dir.join(format!("prometheus-10000-{seed}.json"));
    if !answer.exists() {
        bench_inputs::prometheus_answer(&org, &answer, seed)?;
    }
    inputs.push(("prometheus, 10,000 services".into(), answer));
    println!(
        "{:<28} {:>8} {:>10} | {:>9} {:>9} {:>6} | {:>8} {:>8} | {:>8} {:>7}",
        "traffic input",
        "MB",
        "lines",
        "read_line",
        "traffic",
        "ratio",
        "MB/s",
        "line MB/s",
        "peak MB",
        "calls"
    );
    for (name, path) in &inputs {
        let bytes = std::fs::metadata(path)?.len();
        let _ = read_lines(path);
        let (lines, t_lines) = median(runs, || read_lines(path));
        let input = [meshsmith_core::load::Input::Path(path.clone())];
        let limits = meshsmith_core::load::Limits::default();
        let (traffic, t_read) = median(runs, || {
            meshsmith_core::load::traffic::read(&input, &limits)
        });
        let traffic = traffic?;
        let peak = fresh_traffic_peak(path)?;
        let mb = bytes as f64 / 1e6;
        println!(
            "{:<28} {:>8.1} {:>10} | {:>8.3}s {:>8.3}s {:>6.2} | {:>8.0} {:>8.0} | {:>8.1} {:>7}",
            name,
            mb,
            lines?,
            t_lines.as_secs_f64(),
            t_read.as_secs_f64(),
            t_read.as_secs_f64() / t_lines.as_secs_f64(),
            mb / t_read.as_secs_f64(),
            mb / t_lines.as_secs_f64(),
            peak as f64 / 1e6,
            traffic.observations.len(),
        );
    }
    println!(
        "ratio = traffic read / plain BufRead::read_line over the same file (page cache warm);"
    );
    println!(
        "times are the median of {runs} runs; peak MB is the whole-process peak (VmHWM) of a fresh"
    );
    println!(
        "`xtask read-traffic FILE`, the program itself included; calls = distinct observations."
    );
    Ok(())
}

/// Lines of `path`, read as `BufRead::read_line` reads them (UTF-8 checked, no parsing).
fn read_lines(path: &Path) -> anyhow::Result<u64> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?);
    let mut line = String::new();
    let mut n = 0;
    while reader.read_line(&mut line)? > 0 {
        n += 1;
        line.clear();
    }
    Ok(n)
}

fn fresh_traffic_peak(path: &Path) -> anyhow::Result<u64> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("read-traffic")
        .arg(path)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "xtask read-traffic {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("xtask read-traffic printed no peak"))
}
