//! `istioctl` for `check --istioctl`: finding it, asking its version, and running
//! `istioctl analyze` offline on the inputs `check` read, for
//! [`meshsmith_core::check::istioctl`] to merge.

use anyhow::{bail, Context};
use meshsmith_core::check::istioctl::{parse, IstioctlMessage};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to get istioctl, for the message when it is asked for and missing.
const HOW_TO_GET: &str =
    "install it (https://istio.io/latest/docs/setup/additional-setup/download-istio-release/, \
     or `go install istio.io/istio/istioctl/cmd/istioctl@<version>`) and put it on PATH, \
     or give its path: --istioctl=/path/to/istioctl";

/// `program` as a command to run: itself when it names a path, else the first executable
/// of that name on PATH.
fn resolve(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when an `istioctl` is on PATH (looked up without running it).
pub fn on_path() -> bool {
    resolve(Path::new("istioctl")).is_some()
}

/// The istioctl `--istioctl[=PATH]` asks for, and its version; an error saying how to get
/// it when it is missing or does not run.
pub fn find(requested: &Path) -> anyhow::Result<(PathBuf, String)> {
    let Some(program) = resolve(requested) else {
        bail!(
            "--istioctl: `{}` {}; {HOW_TO_GET}",
            requested.display(),
            if requested.components().count() > 1 {
                "does not exist"
            } else {
                "is not on PATH"
            }
        );
    };
    let out = Command::new(&program)
        .args(["version", "--remote=false", "--short"])
        .output()
        .with_context(|| format!("--istioctl: running {}; {HOW_TO_GET}", program.display()))?;
    if !out.status.success() {
        bail!(
            "--istioctl: `{} version --remote=false` failed ({}); {HOW_TO_GET}",
            program.display(),
            out.status
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .trim()
        .trim_start_matches("client version:")
        .trim()
        .to_string();
    Ok((
        program,
        if version.is_empty() {
            "unknown".into()
        } else {
            version
        },
    ))
}

/// `istioctl analyze --use-kube=false -A -o json` over `paths` (as the command line gave
/// them; `-` is fed `stdin`), with namespace-less resources named in `namespace`.
pub fn analyze(
    program: &Path,
    paths: &[String],
    stdin: Option<&str>,
    namespace: &str,
) -> anyhow::Result<Vec<IstioctlMessage>> {
    let mut child = Command::new(program)
        .args([
            "analyze",
            "--use-kube=false",
            "--all-namespaces",
            "--ignore-unknown",
            "--output",
            "json",
        ])
        .args(paths)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("--istioctl: running {}", program.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A closed pipe only means istioctl stopped reading; its output says why.
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("--istioctl: waiting for {}", program.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match parse(&text, namespace) {
        Some(messages) => Ok(messages),
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .chain(text.lines())
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            bail!(
                "--istioctl: `{} analyze` gave no report ({}): {why}",
                program.display(),
                out.status
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_istioctl_says_how_to_get_it() {
        let err = find(Path::new("/nonexistent/istioctl"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains("--istioctl=/path/to/istioctl"), "{err}");
        let err = find(Path::new("istioctl-that-no-one-has"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not on PATH"), "{err}");
    }
}
