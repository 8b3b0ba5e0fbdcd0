//! Retries multiply along call chains: if every hop retries twice, one request at the edge
//! becomes 3 x 3 x 3 = 27 at the fourth service. This caps each service's retry attempts so
//! that no chain multiplies a request by more than [`RETRY_AMPLIFICATION_LIMIT`], keeping
//! retries nearest the leaves, where a retry repeats the least work.
//!
//! In: the graph and each service's attempts from the policy. Out: per service, the attempts
//! allowed and, where lowered, why. Works bottom-up (callees before callers) without
//! recursion; services on a call cycle get no retries, since their chains have no bound.
//! An attempts value a policy override sets for one service is kept as written.

use crate::model::{QualifiedName, RETRY_AMPLIFICATION_LIMIT};
use std::collections::HashMap;

/// What the budget allows one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub attempts: u32,
    /// Why it is lower than the policy's value; `None` when unchanged.
    pub lowered: Option<String>,
}

/// `wanted`: attempts per service from the policy, and whether an override pinned it.
/// `callees`: the graph's edges out of each service.
pub fn allowances(
    wanted: &HashMap<&QualifiedName, (u32, bool)>,
    callees: &HashMap<&QualifiedName, Vec<&QualifiedName>>,
) -> HashMap<QualifiedName, Allowance> {
    let limit = u64::from(RETRY_AMPLIFICATION_LIMIT);
    // Kahn's algorithm over "all callees done": leaves first.
    let mut pending: HashMap<&QualifiedName, usize> = HashMap::new();
    let mut callers: HashMap<&QualifiedName, Vec<&QualifiedName>> = HashMap::new();
    for (&s, _) in wanted.iter() {
        let out = callees.get(s).map_or(&[][..], Vec::as_slice);
        pending.insert(s, out.iter().filter(|c| wanted.contains_key(*c)).count());
        for &c in out {
            callers.entry(c).or_default().push(s);
        }
    }
    let mut ready: Vec<&QualifiedName> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(s, _)| *s)
        .collect();
    ready.sort();
    // Most requests one request to the service becomes, from it down to any leaf.
    let mut fan: HashMap<&QualifiedName, u64> = HashMap::new();
    let mut out: HashMap<QualifiedName, Allowance> = HashMap::new();
    while let Some(s) = ready.pop() {
        let below = callees
            .get(s)
            .into_iter()
            .flatten()
            .filter_map(|c| fan.get(c).copied())
            .max()
            .unwrap_or(1);
        let (attempts, pinned) = wanted.get(s).copied().unwrap_or((0, false));
        let most = (limit / below).max(1).saturating_sub(1);
        let allowed = if pinned {
            attempts
        } else {
            attempts.min(u32::try_from(most).unwrap_or(u32::MAX))
        };
        let lowered = (allowed < attempts).then(|| {
            format!(
                "lowered from {attempts}: a request to it already becomes up to {below} requests further down, \
                 and no chain may multiply one request by more than {RETRY_AMPLIFICATION_LIMIT}"
            )
        });
        fan.insert(s, below * (u64::from(allowed) + 1));
        out.insert(
            s.clone(),
            Allowance {
                attempts: allowed,
                lowered,
            },
        );
        for &caller in callers.get(s).into_iter().flatten() {
            if let Some(n) = pending.get_mut(caller) {
                *n -= 1;
                if *n == 0 {
                    ready.push(caller);
                }
            }
        }
    }
    for (&s, &(attempts, pinned)) in wanted {
        if !out.contains_key(s) {
            let allowed = if pinned { attempts } else { 0 };
            let lowered = (allowed < attempts).then(|| {
                "lowered to 0: it is on a call cycle, so retries there have no bound".to_string()
            });
            out.insert(
                s.clone(),
                Allowance {
                    attempts: allowed,
                    lowered,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: &str) -> QualifiedName {
        QualifiedName::new("ns", n)
    }

    fn run(
        services: &[(&QualifiedName, u32, bool)],
        edges: &[(&QualifiedName, &QualifiedName)],
    ) -> HashMap<QualifiedName, Allowance> {
        let wanted = services.iter().map(|(s, a, p)| (*s, (*a, *p))).collect();
        let mut callees: HashMap<&QualifiedName, Vec<&QualifiedName>> = HashMap::new();
        for (a, b) in edges {
            callees.entry(*a).or_default().push(*b);
        }
        allowances(&wanted, &callees)
    }

    #[test]
    fn retries_stay_near_the_leaves_and_no_chain_exceeds_the_limit() {
        let (a, b, c, d) = (q("a"), q("b"), q("c"), q("d"));
        let got = run(
            &[
                (&a, 2, false),
                (&b, 2, false),
                (&c, 2, false),
                (&d, 2, false),
            ],
            &[(&a, &b), (&b, &c), (&c, &d)],
        );
        assert_eq!(got[&d].attempts, 2);
        assert_eq!(got[&c].attempts, 2);
        assert_eq!(got[&b].attempts, 0);
        assert_eq!(got[&a].attempts, 0);
        let product: u32 = [&a, &b, &c, &d]
            .iter()
            .map(|s| got[*s].attempts + 1)
            .product();
        assert!(product <= RETRY_AMPLIFICATION_LIMIT, "{product}");
        assert!(got[&b].lowered.as_deref().is_some_and(|w| w.contains("9")));
        assert!(got[&d].lowered.is_none());
    }

    #[test]
    fn a_pinned_value_is_kept_and_a_cycle_gets_no_retries() {
        let (a, b, c) = (q("a"), q("b"), q("c"));
        let got = run(
            &[(&a, 2, true), (&b, 2, false), (&c, 1, false)],
            &[(&a, &b), (&b, &c), (&c, &b)],
        );
        assert_eq!(got[&a].attempts, 2);
        assert_eq!(got[&b].attempts, 0);
        assert_eq!(got[&c].attempts, 0);
        assert!(got[&c]
            .lowered
            .as_deref()
            .is_some_and(|w| w.contains("cycle")));
    }
}
