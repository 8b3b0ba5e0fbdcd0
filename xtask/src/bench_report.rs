//! `cargo xtask bench-report`: the HTML report of a synthetic organisation (300 services by
//! default), as `onboard` writes it: its size, and how long headless Chromium takes to
//! load, run and paint it, and to expand every namespace. The budget is 2 MB and one
//! second to paint; the figures are printed, and a report over budget fails the command.
//! A measurement, never a timed test.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use xtask::chromium::{self, Chromium};
use xtask::synth;

const SIZE_BUDGET: u64 = 2_000_000;
const PAINT_BUDGET_MS: f64 = 1000.0;

/// Time from navigation to the second animation frame after the load event: the first
/// frame drawn with the page's script done.
const PAINTED: &str =
    "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))";

/// DOMContentLoaded end, load end, and when the page's script said it was ready, in ms.
const TIMINGS: &str = "(() => { const n = performance.getEntriesByType('navigation')[0]; \
    const m = performance.getEntriesByName('meshsmith-ready')[0]; \
    return [n.domContentLoadedEventEnd, n.loadEventEnd, m ? m.startTime : -1]; })()";

/// Expanding every namespace and painting the result, in ms.
const EXPAND: &str = "new Promise(r => { const t0 = performance.now(); \
    const b = document.querySelector('[data-act=expand]'); if (b) b.click(); \
    requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now() - t0))); })";

struct Run {
    ready: f64,
    load: f64,
    painted: f64,
    expand: f64,
    wall: Duration,
}

pub fn run(
    services: usize,
    seed: u64,
    work: &Path,
    meshsmith: &Path,
    runs: usize,
) -> anyhow::Result<()> {
    let dir = work.join(format!("report-{services}"));
    let manifests = dir.join("manifests");
    let _ = std::fs::remove_dir_all(&manifests);
    let stats = synth::write(&synth::Org::new(services, seed), &manifests)?;
    let out = dir.join("out");
    let started = Instant::now();
    let status = Command::new(meshsmith)
        .arg("onboard")
        .arg(&manifests)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| anyhow::anyhow!("running {}: {e}", meshsmith.display()))?;
    let onboard = started.elapsed();
    anyhow::ensure!(
        matches!(status.code(), Some(0) | Some(1)),
        "meshsmith onboard failed ({status})"
    );
    let report = out.join("report.html").canonicalize()?;
    let size = std::fs::metadata(&report)?.len();
    let binary = chromium::locate()
        .ok_or_else(|| anyhow::anyhow!("no chromium (set MESHSMITH_CHROMIUM)"))?;
    let version = Command::new(&binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut browser = Chromium::launch(&binary)?;
    let url = format!("file://{}", report.display());
    let mut all = Vec::new();
    for _ in 0..runs.max(1) {
        all.push(measure(&mut browser, &url)?);
    }
    all.sort_by(|a, b| a.painted.total_cmp(&b.painted));
    let m = &all[all.len() / 2];
    println!(
        "synthetic organisation: {services} services in {} namespaces ({} files, {:.1} MB of YAML)",
        stats.namespaces,
        stats.files,
        stats.bytes as f64 / 1e6
    );
    println!(
        "onboard with {} (report and everything else): {:.2} s",
        meshsmith.display(),
        onboard.as_secs_f64()
    );
    let size_ok = size < SIZE_BUDGET;
    println!(
        "report.html: {size} bytes ({:.2} MB; budget 2 MB): {}",
        size as f64 / 1e6,
        verdict(size_ok)
    );
    let paint_ok = m.painted < PAINT_BUDGET_MS;
    println!(
        "{version}, median of {}: script ready {:.0} ms, load event {:.0} ms, painted {:.0} ms \
         (budget {PAINT_BUDGET_MS:.0} ms): {}; navigation to paint measured outside {:.0} ms; \
         expanding every namespace and painting it {:.0} ms",
        all.len(),
        m.ready,
        m.load,
        m.painted,
        verdict(paint_ok),
        m.wall.as_secs_f64() * 1000.0,
        m.expand
    );
    anyhow::ensure!(size_ok && paint_ok, "the report is over budget");
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "within budget"
    } else {
        "OVER BUDGET"
    }
}

fn measure(browser: &mut Chromium, url: &str) -> anyhow::Result<Run> {
    browser.open("about:blank")?;
    let started = Instant::now();
    browser.open(url)?;
    let painted = browser.eval(PAINTED)?.as_f64().unwrap_or(f64::NAN);
    let wall = started.elapsed();
    let timings = browser.eval(TIMINGS)?;
    let expand = browser.eval(EXPAND)?.as_f64().unwrap_or(f64::NAN);
    let errors = browser.errors();
    anyhow::ensure!(errors.is_empty(), "the page logged errors: {errors:?}");
    Ok(Run {
        ready: timings[2].as_f64().unwrap_or(f64::NAN),
        load: timings[1].as_f64().unwrap_or(f64::NAN),
        painted,
        expand,
        wall,
    })
}
