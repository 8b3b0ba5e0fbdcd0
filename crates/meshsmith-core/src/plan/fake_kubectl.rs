//! A fake `kubectl` (and `curl`) for running a phase's `smoke.sh` as a person runs it, under
//! `sh`: it records every invocation and answers as a pod would. One file, included by the
//! unit tests of the script and by the command-line tests of what `plan` writes.

use std::path::Path;
use std::process::Command;

/// How the fake answers: what a pod prints (an HTTP status, or nothing), the exit status of
/// `kubectl run`, and that of `kubectl wait` for a job; with `leftover`, every pod is first
/// found already there (left by an interrupted run) until `kubectl delete pod` removes it.
pub struct Fake {
    pub answer: &'static str,
    pub exit: i32,
    pub wait: i32,
    pub leftover: bool,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            answer: "200",
            exit: 0,
            wait: 0,
            leftover: false,
        }
    }
}

/// What a run of the script did: its exit status, what it printed, and each command it ran
/// (`kubectl ...` or `curl ...`), one list of arguments each, in order.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    /// Read by the script's own tests (its summary line), not by every includer.
    #[allow(dead_code)]
    pub stderr: String,
    pub calls: Vec<Vec<String>>,
}

impl Run {
    /// The `kubectl run` of the pod named `name` (for the script's own tests).
    #[allow(dead_code)]
    pub fn pod(&self, name: &str) -> Option<&[String]> {
        self.calls
            .iter()
            .find(|c| c.len() > 2 && c[1] == "run" && c[2] == name)
            .map(Vec::as_slice)
    }
}

/// Records its arguments (unit separator between them, record separator after the last) and
/// answers as `SMOKE_*` say.
const FAKE: &str = r#"#!/bin/sh
{ printf '%s\037' "${0##*/}" "$@"; printf '\036'; } >>"$SMOKE_LOG"
case ${0##*/} in
  curl) printf '%s\n' "$SMOKE_ANSWER"; exit 0 ;;
esac
case $1 in
  run)
    if [ -n "$SMOKE_LEFTOVER" ] && [ ! -e "$SMOKE_LOG.deleted.$2" ]; then
      printf 'Error from server (AlreadyExists): pods "%s" already exists\n' "$2" >&2
      exit 1
    fi
    if [ -n "$SMOKE_ANSWER" ]; then printf '%s\n' "$SMOKE_ANSWER"; fi
    printf 'pod "%s" deleted\n' "$2"
    exit "$SMOKE_EXIT" ;;
  get) printf 'lb.example.com' ;;
  delete) if [ "$2" = pod ]; then : >"$SMOKE_LOG.deleted.$3"; fi ;;
  wait)
    if [ "$SMOKE_WAIT" -ne 0 ]; then
      echo 'error: timed out waiting for the condition on jobs/x' >&2
    fi
    exit "$SMOKE_WAIT" ;;
esac
"#;

fn write_executable(file: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(file, text).expect("write");
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs `sh script args...` with the fake first on PATH, in a folder of its own.
pub fn run(script: &Path, args: &[&str], fake: &Fake) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    write_executable(&bin.join("kubectl"), FAKE);
    write_executable(&bin.join("curl"), FAKE);
    let log = dir.path().join("calls");
    std::fs::write(&log, "").expect("log");
    let system = std::env::var("PATH").unwrap_or_default();
    let out = Command::new("sh")
        .arg(script)
        .args(args)
        .current_dir(dir.path())
        .env("PATH", format!("{}:{system}", bin.display()))
        .env("SMOKE_LOG", &log)
        .env("SMOKE_ANSWER", fake.answer)
        .env("SMOKE_EXIT", fake.exit.to_string())
        .env("SMOKE_WAIT", fake.wait.to_string())
        .env("SMOKE_LEFTOVER", if fake.leftover { "1" } else { "" })
        .output()
        .expect("sh runs");
    let calls = std::fs::read_to_string(&log)
        .expect("log")
        .split('\u{1e}')
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.split('\u{1f}')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        calls,
    }
}
