//! The settings a chain ran with before the mesh, for the incident replay: read from the timeout
//! audit of `map` (the timeouts and retry counts each caller's environment hard-codes).
//!
//! In: the `Topology` and a `LabSpec`. Out: one `OldHop` per edge of the spec. A caller's setting
//! belongs to a callee when its key starts with the callee's first name part (`PAYMENT_TIMEOUT`
//! for `payment-service`); a key that starts with no service's name part (`UPSTREAM_TIMEOUT`)
//! applies to every callee. The app's own retry loop is modelled as Envoy would run it: each try
//! waits the app's timeout, the whole call at most the tries times that (the lab's spec bound,
//! 120 s, caps it and says so), and a try is retried on a server error or a failed connection.
//! A hop with no setting found runs with no timeout and no retries, as the app did.

use crate::spec::{LabSpec, RetryPolicy, TrafficPolicy};
use meshsmith_core::model::{ResilienceSetting, Topology};

/// The longest route timeout a lab spec may carry.
const SPEC_TIMEOUT_BOUND_MS: u64 = 120_000;

/// One hop's settings before the mesh, and where they were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldHop {
    pub from: String,
    pub to: String,
    pub traffic: TrafficPolicy,
    /// `KEY=value (file:line)` per setting used, plus any cap applied.
    pub sources: Vec<String>,
}

/// The old settings of every edge in `spec`.
pub fn old_settings(topology: &Topology, spec: &LabSpec) -> Vec<OldHop> {
    let stems: Vec<String> = topology.services.iter().map(|s| stem(&s.id.name)).collect();
    spec.edges
        .iter()
        .map(|edge| {
            let caller = spec
                .service(&edge.from)
                .and_then(|c| topology.find(&format!("{}.{}", c.name, c.namespace)));
            let callee_stem = stem(&edge.to);
            let mine: Vec<&ResilienceSetting> = caller
                .map(|c| c.settings.iter().collect())
                .unwrap_or_default();
            let key_stem = |s: &&ResilienceSetting| stem(&s.key.replace('_', "-"));
            let named: Vec<&ResilienceSetting> = mine
                .iter()
                .copied()
                .filter(|s| key_stem(s) == callee_stem)
                .collect();
            let chosen = if named.is_empty() {
                mine.iter()
                    .copied()
                    .filter(|s| !stems.contains(&key_stem(s)))
                    .collect()
            } else {
                named
            };
            hop(&edge.from, &edge.to, &chosen)
        })
        .collect()
}

fn hop(from: &str, to: &str, settings: &[&ResilienceSetting]) -> OldHop {
    let mut sources: Vec<String> = settings
        .iter()
        .map(|s| format!("{}={} ({})", s.key, s.raw, s.origin))
        .collect();
    let per_try_ms = settings
        .iter()
        .filter(|s| s.is_timeout && s.value > 0.0)
        .map(|s| (s.value * 1000.0).round() as u64)
        .max()
        .unwrap_or(0);
    let attempts = settings
        .iter()
        .filter(|s| !s.is_timeout && s.value >= 0.0)
        .map(|s| s.value.round() as u32)
        .max()
        .unwrap_or(0);
    let whole = per_try_ms.saturating_mul(u64::from(attempts) + 1);
    let timeout_ms = whole.min(SPEC_TIMEOUT_BOUND_MS);
    if whole > timeout_ms {
        sources.push(format!(
            "{} tries of {per_try_ms} ms capped at the lab's {SPEC_TIMEOUT_BOUND_MS} ms",
            attempts + 1
        ));
    }
    let (per_try_timeout_ms, retry_on) = if attempts > 0 {
        (
            per_try_ms,
            vec!["5xx".to_string(), "connect-failure".to_string()],
        )
    } else {
        (0, Vec::new())
    };
    OldHop {
        from: from.to_string(),
        to: to.to_string(),
        traffic: TrafficPolicy {
            timeout_ms,
            retries: RetryPolicy {
                attempts,
                per_try_timeout_ms,
                retry_on,
                retriable_status_codes: vec![],
            },
            outlier_detection: None,
            connection_pool: None,
        },
        sources,
    }
}

/// The first part of a name, lowercase: `payment-service` and `PAYMENT-TIMEOUT` -> `payment`.
fn stem(name: &str) -> String {
    name.split('-').next().unwrap_or(name).to_ascii_lowercase()
}
