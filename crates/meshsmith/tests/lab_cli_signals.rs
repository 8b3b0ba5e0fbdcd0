//! `meshsmith lab` interrupted for real: Ctrl-C (SIGINT) or SIGTERM sent to meshsmith alone,
//! while its sidecars run, stops every Envoy and removes the run folder.

mod lab_support;

use lab_support::{envoy_or_skip, meshsmith, serial, SHOPFRONT};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn ctrl_c_stops_every_envoy_and_removes_the_run_folder() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("ctrl_c") else {
        return;
    };
    signal_midway_stops_everything(&envoy, "-INT");
}

#[test]
fn sigterm_stops_every_envoy_and_removes_the_run_folder() {
    let _lab = serial();
    let Some(envoy) = envoy_or_skip("sigterm") else {
        return;
    };
    signal_midway_stops_everything(&envoy, "-TERM");
}

/// Start a run, wait for its sidecars, send `signal` to meshsmith alone (not its children).
fn signal_midway_stops_everything(envoy: &Path, signal: &str) {
    let child = meshsmith()
        .args(["lab", SHOPFRONT, "--scenario", "timeout", "--envoy"])
        .arg(envoy)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // Wait until this run's sidecars are up (their config lives in a meshsmith-lab- folder).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sidecars = Vec::new();
    // api-gateway, order-service x2, payment-service x2, stripe-webhook, user-service x2.
    while sidecars.len() < 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        sidecars = processes_mentioning("/meshsmith-lab-")
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .map(|(_, r)| r.split_whitespace().nth(1).map(str::to_string))
                    })
                    .flatten()
                    .is_some_and(|ppid| ppid == child.id().to_string())
            })
            .collect();
    }
    assert_eq!(sidecars.len(), 8, "sidecars of the run did not all start");
    let run_dir = std::fs::read(format!("/proc/{}/cmdline", sidecars[0]))
        .ok()
        .and_then(|c| {
            let text = String::from_utf8_lossy(&c).into_owned();
            text.split('\0')
                .find(|a| a.contains("/meshsmith-lab-"))
                .map(|a| Path::new(a).parent().map(Path::to_path_buf))
        })
        .flatten()
        .expect("run folder from the config path");
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    for pid in sidecars {
        assert!(!alive(pid), "envoy {pid} outlived Ctrl-C");
    }
    assert!(!run_dir.exists(), "{} was left behind", run_dir.display());
}
