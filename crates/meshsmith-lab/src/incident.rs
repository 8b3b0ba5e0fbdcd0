//! The incident replay: one callee slows down while its caller keeps sending, once under the
//! team's old settings and once under the generated policy.
//!
//! In: a `LabSpec` and the name of the callee that slowed down. Out: an `IncidentReport` with,
//! per run, how long callers were blocked and how many requests piled up at the caller's
//! sidecar (Envoy's `upstream_rq_active` + `upstream_rq_pending_active`, sampled). Wall time is
//! kept short by scaling: the callee holds each request for `SLOW_HOLD_MS` instead of staying
//! slow for minutes, and the load lasts `LOAD_MS`; the report states this next to the figures.

use crate::client::{self, AppRequest};
use crate::envoy::Stats;
use crate::fleet::{fqdn, Fleet};
use crate::scenario::regex_escape;
use crate::spec::{EdgeSpec, LabSpec, Protocol, RetryPolicy, TrafficPolicy};
use crate::{app::Behaviour, LabError, Progress};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the slowed callee holds every request (scaled down from the real incident).
pub const SLOW_HOLD_MS: u64 = 6_000;
/// Requests per second the caller keeps sending.
pub const RATE_PER_S: u64 = 20;
/// How long the caller keeps sending.
pub const LOAD_MS: u64 = 4_000;
/// The old route timeout from the incident story.
pub const OLD_TIMEOUT_MS: u64 = 30_000;
/// An answer faster than this counts as failing fast.
const FAST_MS: u64 = 100;

/// Both runs side by side.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub service: String,
    pub caller: String,
    /// How the replay is scaled relative to the real incident, in words.
    pub scaling: String,
    pub old: IncidentRun,
    pub generated: IncidentRun,
    pub wall_ms: u64,
}

/// One run of the replay.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRun {
    pub label: String,
    pub settings: String,
    pub requests: u32,
    pub succeeded: u32,
    /// Answered with an error within `FAST_MS` (pool overflow, ejected host).
    pub failed_fast: u32,
    /// Answered with an error after waiting (timeouts).
    pub failed_slow: u32,
    pub blocked_p50_ms: u64,
    pub blocked_max_ms: u64,
    /// Sum of all waiting, in request-seconds: the caller capacity the slowdown consumed.
    pub blocked_total_ms: u64,
    /// Peak requests in flight from the caller app's side.
    pub peak_in_flight: u32,
    /// Peak of the caller sidecar's active + pending requests towards the callee.
    pub peak_sidecar_queue: u64,
    pub ejections: u64,
}

/// The team's settings before the mesh: a long timeout and retries, no pool limits, no ejection.
fn old_settings() -> TrafficPolicy {
    TrafficPolicy {
        timeout_ms: OLD_TIMEOUT_MS,
        retries: RetryPolicy {
            attempts: 2,
            per_try_timeout_ms: 0,
            retry_on: vec!["5xx".into(), "connect-failure".into()],
        },
        outlier_detection: None,
        connection_pool: None,
    }
}

fn describe(t: &TrafficPolicy) -> String {
    let timeout = if t.timeout_ms == 0 {
        "no timeout".to_string()
    } else {
        format!("timeout {} ms", t.timeout_ms)
    };
    let pool = t
        .connection_pool
        .as_ref()
        .map_or("no pool limits".to_string(), |p| {
            format!(
                "pool {} connections / {} pending / {} requests",
                p.max_connections, p.max_pending_requests, p.max_requests
            )
        });
    let outlier = t
        .outlier_detection
        .as_ref()
        .map_or("no outlier detection".to_string(), |o| {
            format!("eject after {} consecutive 5xx", o.consecutive_5xx)
        });
    format!(
        "{timeout}, {} retries, {pool}, {outlier}",
        t.retries.attempts
    )
}

