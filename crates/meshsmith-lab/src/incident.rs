//! The incident replay: one service slows down while traffic keeps coming through the chain in
//! front of it, once under the team's old settings and once under the generated policy.
//!
//! In: a `LabSpec` and the name of the service that slowed down. The chain is that service, its
//! first caller and, when there is one, that caller's first caller (e.g. api-gateway ->
//! order-service -> payment-service): the front service's sidecar receives the load, the middle
//! app calls the slow one through its own sidecar. The old settings of each hop come from the
//! callers' own configuration (`from_mesh::old_settings`, read from `map`'s timeout audit); the
//! generated ones are the spec's. Out: an `IncidentReport` with, per run, how
//! long the front caller was blocked and how many requests piled up at each hop (Envoy's
//! `upstream_rq_active` + `upstream_rq_pending_active`, sampled). Wall time is kept short by
//! scaling: the slow service holds each request 2.5 times the generated front timeout (within
//! `SLOW_HOLD_MS`..`MAX_HOLD_MS`) instead of staying slow for minutes, and the load lasts
//! `LOAD_MS`; the report states this next to the figures.

use crate::client::{self, AppRequest};
use crate::envoy::Stats;
use crate::fleet::{fqdn, Fleet};
use crate::from_mesh::OldHop;
use crate::scenario::regex_escape;
use crate::spec::{EdgeSpec, LabSpec, Protocol, ServiceSpec, TrafficPolicy};
use crate::{app::Behaviour, LabError, Progress};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shortest and longest time the slowed service holds every request (scaled down from the
/// real incident, where it stayed slow for minutes). Within them the hold is 2.5 times the
/// generated front timeout: long enough that cutting it shows, short enough to replay quickly.
pub const SLOW_HOLD_MS: u64 = 6_000;
pub const MAX_HOLD_MS: u64 = 20_000;
/// Requests per second sent into the front of the chain.
pub const RATE_PER_S: u64 = 20;
/// How long the load lasts.
pub const LOAD_MS: u64 = 4_000;
/// An answer faster than this counts as failing fast.
const FAST_MS: u64 = 100;

/// Both runs side by side.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub service: String,
    /// Front caller first, slowed service last.
    pub chain: Vec<String>,
    /// How the replay is scaled relative to the real incident, in words.
    pub scaling: String,
    /// Where each hop's old settings were read (`KEY=value (file:line)`).
    pub old_sources: Vec<String>,
    /// How long the slowed service held every request, in ms.
    pub hold_ms: u64,
    pub old: IncidentRun,
    pub generated: IncidentRun,
    pub wall_ms: u64,
}

/// One run of the replay.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRun {
    pub label: String,
    /// The policy on each hop, `caller -> callee: ...`.
    pub settings: Vec<String>,
    pub requests: u32,
    pub succeeded: u32,
    /// Answered with an error within 100 ms (pool overflow, ejected host).
    pub failed_fast: u32,
    /// Answered with an error after waiting (timeouts).
    pub failed_slow: u32,
    pub blocked_p50_ms: u64,
    pub blocked_max_ms: u64,
    /// Sum of all waiting, in request-seconds: the caller capacity the slowdown consumed.
    pub blocked_total_ms: u64,
    /// Peak requests in flight from the front caller's side.
    pub peak_in_flight: u32,
    pub hops: Vec<HopFigures>,
}

/// What one hop's caller sidecar saw.
#[derive(Debug, Clone, Serialize)]
pub struct HopFigures {
    pub from: String,
    pub to: String,
    /// Peak of active + pending requests towards `to`.
    pub peak_queue: u64,
    /// Requests refused by the connection pool.
    pub overflowed: u64,
    pub ejections: u64,
}

fn describe(t: &TrafficPolicy) -> String {
    let timeout = match (t.timeout_ms, t.retries.per_try_timeout_ms) {
        (0, _) => "no timeout".to_string(),
        (ms, 0) => format!("timeout {ms} ms"),
        (ms, per_try) => format!("timeout {ms} ms (per try {per_try} ms)"),
    };
    let pool = t
        .connection_pool
        .as_ref()
        .map_or("no pool limits".to_string(), |p| {
            format!(
                "pool {}/{}/{}",
                p.max_connections, p.max_pending_requests, p.max_requests
            )
        });
    let outlier = t
        .outlier_detection
        .as_ref()
        .map_or("no ejection".to_string(), |o| {
            format!("eject after {} 5xx", o.consecutive_5xx)
        });
    format!(
        "{timeout}, {} retries, {pool}, {outlier}",
        t.retries.attempts
    )
}

