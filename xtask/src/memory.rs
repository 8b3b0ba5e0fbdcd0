//! `cargo xtask bench-memory`: peak resident memory against input size, from 1 MB to 250 MB,
//! for a folder of many files and for the same organisation as one file; what `onboard`
//! writes and holds beside the configuration it generates, first and again into its own
//! folder; and the time and peak of the commands that read that organisation as one file.
//!
//! Every figure is the whole-process peak (VmHWM) of a fresh process, so nothing an earlier
//! measurement left behind hides in it: `xtask pipeline` for map + generate + check, and the
//! release `meshsmith` binary (`MESHSMITH_BENCH_RSS=1` makes it print its peak) for `onboard`.
//! The program's own size (its code, the allocator's first pages) is measured on a one-object
//! input and printed beside, so what the input costs can be told from what the program costs.

use std::io::Write;
use std::path::Path;
use xtask::synth;

/// Bytes of every regular file under `dir` (a file: its own size).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(dir) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// The organisation's files joined into one multi-document file, as `kubectl get -o yaml`
/// dumps or a rendered chart would give it.
fn one_file(dir: &Path, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        return Ok(());
    }
    let partial = to.with_extension("partial");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    for p in xtask::applied::yaml_files(dir) {
        let text = std::fs::read(&p)?;
        out.write_all(b"---\n")?;
        out.write_all(&text)?;
        if !text.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, to)?;
    Ok(())
}

fn peak_from(text: &str) -> Option<u64> {
    figure(text, "peak_rss_bytes ")
}

fn figure(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|n| n.trim().parse().ok())
}

/// A fresh `xtask pipeline PATH`'s peak, and the resident pages of its code and libraries
/// at the end (they are never let go, so at least as many as at the peak).
struct Peak {
    whole: u64,
    code: u64,
}

/// The peak of a fresh `xtask pipeline PATH`.
fn pipeline_peak(path: &Path) -> anyhow::Result<Peak> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("pipeline")
        .arg(path)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "xtask pipeline {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    match (peak_from(&text), figure(&text, "code_rss_bytes ")) {
        (Some(whole), Some(code)) => Ok(Peak { whole, code }),
        _ => anyhow::bail!("xtask pipeline printed no peak"),
    }
}

struct Onboarded {
    seconds: f64,
    peak: u64,
    config: u64,
    /// The step and rollback folders (`phase-*`), which copy the objects each step applies.
    steps: u64,
    /// Each phase's `smoke.sh`.
    scripts: u64,
    total: u64,
}

/// `meshsmith ARGS...` in a fresh process: its wall-clock seconds and its peak.
fn command(meshsmith: &Path, args: &[&std::ffi::OsStr]) -> anyhow::Result<(f64, u64)> {
    let start = std::time::Instant::now();
    let run = std::process::Command::new(meshsmith)
        .args(args)
        .env("MESHSMITH_BENCH_RSS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()?;
    let seconds = start.elapsed().as_secs_f64();
    let shown = || {
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Exit 1 is findings at or above the bar, which a synthetic organisation's planted
    // mistakes give; anything else is a failure.
    anyhow::ensure!(
        matches!(run.status.code(), Some(0 | 1)),
        "meshsmith {} failed: {}",
        shown(),
        String::from_utf8_lossy(&run.stderr)
    );
    let peak = peak_from(&String::from_utf8_lossy(&run.stderr)).ok_or_else(|| {
        anyhow::anyhow!(
            "meshsmith {} printed no peak (is {} current?)",
            shown(),
            meshsmith.display()
        )
    })?;
    Ok((seconds, peak))
}

/// `meshsmith onboard DIR -o OUT` in a fresh process, into an empty folder.
fn onboard(meshsmith: &Path, input: &Path, out: &Path) -> anyhow::Result<Onboarded> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    let (seconds, peak) = command(
        meshsmith,
        &[
            "onboard".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ],
    )?;
    let total = bytes_under(out);
    let config = bytes_under(&out.join("config"));
    let (mut steps, mut scripts) = (0, 0);
    for entry in std::fs::read_dir(out)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("phase-") {
            let script = bytes_under(&entry.path().join("smoke.sh"));
            scripts += script;
            steps += bytes_under(&entry.path()) - script;
        }
    }
    Ok(Onboarded {
        seconds,
        peak,
        config,
        steps,
        scripts,
        total,
    })
}

