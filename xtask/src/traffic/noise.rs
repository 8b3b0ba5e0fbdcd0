//! The noise a real cluster adds to the ground truth's calls, so that readers and inference
//! are tested against what they meet: callers from outside the mesh into the front ends,
//! kubelet probes and Prometheus scrapes (plain text, no identity) into app pods, a pod
//! renamed by a second ReplicaSet, and a decoy edge with no traffic in the window. Some
//! calls already carry 5xx responses (see `scene`).

use super::rng::Rng;
use super::scene::{dialed, front_ends, pod_name, Outside, Scene};
use meshsmith_core::model::{Inventory, WorkloadKind};
use serde_json::Value;

pub fn add(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    rng: &mut Rng,
) {
    outside_callers(scene, inv, services, rng);
    probes_and_scrapes(scene, inv, rng);
    renamed_pod(scene, rng);
    decoy(scene, services, rng);
    let errors = scene.calls.iter().filter(|c| c.errors > 0).count();
    scene
        .notes
        .push(format!("noise: {errors} calls with some 5xx responses"));
}

fn outside_callers(
    scene: &mut Scene,
    inv: &Inventory,
    services: &serde_json::Map<String, Value>,
    rng: &mut Rng,
) {
    for name in front_ends(inv, services) {
        let Some(s) = dialed(scene, inv, services, &name) else {
            continue;
        };
        let port = services[&name]["port"].as_u64().unwrap_or(80) as u16;
        let target_port = services[&name]["target_port"]
            .as_u64()
            .map_or(port, |p| p as u16);
        for &w in &scene.services[s].backends.clone() {
            scene.outside.push(Outside {
                workload: w,
                service: Some(s),
                port,
                target_port,
                path: "/",
                user_agent:
                    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                remote_ip: format!("203.0.113.{}", 1 + rng.below(250)),
                requests: 50 + rng.below(200) as u64,
            });
        }
        scene.notes.push(format!(
            "noise: callers from outside the mesh into `{name}`"
        ));
    }
}

fn probes_and_scrapes(scene: &mut Scene, inv: &Inventory, rng: &mut Rng) {
    let http_targets: Vec<(usize, u16)> = scene
        .calls
        .iter()
        .filter(|c| c.protocol != super::scene::Proto::Tcp)
        .flat_map(|c| {
            scene.services[c.service]
                .backends
                .iter()
                .map(move |&w| (w, c.target_port))
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for (w, port) in http_targets {
        if !seen.insert(w) {
            continue;
        }
        let wl = &scene.workloads[w];
        let scrape_port = inv
            .workloads
            .iter()
            .find(|x| x.name == wl.name && x.namespace == wl.namespace)
            .and_then(|x| x.pod_annotations.get("prometheus.io/port"))
            .and_then(|p| p.parse().ok())
            .unwrap_or(port);
        scene.outside.push(Outside {
            workload: w,
            service: None,
            port,
            target_port: port,
            path: "/healthz",
            user_agent: "kube-probe/1.29",
            remote_ip: "10.244.0.1".into(),
            requests: 8 + rng.below(4) as u64,
        });
        scene.outside.push(Outside {
            workload: w,
            service: None,
            port: scrape_port,
            target_port: scrape_port,
            path: "/metrics",
            user_agent: "Prometheus/2.51.2",
            remote_ip: "10.244.9.9".into(),
            requests: 4,
        });
    }
    scene.notes.push(format!(
        "noise: kubelet probes and Prometheus scrapes into {} workloads",
        seen.len()
    ));
}

/// One calling Deployment gets a second pod from a newer ReplicaSet.
fn renamed_pod(scene: &mut Scene, rng: &mut Rng) {
    let Some(w) = scene.calls.iter().map(|c| c.caller).find(|&w| {
        let pod = &scene.workloads[w].pods[0].name;
        pod.len() > scene.workloads[w].name.len() + 12
    }) else {
        return;
    };
    let wl = &mut scene.workloads[w];
    let name = pod_name(WorkloadKind::Deployment, &wl.name, 0, rng);
    let ip = format!("10.244.8.{}", 10 + rng.below(200));
    scene.notes.push(format!(
        "noise: `{}` runs as `{}` and, after a rollout, as `{name}`",
        wl.name, wl.pods[0].name
    ));
    wl.pods.push(super::scene::Pod { name, ip });
}

/// A caller and a Service the ground truth does not connect: a series of zero in Prometheus,
/// an idle edge in Kiali, nothing in logs.
fn decoy(scene: &mut Scene, services: &serde_json::Map<String, Value>, rng: &mut Rng) {
    let calls: std::collections::BTreeSet<(usize, usize)> =
        scene.calls.iter().map(|c| (c.caller, c.service)).collect();
    let callers: Vec<usize> = scene.calls.iter().map(|c| c.caller).collect();
    let mut candidates = Vec::new();
    for &caller in &callers {
        for (s, svc) in scene.services.iter().enumerate() {
            let own = svc.backends.contains(&caller);
            if !own && !calls.contains(&(caller, s)) && services.contains_key(&svc.name) {
                candidates.push((caller, s));
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    if candidates.is_empty() {
        return;
    }
    let (caller, s) = candidates[rng.below(candidates.len())];
    let port = services[&scene.services[s].name]["port"]
        .as_u64()
        .unwrap_or(80) as u16;
    scene.notes.push(format!(
        "noise: decoy `{}` -> `{}`: zero in the window (a zero series in Prometheus, an idle edge in Kiali, nothing in logs)",
        scene.workloads[caller].name, scene.services[s].name
    ));
    scene.decoy = Some((caller, s, port));
}
