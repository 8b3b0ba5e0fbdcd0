//! The Istio tools meshsmith is judged by, built from the one pin in `istio-tools.toml`.
//!
//! ```text
//!  istio-tools.toml ──pin──▶ build(tool) ──go install / go build──▶ target/istio-tools/<version>/<tool>
//!                                                                        ▲
//!  tests: find(tool) ── MESHSMITH_ISTIOCTL / MESHSMITH_ISTIO_CLUSTER_ANALYZE, that folder, PATH
//! ```
//!
//! A tool is built once per pinned version and reused after (the Go build and module caches
//! make a rebuild after `cargo clean` a matter of linking). Tests never build: they find a
//! tool or skip, loudly, and with `MESHSMITH_REQUIRE_ISTIOCTL=1` (CI) they fail instead.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned Istio module, as `istio-tools.toml` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `istio.io/istio`.
    pub module: String,
    /// A module version the Go proxy serves, e.g. `v0.0.0-20260827124520-eed52ebb66ad`.
    pub version: String,
    /// The Istio release line the version belongs to, e.g. `1.31-dev`.
    pub release_line: String,
}

impl Pin {
    /// The commit of a pseudo-version (`v0.0.0-<date>-<commit>`), else the version itself.
    pub fn commit(&self) -> &str {
        self.version.rsplit('-').next().unwrap_or(&self.version)
    }

    /// What the built binaries report as their version: `1.31-dev+eed52ebb66ad`.
    pub fn build_version(&self) -> String {
        format!("{}+{}", self.release_line, self.commit())
    }
}

/// Where a tool's source comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A main package of the pinned module, installed with `go install PACKAGE@VERSION`.
    Module(&'static str),
    /// A main package in this repository that imports the pinned module.
    Local(&'static str),
}

/// One buildable tool.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub source: Source,
    /// The variable a test reads for the tool's path before looking anywhere else.
    pub env: &'static str,
    /// The variable that, set to `1`, makes a test that needs the tool fail without it.
    pub require: &'static str,
}

/// Every tool the helper builds.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "istioctl",
        source: Source::Module("istioctl/cmd/istioctl"),
        env: "MESHSMITH_ISTIOCTL",
        require: "MESHSMITH_REQUIRE_ISTIOCTL",
    },
    Tool {
        name: "istio-cluster-analyze",
        source: Source::Local("xtask/istio-cluster-analyze"),
        env: "MESHSMITH_ISTIO_CLUSTER_ANALYZE",
        require: "MESHSMITH_REQUIRE_ISTIOCTL",
    },
    Tool {
        name: "pilot-discovery",
        source: Source::Module("pilot/cmd/pilot-discovery"),
        env: "MESHSMITH_ISTIOD",
        require: "MESHSMITH_REQUIRE_ISTIOD",
    },
];

/// The tool called `name`.
pub fn tool(name: &str) -> anyhow::Result<&'static Tool> {
    match TOOLS.iter().find(|t| t.name == name) {
        Some(t) => Ok(t),
        None => bail!(
            "no Istio tool `{name}`; one of: {}",
            TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The workspace's root folder (where `istio-tools.toml` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Reads `key = "value"` lines; `#` starts a comment.
pub fn parse_pin(text: &str, file: &str) -> anyhow::Result<Pin> {
    let mut values = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("{file}:{}: expected `key = \"value\"`", i + 1);
        };
        let value = value.trim();
        let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            bail!(
                "{file}:{}: the value of `{}` must be quoted",
                i + 1,
                key.trim()
            );
        };
        values.insert(key.trim().to_string(), value.to_string());
    }
    let mut take = |key: &str| {
        values
            .remove(key)
            .with_context(|| format!("{file}: no `{key} = \"...\"`"))
    };
    Ok(Pin {
        module: take("module")?,
        version: take("version")?,
        release_line: take("release_line")?,
    })
}