pub fn run(
    sizes: &[usize],
    seed: u64,
    work: &Path,
    meshsmith: &Path,
    onboard_size: usize,
) -> anyhow::Result<()> {
    let tiny = work.join("one-object.yaml");
    std::fs::create_dir_all(work)?;
    std::fs::write(
        &tiny,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: one\n",
    )?;
    let floor = pipeline_peak(&tiny)?;
    // What the program holds before it reads anything: its code and libraries, and the heap
    // and stacks it starts with (the threads, the allocator's first pages).
    let floor_heap = floor.whole.saturating_sub(floor.code);
    println!(
        "program alone (one-object input): {:.1} MB, of which code and libraries {:.1} MB, heap and stacks {:.1} MB",
        floor.whole as f64 / 1e6,
        floor.code as f64 / 1e6,
        floor_heap as f64 / 1e6,
    );
    println!(
        "{:>8} {:>8} | {:>12} {:>7} {:>8} {:>9} {:>10} | {:>12} {:>7}",
        "services",
        "input MB",
        "folder peak",
        "xinput",
        "code MB",
        "heap xin",
        "input xin",
        "one file",
        "xinput"
    );
    for &n in sizes {
        let dir = work.join(format!("synth-{n}-{seed}"));
        if !dir.join("namespaces.yaml").exists() {
            synth::write(&synth::Org::new(n, seed), &dir)?;
        }
        let file = work.join(format!("synth-{n}-{seed}.yaml"));
        one_file(&dir, &file)?;
        let bytes = bytes_under(&dir) as f64;
        let folder = pipeline_peak(&dir)?;
        let single = pipeline_peak(&file)?.whole as f64;
        let (whole, code) = (folder.whole as f64, folder.code as f64);
        println!(
            "{:>8} {:>8.1} | {:>9.1} MB {:>7.2} {:>8.1} {:>9.2} {:>10.2} | {:>9.1} MB {:>7.2}",
            n,
            bytes / 1e6,
            whole / 1e6,
            whole / bytes,
            code / 1e6,
            (whole - code) / bytes,
            (whole - code - floor_heap as f64) / bytes,
            single / 1e6,
            single / bytes,
        );
    }
    println!(
        "xinput = whole-process peak / input bytes; code MB = resident pages of the program's code and\n\
         libraries; heap xin = (peak - code) / input; input xin = what the input adds to the heap and\n\
         stacks, (peak - code - the program's own heap and stacks) / input."
    );
    if onboard_size == 0 {
        return Ok(());
    }
    if !meshsmith.exists() {
        println!(
            "onboard not measured: {} is not there (cargo build --release -p meshsmith)",
            meshsmith.display()
        );
        return Ok(());
    }
    let dir = work.join(format!("synth-{onboard_size}-{seed}"));
    if !dir.join("namespaces.yaml").exists() {
        synth::write(&synth::Org::new(onboard_size, seed), &dir)?;
    }
    let o = onboard(
        meshsmith,
        &dir,
        &work.join(format!("onboard-{onboard_size}")),
    )?;
    println!();
    println!(
        "onboard, {onboard_size} services ({:.1} MB input): {:.1} s, peak {:.1} MB ({:.2}x the configuration)",
        bytes_under(&dir) as f64 / 1e6,
        o.seconds,
        o.peak as f64 / 1e6,
        o.peak as f64 / o.config as f64,
    );
    println!(
        "  written: configuration {:.1} MB; step folders {:.1} MB ({:.2}x the configuration, each file written as it is built); smoke scripts {:.1} MB; plan.json, ROLLOUT.md and report {:.1} MB; all {:.1} MB ({:.2}x the configuration)",
        o.config as f64 / 1e6,
        o.steps as f64 / 1e6,
        o.steps as f64 / o.config as f64,
        o.scripts as f64 / 1e6,
        (o.total - o.config - o.steps - o.scripts) as f64 / 1e6,
        o.total as f64 / 1e6,
        o.total as f64 / o.config as f64,
    );
    // Again into the folder it wrote, as a person regenerates after a change: every file is
    // compared with what is there.
    let out = work.join(format!("onboard-{onboard_size}"));
    let (seconds, peak) = command(
        meshsmith,
        &[
            "onboard".as_ref(),
            dir.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ],
    )?;
    println!(
        "  again into its own folder: {seconds:.1} s, peak {:.1} MB",
        peak as f64 / 1e6
    );
    commands(meshsmith, work, &dir, onboard_size, seed)
}

/// The commands that read the organisation as one file, as a cluster dump gives it: each
/// finding's line is found in that one large file, and the report plans and draws it all.
fn commands(
    meshsmith: &Path,
    work: &Path,
    dir: &Path,
    services: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let file = work.join(format!("synth-{services}-{seed}.yaml"));
    one_file(dir, &file)?;
    let input = bytes_under(&file) as f64;
    let report = work.join(format!("report-{services}.html"));
    let _ = std::fs::remove_file(&report);
    let f = file.as_os_str();
    let runs: [(&str, Vec<&std::ffi::OsStr>); 4] = [
        ("check", vec!["check".as_ref(), f]),
        (
            "check --format sarif",
            vec!["check".as_ref(), f, "--format".as_ref(), "sarif".as_ref()],
        ),
        (
            "map --format json",
            vec!["map".as_ref(), f, "--format".as_ref(), "json".as_ref()],
        ),
        (
            "report -o FILE",
            vec!["report".as_ref(), f, "-o".as_ref(), report.as_os_str()],
        ),
    ];
    println!();
    println!(
        "commands on the {services} services as one file ({:.1} MB):",
        input / 1e6
    );
    for (name, args) in runs {
        let (seconds, peak) = command(meshsmith, &args)?;
        println!(
            "  {name:<22} {seconds:>6.2} s  peak {:>7.1} MB  {:>5.2}x the input",
            peak as f64 / 1e6,
            peak as f64 / input
        );
    }
    Ok(())
}
