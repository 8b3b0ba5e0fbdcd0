//! The policy file's confirmed callers (`services: {reviews: {callers: [productpage], reason:
//! ...}}`) -> candidates with high confidence, and the services whose callers are thereby
//! known. A name that matches no node is a note, never a node.

use super::{Callee, Candidate, Cx};
use crate::model::*;

#[derive(Default)]
pub(crate) struct DeclaredFacts {
    pub candidates: Vec<Candidate>,
    /// Nodes whose callers the policy file confirms, with where and why.
    pub confirmed: Vec<(usize, String)>,
    pub notes: Vec<Note>,
}

pub(crate) fn read(cx: &Cx) -> DeclaredFacts {
    let mut out = DeclaredFacts::default();
    for declared in cx.extra.declared {
        let targets = nodes_matching(cx, &declared.service);
        if targets.is_empty() {
            out.notes.push(note(
                declared,
                format!(
                    "policy file: `services.{}.callers` names no service of the input",
                    declared.service
                ),
            ));
        }
        for &node in &targets {
            let namespace = &cx.nodes.drafts[node].id.namespace;
            out.confirmed.push((
                node,
                format!(
                    "callers confirmed in the policy file ({}): {}",
                    declared.origin, declared.reason
                ),
            ));
            for caller in &declared.callers {
                read_caller(cx, declared, caller, namespace, node, &mut out);
            }
        }
    }
    out
}

fn read_caller(
    cx: &Cx,
    declared: &DeclaredCallers,
    caller: &str,
    namespace: &str,
    callee: usize,
    out: &mut DeclaredFacts,
) {
    let Some(from) = caller_node(cx, caller, namespace) else {
        out.notes.push(note(
            declared,
            format!(
                "policy file: caller `{caller}` of `{}` matches no workload of the input",
                declared.service
            ),
        ));
        return;
    };
    for &wi in &cx.nodes.drafts[from].workloads {
        out.candidates.push(Candidate {
            caller: wi,
            callee: Callee::Node {
                node: callee,
                port: None,
            },
            evidence: Evidence {
                origin: declared.origin.clone(),
                kind: HintKind::PolicyFile,
                detail: format!("policy file: {caller} calls {}", declared.service),
            },
            confidence: Confidence::High,
            observed: None,
        });
    }
}

/// Nodes a policy key names: `name` in any namespace, `name.namespace` in one.
fn nodes_matching(cx: &Cx, key: &str) -> Vec<usize> {
    let (name, namespace) = match key.split_once('.') {
        Some((n, ns)) => (n, Some(ns)),
        None => (key, None),
    };
    (0..cx.nodes.drafts.len())
        .filter(|&i| {
            let id = &cx.nodes.drafts[i].id;
            id.name == name && namespace.is_none_or(|ns| ns == id.namespace)
        })
        .collect()
}

/// A caller named `name.namespace`, or `name` in the callee's namespace, else anywhere if
/// only one node has that name.
fn caller_node(cx: &Cx, caller: &str, namespace: &str) -> Option<usize> {
    let key = if caller.contains('.') {
        caller.to_string()
    } else {
        format!("{caller}.{namespace}")
    };
    let mut found = nodes_matching(cx, &key);
    if found.is_empty() && !caller.contains('.') {
        found = nodes_matching(cx, caller);
    }
    (found.len() == 1).then(|| found[0])
}

fn note(declared: &DeclaredCallers, message: String) -> Note {
    Note {
        origin: declared.origin.clone(),
        message,
        level: NoteLevel::Warning,
    }
}
