//! One run of the incident replay: a fleet for the chain, the slow service holding every
//! request, a steady load into the front caller, and the figures each hop's caller sidecar saw.
//!
//! In: the chain's `LabSpec` (front caller first, slowed service last) and the hold. Out: an
//! `IncidentRun` with how long each request kept its caller waiting and how many requests
//! piled up at each hop (Envoy's `upstream_rq_active` + `upstream_rq_pending_active`, sampled
//! while the load runs).

use super::{describe, HopFigures, IncidentRun, FAST_MS, LOAD_MS, RATE_PER_S};
use crate::client::{self, AppRequest, Reply};
use crate::envoy::Stats;
use crate::fleet::{fqdn, Fleet};
use crate::scenario::regex_escape;
use crate::spec::{LabSpec, Protocol, ServiceSpec};
use crate::{app::Behaviour, LabError};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// What the load saw: every request's outcome, and the peak in flight at the front.
struct Load {
    outcomes: Vec<Result<Reply, String>>,
    peak_in_flight: u32,
    peaks: Vec<u64>,
}

pub(super) async fn one_run(
    label: &str,
    spec: &LabSpec,
    envoy: &Path,
    hold_ms: u64,
) -> Result<IncidentRun, LabError> {
    let fleet = Fleet::start(spec, envoy, None).await?;
    let chain = &spec.services;
    let (Some(front), Some(next), Some(slow)) = (chain.first(), chain.get(1), chain.last()) else {
        return Err(LabError::Incident(
            "the replay needs a caller and a callee".into(),
        ));
    };
    let port = fleet
        .sidecar(&front.name, 0)
        .and_then(|s| s.outbound_addr(next.port))
        .ok_or_else(|| LabError::Incident("the front caller has no outbound listener".into()))?;
    let req = front_request(next, slow);
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
    let hops = hops_of(&fleet, chain);
    let before = snapshot(&fleet, &hops).await;
    let load = send_load(&fleet, &hops, port, &req).await;
    let after = snapshot(&fleet, &hops).await;
    let figures = hop_figures(&hops, &before, &after, &load.peaks);
    Ok(tally(label, chain, next, load, figures))
}

/// The request the front caller's app sends: to the next service, which calls the slow one.
fn front_request(next: &ServiceSpec, slow: &ServiceSpec) -> AppRequest {
    let mut headers = Vec::new();
    if next.name != slow.name {
        headers.push(("x-lab-call", fqdn(slow)));
        if slow.protocol == Protocol::Grpc {
            headers.push(("x-lab-call-grpc", "1".to_string()));
        }
    }
    AppRequest {
        host: fqdn(next),
        grpc: next.protocol == Protocol::Grpc,
        headers,
    }
}

fn hops_of(fleet: &Fleet, chain: &[ServiceSpec]) -> Vec<Hop> {
    chain
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
        .collect()
}

/// `RATE_PER_S` requests a second for `LOAD_MS`, sampling the hops' queues until all answered.
async fn send_load(
    fleet: &Fleet,
    hops: &[Hop],
    port: std::net::SocketAddrV4,
    req: &AppRequest,
) -> Load {
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
            sample(fleet, hops, &mut peaks).await;
        }
    }
    let mut outcomes = Vec::new();
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(j) => outcomes.push(j.map_err(|e| e.to_string()).and_then(|r| r)),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => sample(fleet, hops, &mut peaks).await,
        }
    }
    Load {
        outcomes,
        peak_in_flight: peak_in_flight.load(Ordering::SeqCst),
        peaks,
    }
}

fn hop_figures(hops: &[Hop], before: &[Stats], after: &[Stats], peaks: &[u64]) -> Vec<HopFigures> {
    hops.iter()
        .zip(before.iter().zip(after))
        .zip(peaks)
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
        .collect()
}

fn tally(
    label: &str,
    chain: &[ServiceSpec],
    next: &ServiceSpec,
    load: Load,
    hops: Vec<HopFigures>,
) -> IncidentRun {
    let mut waits: Vec<u64> = Vec::new();
    let (mut succeeded, mut failed_fast, mut failed_slow) = (0, 0, 0);
    for outcome in &load.outcomes {
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
    let timeout = next.traffic.timeout_ms;
    IncidentRun {
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
        wait_bound_ms: (timeout > 0).then_some(timeout),
        requests: load.outcomes.len() as u32,
        succeeded,
        failed_fast,
        failed_slow,
        blocked_p50_ms: waits.get(waits.len() / 2).copied().unwrap_or(0),
        blocked_max_ms: waits.last().copied().unwrap_or(0),
        blocked_total_ms: waits.iter().sum(),
        peak_in_flight: load.peak_in_flight,
        hops,
    }
}
