//! Route timeouts derived along the call graph. A caller that gives up on a service before
//! that service gives up on its own callees leaves the work running for nobody: a deadline
//! inversion (check MS203). So each service's route timeout covers the whole budget of
//! every callee it waits on; the role's (or the policy's) value is the starting point.
//!
//! In: the services that get a route, each with its starting timeout and whether a
//! per-service policy override pins it, and the graph's edges. Out: per service, its
//! timeout and, where raised, what raised it; notes where an inversion cannot be removed.
//!
//! A callee's budget is what check's MS203 computes: its route timeout, which in Envoy
//! covers every try and back-off; for a callee without a generated route (a TCP datastore,
//! an ExternalName, a skipped namespace), the caller's own client timeout found in its
//! manifests times its tries (see [`hard_coded_budget`]). Services are visited callee first
//! (strongly connected components, found without recursion); the members of a call cycle
//! all get the longest value among them, since on a cycle each waits for the others.
//! A timeout a per-service override sets is kept as written, and raising never reaches
//! [`TOO_LONG_TIMEOUT_SECONDS`] (that would be MS207 instead): in both cases the inversion
//! stays, and a note says why.

use crate::model::{Edge, MeshService, QualifiedName, Topology, TOO_LONG_TIMEOUT_SECONDS};
use crate::policy::Millis;
use std::collections::{HashMap, HashSet};

/// Where a service's timeout starts from.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub timeout: Millis,
    /// A per-service policy override sets it: it is never changed.
    pub pinned: bool,
}

/// What a service waits for on one of its calls, and why that long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub callee: QualifiedName,
    pub wait: Millis,
    pub how: String,
}

/// A service's derived timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub timeout: Millis,
    /// Set when the timeout was raised above its start: the budget it covers.
    pub raised: Option<Raise>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub from: Millis,
    pub covers: Budget,
    /// Some other members of the call cycle it is on, when the cycle set the value (at most
    /// [`CYCLE_NAMED`]: a cycle can span thousands of services), and how many there are.
    pub cycle: Vec<QualifiedName>,
    pub cycle_len: usize,
}

/// How many members of a call cycle a reason names.
pub const CYCLE_NAMED: usize = 5;

impl Raise {
    /// Why the timeout is what it is; `start_why` says where the starting value came from.
    pub fn reason(&self, to: Millis, start_why: &str) -> String {
        let cycle = if self.cycle.is_empty() {
            String::new()
        } else {
            let mut names: Vec<String> = self.cycle.iter().map(ToString::to_string).collect();
            if self.cycle_len > names.len() {
                names.push(format!("{} more", self.cycle_len - names.len()));
            }
            format!(
                "; it is on a call cycle with {}, whose members all wait as long as the longest of them",
                names.join(", ")
            )
        };
        format!(
            "raised from {} ({start_why}) to {to}: {} may take up to {} ({}), and a caller that gave up sooner \
             would leave that work running (deadline inversion){cycle}",
            self.from, self.covers.callee, self.covers.wait, self.covers.how
        )
    }
}

#[derive(Debug, Default)]
pub struct Derived {
    pub deadlines: HashMap<QualifiedName, Deadline>,
    pub notes: Vec<String>,
}

/// The longest value raising may reach: one under the too-long threshold.
fn ceiling() -> Millis {
    Millis((TOO_LONG_TIMEOUT_SECONDS * 1000.0) as u64 - 1)
}

/// Derives every routed service's timeout. `callees`: the graph's edges out of each service.
pub fn derive(
    starts: &HashMap<&QualifiedName, Start>,
    callees: &HashMap<&QualifiedName, Vec<&Edge>>,
    topology: &Topology,
) -> Derived {
    let mut nodes: Vec<&QualifiedName> = starts.keys().copied().collect();
    nodes.sort();
    let position: HashMap<&QualifiedName, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let out_of = |n: &QualifiedName| callees.get(n).map_or(&[][..], Vec::as_slice);
    let adjacency: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            out_of(n)
                .iter()
                .filter_map(|e| position.get(&e.to).copied())
                .collect()
        })
        .collect();
    let mut out = Derived::default();
    for component in components(&adjacency) {
        let members: Vec<&QualifiedName> = component.iter().map(|&i| nodes[i]).collect();
        let inside: HashSet<&QualifiedName> = members.iter().copied().collect();
        // Each member's budgets on calls leaving the component (those are already derived).
        let needs: Vec<Vec<Budget>> = members
            .iter()
            .map(|m| {
                out_of(m)
                    .iter()
                    .filter(|e| !inside.contains(&e.to) && e.to != **m)
                    .filter_map(|e| budget(e, &out.deadlines, topology))
                    .collect()
            })
            .collect();
        settle(&members, &needs, starts, &mut out);
    }
    out.notes.sort();
    out
}

