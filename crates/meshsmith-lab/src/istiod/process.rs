//! Starting istiod (`pilot-discovery discovery`) on loopback and stopping it.
//!
//! Every address it would open is given one on 127.0.0.1: HTTP (readiness, debug), plaintext
//! xDS over gRPC (what the sidecars connect to), monitoring and ControlZ; the TLS xDS port and
//! the webhook port are switched off (`""`). Its own CA is off (`ENABLE_CA_SERVER=false`):
//! workload certificates come from the lab's CA through the sidecars' SDS server. Two
//! istio/proxy-only filters are switched off because plain Envoy lacks them:
//! `PILOT_ENABLE_METADATA_EXCHANGE=false` (peer metadata for telemetry) and
//! `PILOT_ENABLE_ALPN_FILTER=false` (the `istio-http/1.1` ALPN override). The first carries no
//! policy; without the second a sidecar's mTLS to a PERMISSIVE HTTP port matches none of the
//! port's chains (see `not_covered`). Killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why istiod could not be started.
#[derive(Debug, thiserror::Error)]
pub enum IstiodError {
    /// No pilot-discovery at `--istiod`, in MESHSMITH_ISTIOD or on PATH.
    #[error("pilot-discovery not found ({0}); `cargo xtask istio-tools pilot-discovery` builds it from istio-tools.toml; pass `--istiod PATH` or set MESHSMITH_ISTIOD")]
    NotFound(String),
    /// The configuration folder or a server istiod needs could not be set up.
    #[error("preparing istiod's configuration: {0}")]
    Prepare(std::io::Error),
    /// Spawning the process failed.
    #[error("starting {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    /// istiod exited or never reported ready; the tail of its log says why.
    #[error("istiod did not become ready: {reason}\n{log_tail}")]
    NotReady { reason: String, log_tail: String },
    /// A sidecar never received the configuration istiod computed for it.
    #[error("sidecar {pod} did not get its configuration from istiod: {reason}")]
    NotConfigured { pod: String, reason: String },
}

/// Locate pilot-discovery: `--istiod`, then MESHSMITH_ISTIOD, then `pilot-discovery` on PATH.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, IstiodError> {
    if let Some(p) = explicit {
        return executable(p)
            .ok_or_else(|| IstiodError::NotFound(format!("--istiod {}", p.display())));
    }
    if let Some(p) = std::env::var_os("MESHSMITH_ISTIOD").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return executable(&p)
            .ok_or_else(|| IstiodError::NotFound(format!("MESHSMITH_ISTIOD={}", p.display())));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("pilot-discovery"))
        .find_map(|p| executable(&p))
        .ok_or_else(|| IstiodError::NotFound("not on PATH".into()))
}

fn executable(p: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(p).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then(|| p.to_path_buf())
}

/// `pilot-discovery version -s`, e.g. `1.31-dev+eed52ebb66ad`.
pub fn version(binary: &Path) -> Result<String, IstiodError> {
    let out = Command::new(binary)
        .args(["version", "-s"])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| IstiodError::Spawn {
            path: binary.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        // `client version: 1.31-dev+eed52ebb66ad`: the version is after the label.
        Some(line) if out.status.success() => {
            Ok(line.rsplit(": ").next().unwrap_or(line).trim().to_string())
        }
        _ => Err(IstiodError::NotFound(format!(
            "{} does not run as pilot-discovery",
            binary.display()
        ))),
    }
}

/// The loopback ports one istiod listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub http: u16,
    pub grpc: u16,
    pub monitoring: u16,
    pub ctrlz: u16,
}

/// A running istiod, killed and reaped on drop.
pub struct IstiodProcess {
    pub ports: Ports,
    log_file: PathBuf,
    child: Child,
}

/// Where istiod's inputs are.
pub struct Inputs<'a> {
    pub config_dir: &'a Path,
    pub mesh_config: &'a Path,
    pub kubeconfig: &'a Path,
    pub log_file: &'a Path,
}

impl IstiodProcess {
    pub fn spawn(binary: &Path, inputs: &Inputs<'_>, ports: Ports) -> Result<Self, IstiodError> {
        let spawn_err = |source| IstiodError::Spawn {
            path: binary.to_path_buf(),
            source,
        };
        let log = std::fs::File::create(inputs.log_file).map_err(spawn_err)?;
        let log_err = log.try_clone().map_err(spawn_err)?;
        let addr = |p: u16| format!("127.0.0.1:{p}");
        let child = Command::new(binary)
            .arg("discovery")
            .arg("--configDir")
            .arg(inputs.config_dir)
            .arg("--meshConfig")
            .arg(inputs.mesh_config)
            .arg("--networksConfig")
            .arg(inputs.config_dir.join("no-mesh-networks.yaml"))
            .arg("--kubeconfig")
            .arg(inputs.kubeconfig)
            .args(["--httpAddr", &addr(ports.http)])
            .args(["--grpcAddr", &addr(ports.grpc)])
            .args(["--monitoringAddr", &addr(ports.monitoring)])
            .args(["--secureGRPCAddr", "", "--httpsAddr", ""])
            .args(["--ctrlz_address", "127.0.0.1"])
            .args(["--ctrlz_port", &ports.ctrlz.to_string()])
            .args([
                "--domain",
                "cluster.local",
                "--log_output_level",
                "default:warn",
            ])
            .env("POD_NAMESPACE", "istio-system")
            .env("ENABLE_CA_SERVER", "false")
            .env("PILOT_ENABLE_METADATA_EXCHANGE", "false")
            .env("PILOT_ENABLE_ALPN_FILTER", "false")
            .env("PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION", "false")
            // Pushes follow a config change after 100 ms by default; the folder never
            // changes, so the first push is the only one.
            .env("PILOT_DEBOUNCE_AFTER", "10ms")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(spawn_err)?;
        Ok(IstiodProcess {
            ports,
            log_file: inputs.log_file.to_path_buf(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for `/ready` on the HTTP port (caches synced, configuration loaded).
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), IstiodError> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.not_ready(format!("exited with {status}")));
            }
            if let Ok(reply) = crate::client::admin_get(self.ports.http, "/ready").await {
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

    fn not_ready(&self, reason: String) -> IstiodError {
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| !l.starts_with(char::is_whitespace))
            .collect();
        IstiodError::NotReady {
            reason,
            log_tail: lines[lines.len().saturating_sub(12)..].join("\n"),
        }
    }
}

impl Drop for IstiodProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
