//! Which run of the incident replay held the front caller's callers less, and by how much.
//!
//! In: both `IncidentRun`s and the hold. Out: a `Verdict`. The measure is the time the front
//! caller's callers spent blocked, in request-seconds: every blocked request holds a caller's
//! thread, connection or user, and it is that capacity running out that carries a slowdown up
//! the chain. The total decides (within a tenth either way neither run is better); the median
//! wait says what one request felt. Success counts do not decide: the replayed slowdown ends
//! after the hold, so settings whose timeouts outlast the hold end in answers that the real
//! incident, slow for minutes, never gave. The verdict says so when that is what happened.

use super::IncidentRun;
use serde::{Deserialize, Serialize};

/// The run that kept the front caller's callers blocked for less time in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Better {
    GeneratedPolicy,
    OldSettings,
    /// The totals are within a tenth of each other.
    Neither,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub better: Better,
    /// Total blocked time under the old settings divided by that under the generated policy
    /// (2.5: the generated policy blocked callers 2.5 times less); none when the generated
    /// run blocked nobody at all.
    pub caller_time_ratio: Option<f64>,
    /// The old settings answered more requests only because the replayed slowdown ended
    /// before their timeouts fired; in a slowdown that lasts those requests fail too.
    pub old_successes_from_scaling: bool,
}

impl Verdict {
    pub fn of(old: &IncidentRun, generated: &IncidentRun, hold_ms: u64) -> Self {
        let (o, g) = (old.blocked_total_ms, generated.blocked_total_ms);
        let better = if g.saturating_mul(10) < o.saturating_mul(9) {
            Better::GeneratedPolicy
        } else if o.saturating_mul(10) < g.saturating_mul(9) {
            Better::OldSettings
        } else {
            Better::Neither
        };
        let outlasts_hold = old.wait_bound_ms.is_none_or(|bound| bound > hold_ms);
        Verdict {
            better,
            caller_time_ratio: (g > 0).then(|| o as f64 / g as f64),
            old_successes_from_scaling: old.succeeded > generated.succeeded && outlasts_hold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        label: &str,
        succeeded: u32,
        p50_ms: u64,
        total_ms: u64,
        bound: Option<u64>,
    ) -> IncidentRun {
        IncidentRun {
            label: label.into(),
            settings: vec![],
            wait_bound_ms: bound,
            requests: 80,
            succeeded,
            failed_fast: 0,
            failed_slow: 80 - succeeded,
            blocked_p50_ms: p50_ms,
            blocked_max_ms: p50_ms,
            blocked_total_ms: total_ms,
            peak_in_flight: 80,
            hops: vec![],
        }
    }

    #[test]
    fn less_caller_time_wins_and_successes_that_only_the_short_hold_allowed_are_named() {
        // The shopfront replay: old timeouts (90 s) outlast the 12.5 s hold, so every old
        // request waited it out and was answered; the generated 5 s timeout cut them all.
        let old = run("old settings", 80, 12_508, 1_000_665, Some(90_000));
        let new = run("generated policy", 0, 5_001, 400_110, Some(5_000));
        let v = Verdict::of(&old, &new, 12_500);
        assert_eq!(v.better, Better::GeneratedPolicy);
        assert!(
            v.caller_time_ratio
                .is_some_and(|r| (r - 2.501).abs() < 0.01),
            "{v:?}"
        );
        assert!(v.old_successes_from_scaling);
        // An old timeout shorter than the hold cuts there too: its answers are real.
        let old = run("old settings", 80, 3_000, 240_000, Some(3_000));
        assert!(!Verdict::of(&old, &new, 12_500).old_successes_from_scaling);
        // No old timeout at all: callers wait as long as the slowdown lasts.
        let old = run("old settings", 80, 12_508, 1_000_665, None);
        assert!(Verdict::of(&old, &new, 12_500).old_successes_from_scaling);
    }

    #[test]
    fn the_old_settings_can_win_and_close_totals_are_a_draw() {
        let old = run("old settings", 0, 1_000, 80_000, Some(1_000));
        let new = run("generated policy", 0, 5_000, 400_000, Some(5_000));
        let v = Verdict::of(&old, &new, 12_500);
        assert_eq!(v.better, Better::OldSettings);
        assert!(v.caller_time_ratio.is_some_and(|r| (r - 0.2).abs() < 1e-9));
        let close = run("generated policy", 0, 1_050, 84_000, Some(1_000));
        assert_eq!(Verdict::of(&old, &close, 12_500).better, Better::Neither);
        let nobody = run("generated policy", 0, 0, 0, Some(1_000));
        let v = Verdict::of(&old, &nobody, 12_500);
        assert_eq!(
            (v.better, v.caller_time_ratio),
            (Better::GeneratedPolicy, None)
        );
    }
}