/// Sets the deadlines of one component's members from their starts and needs.
fn settle(
    members: &[&QualifiedName],
    needs: &[Vec<Budget>],
    starts: &HashMap<&QualifiedName, Start>,
    out: &mut Derived,
) {
    let cap = ceiling();
    let start = |m: &QualifiedName| starts.get(m).map_or(Millis(0), |s| s.timeout);
    // On a cycle, every member waits as long as the longest of them (start or need).
    let cycle_level: Option<Budget> = (members.len() > 1)
        .then(|| {
            let starts_as_budgets = members.iter().map(|m| Budget {
                callee: (*m).clone(),
                wait: start(m),
                how: "its own timeout".to_string(),
            });
            needs
                .iter()
                .flatten()
                .cloned()
                .chain(starts_as_budgets)
                .filter(|b| b.wait <= cap)
                .max_by(longer)
        })
        .flatten();
    for (m, need) in members.iter().zip(needs) {
        let Some(s) = starts.get(*m) else {
            continue;
        };
        // What it should wait for, and the most of it raising may give.
        let candidates = || cycle_level.iter().chain(need);
        let (should, want) = (
            candidates().max_by(|a, b| longer(a, b)).cloned(),
            candidates()
                .filter(|b| b.wait <= cap)
                .max_by(|a, b| longer(a, b))
                .cloned(),
        );
        let others = members.iter().filter(|o| **o != *m);
        let (cycle, cycle_len): (Vec<QualifiedName>, usize) = if cycle_level.is_some() {
            let named = others
                .clone()
                .take(CYCLE_NAMED)
                .map(|o| (*o).clone())
                .collect();
            (named, members.len() - 1)
        } else {
            (Vec::new(), 0)
        };
        let raised = want
            .filter(|w| !s.pinned && w.wait > s.timeout)
            .map(|covers| Raise {
                from: s.timeout,
                covers,
                cycle,
                cycle_len,
            });
        let timeout = raised.as_ref().map_or(s.timeout, |r| r.covers.wait);
        if let Some(should) = should.filter(|b| b.wait > timeout) {
            out.notes.push(blocked(m, s, timeout, &should));
        }
        out.deadlines
            .insert((*m).clone(), Deadline { timeout, raised });
    }
}

/// Orders budgets by wait, the first-named callee winning a tie, so the result is stable.
fn longer(a: &Budget, b: &Budget) -> std::cmp::Ordering {
    a.wait.cmp(&b.wait).then_with(|| b.callee.cmp(&a.callee))
}

/// Why an inversion stays.
fn blocked(id: &QualifiedName, start: &Start, timeout: Millis, need: &Budget) -> String {
    let why = if start.pinned {
        format!(
            "the policy file sets its timeout to {timeout}, and an explicit value is never overridden"
        )
    } else {
        format!(
            "raising it would reach {TOO_LONG_TIMEOUT_SECONDS} s or more, itself too long for a caller to wait (MS207)"
        )
    };
    format!(
        "{id}: route timeout {timeout} is shorter than the {} {} may take ({}): {why}; the deadline inversion stays (MS203) \
         until {} is given a shorter budget or {id} a longer timeout",
        need.wait, need.callee, need.how, need.callee
    )
}

/// What the caller of `edge` waits for it: the callee's derived route timeout, else the
/// caller's own hard-coded client budget; `None` when neither is known.
fn budget(
    edge: &Edge,
    derived: &HashMap<QualifiedName, Deadline>,
    topology: &Topology,
) -> Option<Budget> {
    if let Some(d) = derived.get(&edge.to) {
        return Some(Budget {
            callee: edge.to.clone(),
            wait: d.timeout,
            how: "its route timeout, which covers all its tries".to_string(),
        });
    }
    let caller = topology.service(&edge.from)?;
    let callee = topology.service(&edge.to)?;
    hard_coded_budget(caller, callee)
}

/// A caller's own budget for a callee without a route, as check's MS203 reads it: the
/// timeout setting whose key names the callee (else the longest), times one plus the retry
/// setting chosen the same way, since an application's own retry loop waits its whole
/// timeout on every try.
pub fn hard_coded_budget(caller: &MeshService, callee: &MeshService) -> Option<Budget> {
    let token = callee.id.name.to_ascii_uppercase().replace('-', "_");
    let short = token.split('_').next().unwrap_or(&token).to_string();
    let pick = |timeouts: bool| {
        let candidates = caller.settings.iter().filter(|s| s.is_timeout == timeouts);
        let named = candidates
            .clone()
            .filter(|s| {
                let key = s.key.to_ascii_uppercase();
                key.contains(&token) || key.contains(&short)
            })
            .max_by(|a, b| a.value.total_cmp(&b.value));
        named.or_else(|| candidates.max_by(|a, b| a.value.total_cmp(&b.value)))
    };
    let timeout = pick(true).filter(|t| t.value > 0.0)?;
    let retries = pick(false).map_or(0.0, |r| r.value.max(0.0).min(f64::from(u32::MAX)).floor());
    let tries = 1.0 + retries;
    let wait = (timeout.value * tries * 1000.0).ceil();
    Some(Budget {
        callee: callee.id.clone(),
        wait: Millis(if wait.is_finite() {
            wait as u64
        } else {
            u64::MAX
        }),
        how: format!(
            "{}'s own client timeout {}={} x {tries} tries, from its manifests",
            caller.id, timeout.key, timeout.raw
        ),
    })
}

/// Strongly connected components of the graph, callees' components before their callers'
/// (Tarjan's algorithm, with an explicit stack instead of recursion).
fn components(adjacency: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = adjacency.len();
    let (mut index, mut low) = (vec![UNSEEN; n], vec![0usize; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut out) = (Vec::new(), Vec::new());
    let mut next = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, how many of its successors were looked at)
        let mut walk: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = walk.last_mut() {
            let (v, seen) = *top;
            if let Some(&w) = adjacency[v].get(seen) {
                top.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    walk.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            walk.pop();
            if let Some(&(u, _)) = walk.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                out.push(component);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "deadlines_tests.rs"]
mod tests;