fn first_caller<'a>(spec: &'a LabSpec, callee: &str, not: &str) -> Option<&'a ServiceSpec> {
    spec.edges
        .iter()
        .find(|e| e.to == callee && e.from != not)
        .and_then(|e| spec.service(&e.from))
}

/// Replay the slowdown of `service` under both settings.
pub async fn replay(
    spec: &LabSpec,
    service: &str,
    old: &[OldHop],
    envoy: &Path,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<IncidentReport, LabError> {
    spec.validate()?;
    crate::envoy::version(envoy)?;
    let started = Instant::now();
    let slow = spec
        .service(service)
        .ok_or_else(|| LabError::Incident(format!("no service `{service}` in the lab spec")))?;
    let middle = first_caller(spec, service, service)
        .ok_or_else(|| LabError::Incident(format!("nothing in the lab spec calls `{service}`")))?;
    let mut chain = vec![middle.clone(), slow.clone()];
    if let Some(front) = first_caller(spec, &middle.name, service) {
        chain.insert(0, front.clone());
    }
    let names: Vec<String> = chain.iter().map(|s| s.name.clone()).collect();
    let mut old_traffic = Vec::new();
    let mut old_sources = Vec::new();
    for w in names.windows(2) {
        let hop = old
            .iter()
            .find(|h| h.from == w[0] && h.to == w[1])
            .ok_or_else(|| {
                LabError::Incident(format!("no old settings for {} -> {}", w[0], w[1]))
            })?;
        old_traffic.push(hop.traffic.clone());
        let read = match hop.sources.is_empty() {
            true => "none found".to_string(),
            false => hop.sources.join(", "),
        };
        old_sources.push(format!("{} -> {}: {read}", hop.from, hop.to));
    }
    let longest_old = old_traffic.iter().map(|t| t.timeout_ms).max().unwrap_or(0);
    let front_timeout = chain.get(1).map_or(0, |s| s.traffic.timeout_ms);
    let hold_ms = (front_timeout * 5 / 2).clamp(SLOW_HOLD_MS, MAX_HOLD_MS);
    let with = |old: bool| {
        let services: Vec<ServiceSpec> = chain
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut s = s.clone();
                if let (true, Some(t)) = (old, i.checked_sub(1).and_then(|h| old_traffic.get(h))) {
                    s.traffic = t.clone();
                }
                s
            })
            .collect();
        let edges = names
            .windows(2)
            .map(|w| EdgeSpec {
                from: w[0].clone(),
                to: w[1].clone(),
            })
            .collect();
        LabSpec {
            trust_domain: spec.trust_domain.clone(),
            services,
            edges,
            calls: Vec::new(),
        }
    };
    let path = names.join(" -> ");
    progress(&Progress::Incident(format!(
        "old settings: {service} slows down under {path}"
    )));
    let old = one_run("old settings", &with(true), envoy, hold_ms).await?;
    progress(&Progress::Incident(
        "generated policy: same slowdown, same load".into(),
    ));
    let generated = one_run("generated policy", &with(false), envoy, hold_ms).await?;
    Ok(IncidentReport {
        service: service.to_string(),
        chain: names.clone(),
        scaling: scaling(service, &names[0], longest_old, hold_ms),
        old_sources,
        hold_ms,
        old,
        generated,
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

fn scaling(service: &str, front: &str, longest_old_ms: u64, hold_ms: u64) -> String {
    let old = if longest_old_ms == 0 {
        "the old settings set no timeout, so callers wait the whole hold".to_string()
    } else if longest_old_ms > hold_ms {
        format!(
            "the longest old timeout ({longest_old_ms} ms) is longer than the hold, so under old \
             settings callers wait the whole hold (in the incident: the whole timeout)"
        )
    } else {
        format!("the longest old timeout is {longest_old_ms} ms")
    };
    format!(
        "{service} holds every request {hold_ms} ms (in the incident it stayed slow for minutes); \
         {front} receives {RATE_PER_S} req/s for {LOAD_MS} ms; {old}"
    )
}

/// Counter names of one hop, read from the hop caller's sidecar.
struct Hop {
    from: String,
    to: String,
    filter: String,
    cluster: String,
}

impl Hop {
    fn stat(&self, name: &str) -> String {
        format!("cluster.{}.{name}", self.cluster)
    }
}

async fn sample(fleet: &Fleet, hops: &[Hop], peaks: &mut [u64]) {
    for (hop, peak) in hops.iter().zip(peaks.iter_mut()) {
        let Some(sidecar) = fleet.sidecar(&hop.from, 0) else {
            continue;
        };
        if let Ok(s) = sidecar.process.stats(&hop.filter).await {
            let queued = s.get(&hop.stat("upstream_rq_active"))
                + s.get(&hop.stat("upstream_rq_pending_active"));
            *peak = (*peak).max(queued);
        }
    }
}

async fn snapshot(fleet: &Fleet, hops: &[Hop]) -> Vec<Stats> {
    let mut out = Vec::new();
    for hop in hops {
        let stats = match fleet.sidecar(&hop.from, 0) {
            Some(s) => s.process.stats(&hop.filter).await.unwrap_or_default(),
            None => Stats::default(),
        };
        out.push(stats);
    }
    out
}

async fn one_run(
    label: &str,
    spec: &LabSpec,
    envoy: &Path,
    hold_ms: u64,
) -> Result<IncidentRun, LabError> {
    let fleet = Fleet::start(spec, envoy).await?;
    let chain = &spec.services;
    let (Some(front), Some(next), Some(slow)) = (chain.first(), chain.get(1), chain.last()) else {
        return Err(LabError::Incident(
            "the replay needs a caller and a callee".into(),
        ));
    };
    let port = fleet
        .sidecar(&front.name, 0)
        .and_then(|s| s.outbound_port(next.port))
        .ok_or_else(|| LabError::Incident("the front caller has no outbound listener".into()))?;
    let mut headers = Vec::new();
    if next.name != slow.name {
        headers.push(("x-lab-call", fqdn(slow)));
        if slow.protocol == Protocol::Grpc {
            headers.push(("x-lab-call-grpc", "1".to_string()));
        }
    }
    let req = AppRequest {
        host: fqdn(next),
        grpc: next.protocol == Protocol::Grpc,
        headers,
    };
    // Warm every pool on the chain so the slowdown, not connection set-up, shapes the figures.
    for _ in 0..slow.instances {
        let _ = client::send(port, &req).await;
    }
    for app in fleet.apps_of(&slow.name) {
        app.control.set(Behaviour {
            delay_ms: hold_ms,
            fail: false,
        });
    }
    let hops: Vec<Hop> = chain
        .windows(2)
        .map(|w| {
            let cluster = fleet.cluster_of(&w[1]);
            Hop {
                from: w[0].name.clone(),
                to: w[1].name.clone(),
                filter: format!(
                    "^cluster\\.{}\\.(upstream_rq_|outlier_detection\\.ejections_enforced_total)",
                    regex_escape(&cluster)
                ),
                cluster,
            }
        })
        .collect();
    let before = snapshot(&fleet, &hops).await;
    let mut peaks = vec![0; hops.len()];

    let in_flight = Arc::new(AtomicU32::new(0));
    let peak_in_flight = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let total = (RATE_PER_S * LOAD_MS / 1000) as u32;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE_PER_S));
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
            sample(&fleet, &hops, &mut peaks).await;
        }
    }
    let mut outcomes = Vec::new();
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(j) => outcomes.push(j.map_err(|e| e.to_string()).and_then(|r| r)),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => sample(&fleet, &hops, &mut peaks).await,
        }
    }
    let after = snapshot(&fleet, &hops).await;
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
    let figures = hops
        .iter()
        .zip(before.iter().zip(&after))
        .zip(&peaks)
        .map(|((hop, (b, a)), peak)| HopFigures {
            from: hop.from.clone(),
            to: hop.to.clone(),
            peak_queue: *peak,
            overflowed: [
                "upstream_rq_pending_overflow",
                "upstream_rq_active_overflow",
            ]
            .iter()
            .map(|n| a.delta(b, &hop.stat(n)))
            .sum(),
            ejections: a.delta(b, &hop.stat("outlier_detection.ejections_enforced_total")),
        })
        .collect();
    Ok(IncidentRun {
        label: label.to_string(),
        settings: chain
            .windows(2)
            .map(|w| {
                format!(
                    "{} -> {}: {}",
                    w[0].name,
                    w[1].name,
                    describe(&w[1].traffic)
                )
            })
            .collect(),
        requests: total,
        succeeded,
        failed_fast,
        failed_slow,
        blocked_p50_ms: waits.get(waits.len() / 2).copied().unwrap_or(0),
        blocked_max_ms: waits.last().copied().unwrap_or(0),
        blocked_total_ms: waits.iter().sum(),
        peak_in_flight: peak_in_flight.load(Ordering::SeqCst),
        hops: figures,
    })
}
