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
//! `LOAD_MS`; the report states this next to the figures, and its `Verdict` says which run
//! held the callers less, and by how much (`verdict.rs`).

mod run;
pub mod verdict;

use crate::from_mesh::OldHop;
use crate::spec::{EdgeSpec, LabSpec, ServiceSpec, TrafficPolicy};
use crate::{LabError, Progress};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
pub use verdict::{Better, Verdict};

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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Which run held the front caller's callers less, and by how much.
    pub verdict: Verdict,
    pub wall_ms: u64,
}

/// One run of the replay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentRun {
    pub label: String,
    /// The policy on each hop, `caller -> callee: ...`.
    pub settings: Vec<String>,
    /// The longest a front caller waits however long the slowdown lasts: the front hop's route
    /// timeout, in ms; none when that hop has no timeout.
    pub wait_bound_ms: Option<u64>,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HopFigures {
    pub from: String,
    pub to: String,
    /// Peak of active + pending requests towards `to`.
    pub peak_queue: u64,
    /// Requests refused by the connection pool.
    pub overflowed: u64,
    pub ejections: u64,
}

/// A hop's policy in words: `timeout 10 s (5 s per try), 1 retry, pool 100 connections / 100
/// pending / 1000 requests, ejected after 5 consecutive 5xx`.
fn describe(t: &TrafficPolicy) -> String {
    let timeout = match (t.timeout_ms, t.retries.per_try_timeout_ms) {
        (0, _) => "no timeout".to_string(),
        (ms, 0) => format!("timeout {}", seconds(ms)),
        (ms, per_try) => format!("timeout {} ({} per try)", seconds(ms), seconds(per_try)),
    };
    let retries = match t.retries.attempts {
        0 => "no retries".to_string(),
        1 => "1 retry".to_string(),
        n => format!("{n} retries"),
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
        .map_or("no ejection".to_string(), |o| {
            format!("ejected after {} consecutive 5xx", o.consecutive_5xx)
        });
    format!("{timeout}, {retries}, {pool}, {outlier}")
}

/// `5 s`, `2.5 s`, `0.25 s`: whole seconds without a fraction, else as many decimals as needed.
fn seconds(ms: u64) -> String {
    let whole = format!("{}.{:03}", ms / 1000, ms % 1000);
    format!("{} s", whole.trim_end_matches('0').trim_end_matches('.'))
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
    let with = |old: Option<&[TrafficPolicy]>| chain_spec(&spec.trust_domain, &chain, old);
    // Each run takes the hold and the load, plus the fleet's start.
    let about = seconds((hold_ms + LOAD_MS).div_ceil(1000) * 1000);
    progress(&Progress::Incident(format!(
        "1/2, old settings: {service} slows down (about {about})"
    )));
    let old = run::one_run("old settings", &with(Some(&old_traffic)), envoy, hold_ms).await?;
    progress(&Progress::Incident(format!(
        "2/2, generated policy: the same slowdown and load (about {about})"
    )));
    let generated = run::one_run("generated policy", &with(None), envoy, hold_ms).await?;
    let verdict = Verdict::of(&old, &generated, hold_ms);
    Ok(IncidentReport {
        service: service.to_string(),
        chain: names.clone(),
        scaling: scaling(service, &names[0], longest_old, hold_ms),
        old_sources,
        hold_ms,
        old,
        generated,
        verdict,
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

/// The chain alone, each hop under `old` settings when given (hop `i` is the callee
/// `chain[i + 1]`), else under the generated ones.
fn chain_spec(trust_domain: &str, chain: &[ServiceSpec], old: Option<&[TrafficPolicy]>) -> LabSpec {
    let services = chain
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut s = s.clone();
            let hop = i.checked_sub(1);
            if let Some(t) = old.zip(hop).and_then(|(old, h)| old.get(h)) {
                s.traffic = t.clone();
            }
            s
        })
        .collect();
    let edges = chain
        .windows(2)
        .map(|w| EdgeSpec {
            from: w[0].name.clone(),
            to: w[1].name.clone(),
        })
        .collect();
    LabSpec {
        trust_domain: trust_domain.to_string(),
        services,
        edges,
        calls: Vec::new(),
    }
}

fn scaling(service: &str, front: &str, longest_old_ms: u64, hold_ms: u64) -> String {
    let longest = seconds(longest_old_ms);
    let old = if longest_old_ms == 0 {
        "the old settings set no timeout, so callers wait the whole hold".to_string()
    } else if longest_old_ms > hold_ms {
        format!(
            "the longest old timeout ({longest}) is longer than the hold, so under the old \
             settings callers wait the whole hold (in the incident: the whole timeout)"
        )
    } else {
        format!("the longest old timeout is {longest}")
    };
    format!(
        "{service} holds every request {} (in the incident it stayed slow for minutes); \
         {front} receives {RATE_PER_S} requests a second for {}; {old}",
        seconds(hold_ms),
        seconds(LOAD_MS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ConnectionPool, OutlierDetection, RetryPolicy};

    #[test]
    fn a_hops_policy_reads_in_plain_words() {
        let mut t = TrafficPolicy {
            timeout_ms: 10_000,
            retries: RetryPolicy {
                attempts: 1,
                per_try_timeout_ms: 5_000,
                retry_on: vec!["connect-failure".into()],
                retriable_status_codes: vec![],
            },
            outlier_detection: Some(OutlierDetection {
                consecutive_5xx: 5,
                interval_ms: 1_000,
                base_ejection_time_ms: 30_000,
                max_ejection_percent: 100,
            }),
            connection_pool: Some(ConnectionPool {
                max_connections: 100,
                max_pending_requests: 100,
                max_requests: 1000,
                max_requests_per_connection: 0,
                max_retries: u32::MAX,
                retry_budget: None,
            }),
        };
        assert_eq!(
            describe(&t),
            "timeout 10 s (5 s per try), 1 retry, pool 100 connections / 100 pending / 1000 \
             requests, ejected after 5 consecutive 5xx"
        );
        t.timeout_ms = 2_500;
        t.retries.attempts = 3;
        t.retries.per_try_timeout_ms = 0;
        t.connection_pool = None;
        t.outlier_detection = None;
        assert_eq!(
            describe(&t),
            "timeout 2.5 s, 3 retries, no pool limits, no ejection"
        );
        t.timeout_ms = 0;
        t.retries.attempts = 0;
        assert!(describe(&t).starts_with("no timeout, no retries"));
        assert_eq!(seconds(250), "0.25 s");
    }
}