/// Replay the slowdown of `service` under both settings.
pub async fn replay(
    spec: &LabSpec,
    service: &str,
    envoy: &Path,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<IncidentReport, LabError> {
    spec.validate()?;
    crate::envoy::version(envoy)?;
    let started = Instant::now();
    let callee = spec
        .service(service)
        .ok_or_else(|| LabError::Incident(format!("no service `{service}` in the lab spec")))?;
    let caller = spec
        .edges
        .iter()
        .find(|e| e.to == service)
        .and_then(|e| spec.service(&e.from))
        .ok_or_else(|| LabError::Incident(format!("nothing in the lab spec calls `{service}`")))?;
    let pair = |traffic: TrafficPolicy| {
        let mut slowed = callee.clone();
        slowed.traffic = traffic;
        LabSpec {
            trust_domain: spec.trust_domain.clone(),
            services: vec![caller.clone(), slowed],
            edges: vec![EdgeSpec {
                from: caller.name.clone(),
                to: callee.name.clone(),
            }],
        }
    };
    progress(&Progress::Incident(format!(
        "old settings: {} slows down, {} keeps calling",
        callee.name, caller.name
    )));
    let old = one_run("old settings", &pair(old_settings()), envoy).await?;
    progress(&Progress::Incident(
        "generated policy: same slowdown, same load".into(),
    ));
    let generated = one_run("generated policy", &pair(callee.traffic.clone()), envoy).await?;
    Ok(IncidentReport {
        service: callee.name.clone(),
        caller: caller.name.clone(),
        scaling: format!(
            "{} holds every request {} ms (in the incident it stayed slow for minutes); {} sends {} req/s for {} ms; \
             the old {} ms timeout is longer than the hold, so under old settings each caller waits the whole hold \
             (in the incident: up to {} ms per try, times retries)",
            callee.name, SLOW_HOLD_MS, caller.name, RATE_PER_S, LOAD_MS, OLD_TIMEOUT_MS, OLD_TIMEOUT_MS
        ),
        old,
        generated,
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

async fn one_run(label: &str, spec: &LabSpec, envoy: &Path) -> Result<IncidentRun, LabError> {
    let fleet = Fleet::start(spec, envoy).await?;
    let (Some(caller), Some(callee)) = (spec.services.first(), spec.services.get(1)) else {
        return Err(LabError::Incident(
            "the replay needs a caller and a callee".into(),
        ));
    };
    let port = fleet
        .sidecar(&caller.name, 0)
        .and_then(|s| s.outbound_port)
        .ok_or_else(|| LabError::Incident("the caller has no outbound listener".into()))?;
    let req = AppRequest {
        host: fqdn(callee),
        grpc: callee.protocol == Protocol::Grpc,
        headers: Vec::new(),
    };
    // Warm the pool so the slowdown, not connection set-up, shapes the figures.
    for _ in 0..callee.instances {
        let _ = client::send(port, &req).await;
    }
    for app in fleet.apps_of(&callee.name) {
        app.control.set(Behaviour {
            delay_ms: SLOW_HOLD_MS,
            fail: false,
        });
    }
    let cluster = regex_escape(&fleet.cluster_of(callee));
    let filter = format!("^cluster\\.{cluster}\\.(upstream_rq_active|upstream_rq_pending_active|outlier_detection\\.ejections_enforced_total)$");
    let active = format!("cluster.{}.upstream_rq_active", fleet.cluster_of(callee));
    let pending = format!(
        "cluster.{}.upstream_rq_pending_active",
        fleet.cluster_of(callee)
    );
    let ejected = format!(
        "cluster.{}.outlier_detection.ejections_enforced_total",
        fleet.cluster_of(callee)
    );
    let sidecar = &fleet
        .sidecar(&caller.name, 0)
        .ok_or_else(|| LabError::Incident("the caller has no sidecar".into()))?
        .process;
    let before = sidecar.stats(&filter).await.unwrap_or_default();

    let in_flight = Arc::new(AtomicU32::new(0));
    let peak_in_flight = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let total = (RATE_PER_S * LOAD_MS / 1000) as u32;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE_PER_S));
    let mut peak_queue = 0;
    let mut sample =
        |stats: &Stats| peak_queue = peak_queue.max(stats.get(&active) + stats.get(&pending));
    for i in 0..total {
        tick.tick().await;
        let (req, in_flight, peak) = (req.clone(), in_flight.clone(), peak_in_flight.clone());
        tasks.spawn(async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let outcome = client::send(port, &req).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            outcome
        });
        if i % 2 == 0 {
            if let Ok(stats) = sidecar.stats(&filter).await {
                sample(&stats);
            }
        }
    }
    let mut outcomes = Vec::new();
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(j) => outcomes.push(j.map_err(|e| e.to_string()).and_then(|r| r)),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if let Ok(stats) = sidecar.stats(&filter).await {
                    sample(&stats);
                }
            }
        }
    }
    let after = sidecar.stats(&filter).await.unwrap_or_default();
    let mut waits: Vec<u64> = Vec::new();
    let (mut succeeded, mut failed_fast, mut failed_slow) = (0, 0, 0);
    for outcome in &outcomes {
        match outcome {
            Ok(r) => {
                let ms = r.elapsed.as_millis() as u64;
                waits.push(ms);
                if r.ok() {
                    succeeded += 1;
                } else if ms < FAST_MS {
                    failed_fast += 1;
                } else {
                    failed_slow += 1;
                }
            }
            Err(_) => failed_slow += 1,
        }
    }
    waits.sort_unstable();
    Ok(IncidentRun {
        label: label.to_string(),
        settings: describe(&callee.traffic),
        requests: total,
        succeeded,
        failed_fast,
        failed_slow,
        blocked_p50_ms: waits.get(waits.len() / 2).copied().unwrap_or(0),
        blocked_max_ms: waits.last().copied().unwrap_or(0),
        blocked_total_ms: waits.iter().sum(),
        peak_in_flight: peak_in_flight.load(Ordering::SeqCst),
        peak_sidecar_queue: peak_queue,
        ejections: after.delta(&before, &ejected),
    })
}