/// The pin in the workspace's `istio-tools.toml`.
pub fn pin() -> anyhow::Result<Pin> {
    let file = workspace_root().join("istio-tools.toml");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    parse_pin(&text, &file.display().to_string())
}

/// `target/istio-tools/<version>/`, under `CARGO_TARGET_DIR` when that is set.
pub fn tools_dir(pin: &Pin) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("istio-tools").join(&pin.version)
}

/// The `go` to build with: `$GO`, `go` on PATH, or Go's default install folder.
fn go() -> anyhow::Result<PathBuf> {
    let candidates = [
        std::env::var_os("GO").map(PathBuf::from),
        Some(PathBuf::from("go")),
        Some(PathBuf::from("/usr/local/go/bin/go")),
    ];
    for go in candidates.into_iter().flatten() {
        if runs(&go, &["version"]) {
            return Ok(go);
        }
    }
    bail!(
        "building Istio's tools needs Go (https://go.dev/dl/; 1.26 or newer) and its module \
         proxy: put `go` on PATH or set GO=/path/to/go"
    )
}

fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds `tool` from the pin unless it is already there; returns its path.
pub fn build(tool: &Tool, pin: &Pin) -> anyhow::Result<PathBuf> {
    let dir = tools_dir(pin);
    let binary = dir.join(tool.name);
    if binary.is_file() {
        return Ok(binary);
    }
    let go = go()?;
    // Built into a folder of its own and moved into place, so an interrupted build never
    // leaves a binary that a later run would take as finished.
    let staging = dir.join(format!(".staging-{}-{}", tool.name, std::process::id()));
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = build_into(tool, pin, &go, &staging);
    let moved = result.and_then(|()| {
        std::fs::rename(staging.join(tool.name), &binary)
            .with_context(|| format!("moving {} into {}", tool.name, dir.display()))
    });
    let _ = std::fs::remove_dir_all(&staging);
    moved.map(|()| binary)
}

fn build_into(tool: &Tool, pin: &Pin, go: &Path, staging: &Path) -> anyhow::Result<()> {
    let ldflags = format!(
        "-X istio.io/istio/pkg/version.buildVersion={} \
         -X istio.io/istio/pkg/version.buildGitRevision={} \
         -X istio.io/istio/pkg/version.buildStatus=Clean",
        pin.build_version(),
        pin.commit()
    );
    let mut command = Command::new(go);
    command.env("CGO_ENABLED", "0");
    match tool.source {
        Source::Module(package) => {
            command
                .env("GOBIN", staging)
                .arg("install")
                .arg(format!("-ldflags={ldflags}"))
                .arg(format!("{}/{package}@{}", pin.module, pin.version));
        }
        Source::Local(folder) => {
            // A module of its own, written here so the version stays in istio-tools.toml.
            let source = workspace_root().join(folder);
            let module = staging.join("src");
            std::fs::create_dir_all(&module)?;
            for entry in std::fs::read_dir(&source)
                .with_context(|| format!("reading {}", source.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "go") {
                    let name = path.file_name().unwrap_or_default();
                    std::fs::copy(&path, module.join(name))?;
                }
            }
            std::fs::write(
                module.join("go.mod"),
                format!(
                    "module meshsmith.local/{}\n\ngo 1.26.0\n\nrequire {} {}\n",
                    tool.name, pin.module, pin.version
                ),
            )?;
            command
                .current_dir(&module)
                .env("GOFLAGS", "-mod=mod")
                .arg("build")
                .arg(format!("-ldflags={ldflags}"))
                .arg("-o")
                .arg(staging.join(tool.name))
                .arg(".");
        }
    }
    let status = command
        .status()
        .with_context(|| format!("running {}", go.display()))?;
    if !status.success() {
        bail!(
            "building {} from {}@{} failed ({status}); the Go output above says why",
            tool.name,
            pin.module,
            pin.version
        );
    }
    Ok(())
}

/// Where a test finds `tool`: its variable, the pinned build, or (istioctl only) PATH.
/// `None`, said loudly, when it is nowhere; a panic when its `require` variable is `1`
/// (`MESHSMITH_REQUIRE_ISTIOCTL`, or `MESHSMITH_REQUIRE_ISTIOD` for pilot-discovery).
pub fn find(tool: &Tool, test: &str) -> Option<PathBuf> {
    let found = locate(tool);
    if found.is_none() {
        let how = format!(
            "`cargo xtask istio-tools {}` builds it from istio-tools.toml, or set {}",
            tool.name, tool.env
        );
        if std::env::var(tool.require).as_deref() == Ok("1") {
            panic!("{test}: no {} and {}=1 ({how})", tool.name, tool.require);
        }
        eprintln!("\n*** SKIPPED: {test}: no {} ({how}) ***\n", tool.name);
    }
    found
}

/// [`find`] without the noise: the first place `tool` runs from.
pub fn locate(tool: &Tool) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(tool.env) {
        return Some(PathBuf::from(path));
    }
    if let Ok(pin) = pin() {
        let built = tools_dir(&pin).join(tool.name);
        if built.is_file() {
            return Some(built);
        }
    }
    let on_path = PathBuf::from(tool.name);
    (tool.name == "istioctl" && runs(&on_path, &["version", "--remote=false"])).then_some(on_path)
}

/// Istio's analyzer test inputs in the Go module cache (there once istioctl has been built
/// from the pin): `MESHSMITH_ISTIO_TESTDATA`, or `<GOMODCACHE>/<module>@<version>/...`.
pub fn analyzer_testdata(pin: &Pin) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MESHSMITH_ISTIO_TESTDATA") {
        return Some(PathBuf::from(dir));
    }
    let cache = module_cache()?;
    let dir = cache
        .join(format!("{}@{}", pin.module, pin.version))
        .join("pkg/config/analysis/analyzers/testdata");
    dir.is_dir().then_some(dir)
}

fn module_cache() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GOMODCACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Ok(go) = go() {
        let out = Command::new(go).args(["env", "GOMODCACHE"]).output().ok()?;
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            return Some(PathBuf::from(dir));
        }
    }
    let gopath = std::env::var_os("GOPATH")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go")))?;
    Some(gopath.join("pkg/mod"))
}

/// The tool's version line, e.g. istioctl's `1.31-dev+eed52ebb66ad`.
pub fn version(istioctl: &Path) -> String {
    Command::new(istioctl)
        .args(["version", "--remote=false", "--short"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .map(|v| v.trim_start_matches("client version:").trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_reads_and_names_its_commit() {
        let pin = parse_pin(
            "# comment\nmodule = \"istio.io/istio\"\nversion = \"v0.0.0-20260827124520-eed52ebb66ad\"\n\
             release_line = \"1.31-dev\"\n",
            "istio-tools.toml",
        )
        .expect("pin");
        assert_eq!(pin.commit(), "eed52ebb66ad");
        assert_eq!(pin.build_version(), "1.31-dev+eed52ebb66ad");
    }

    #[test]
    fn a_bad_pin_names_the_file_and_line() {
        let err = parse_pin("module = istio.io/istio\n", "istio-tools.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "istio-tools.toml:1: the value of `module` must be quoted"
        );
        let err = parse_pin("module = \"istio.io/istio\"\n", "f").unwrap_err();
        assert_eq!(err.to_string(), "f: no `version = \"...\"`");
    }

    #[test]
    fn the_workspace_pin_is_readable() {
        let pin = pin().expect("istio-tools.toml");
        assert_eq!(pin.module, "istio.io/istio");
        assert!(pin.version.starts_with('v'), "{}", pin.version);
        assert!(tool("istioctl").is_ok() && tool("pilot-discovery").is_ok());
        assert!(tool("kubectl").is_err());
    }
}
